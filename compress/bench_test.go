package compress

import (
	"context"
	"testing"
	"time"
)

// BenchmarkObjective measures one gradient and one value evaluation of
// the COBLA objective on a fixture (go test -bench Objective -model NAME).
func BenchmarkObjective(b *testing.B) {
	for _, name := range []string{"fmnist-small", "fmnist-vgg16"} {
		b.Run(name, func(b *testing.B) {
			m := loadFixture(b, name)
			cal := loadCalib(b, "train", 0, 128)
			info := m.Info()
			opts := Options{Budget: Budget{MACs: info.MACs / 2}, Calib: cal, Threads: 2}
			if err := opts.defaults(); err != nil {
				b.Fatal(err)
			}
			wls, err := findLayers(m.Graph())
			if err != nil {
				b.Fatal(err)
			}
			var fs []*factor
			t0 := time.Now()
			for _, l := range wls {
				f, err := decompose(l, SchemeAuto, true)
				if err != nil {
					b.Fatal(err)
				}
				if f != nil {
					fs = append(fs, f)
				}
			}
			b.Logf("decompose %v", time.Since(t0))
			p := newProblem(fs, info.MACs, info.Params, info.MACs/2, 0)
			c, err := newCalibRun(context.Background(), m.Graph(), p, opts, time.Time{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.close()
			x := p.binaryMasks(p.greedy())
			idx := make([]int, 128)
			for i := range idx {
				idx[i] = i
			}
			for b.Loop() {
				t1 := time.Now()
				if _, _, err := c.obj.grad(x, idx); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				if _, err := c.obj.value(x, idx); err != nil {
					b.Fatal(err)
				}
				b.Logf("grad %v value %v (128 images)", t2.Sub(t1), time.Since(t2))
			}
		})
	}
}
