package compress

import (
	"context"
	"testing"
)

func TestDiagSmall(t *testing.T) {
	m := loadFixture(t, "fmnist-small")
	cal := loadCalib(t, "train", 0, 512)
	test := loadCalib(t, "t10k", 0, 2000)
	info := m.Info()
	for _, frac := range []int64{3, 5} {
		budget := Budget{MACs: info.MACs * frac / 10}
		for _, method := range []Method{MethodUniform, MethodGreedy, MethodCOBLA} {
			res, err := Compress(context.Background(), m, Options{Method: method, Budget: budget, Calib: cal, Seed: 1, MaxIter: 15, Threads: 2,
				Progress: func(p Progress) {
					if p.Stage == "solve" {
						t.Logf("  it %d f %.4f eta %v", p.Iter, p.Objective, p.ETA)
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d/10 %s: top1 %.4f heldout obj %.4f top1 %.4f iters %d %.1fs", frac, method, top1(t, res.Graph, test), res.HeldOutObjective, res.HeldOutTop1After, res.Iterations, res.Seconds)
		}
	}
}
