package compress

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeml/edge/compress/internal/fmnist"
	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

const modelDir = "/work/shared/models"

func loadFixture(t testing.TB, name string) *runtime.Model {
	t.Helper()
	path := filepath.Join(modelDir, name+".onnx")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("fixture %s not available: %v", path, err)
	}
	m, err := runtime.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func loadCalib(t testing.TB, split string, off, n int) Calibration {
	t.Helper()
	x, y, err := fmnist.Load(split, off, n)
	if err != nil {
		t.Skipf("Fashion-MNIST not available: %v", err)
	}
	return Calibration{Images: x, Labels: y}
}

// top1 runs a graph with edge's runtime and returns its accuracy.
func top1(t testing.TB, g *ir.Graph, c Calibration) float64 {
	t.Helper()
	m, err := runtime.FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession(runtime.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := c.Images.Shape[0]
	ok := 0
	const b = 100
	in := g.Inputs[0].Name
	out := g.Outputs[0].Name
	for lo := 0; lo < n; lo += b {
		hi := min(lo+b, n)
		x := c.Images.View(c.Images.Shape)
		x.F32 = c.Images.F32[lo*784 : hi*784]
		x.Shape = ir.Shape{hi - lo, 1, 28, 28}
		r, err := s.RunIR(map[string]*ir.Tensor{in: x}, out)
		if err != nil {
			t.Fatal(err)
		}
		lg := r[out].F32
		k := len(lg) / (hi - lo)
		for i := lo; i < hi; i++ {
			row := lg[(i-lo)*k : (i-lo+1)*k]
			best := 0
			for j := range row {
				if row[j] > row[best] {
					best = j
				}
			}
			if best == c.Labels[i] {
				ok++
			}
		}
	}
	return float64(ok) / float64(n)
}

func TestCompressSmallAllMethods(t *testing.T) {
	m := loadFixture(t, "fmnist-small")
	cal := loadCalib(t, "train", 0, 256)
	test := loadCalib(t, "t10k", 0, 1000)
	info := m.Info()
	dense := top1(t, m.Graph(), test)
	t.Logf("dense: %d MACs, %d params, top-1 %.4f", info.MACs, info.Params, dense)
	for _, method := range []Method{MethodUniform, MethodGreedy, MethodCOBLA} {
		t.Run(string(method), func(t *testing.T) {
			budget := Budget{MACs: info.MACs / 2}
			res, err := Compress(context.Background(), m, Options{Method: method, Budget: budget, Calib: cal, Seed: 1, MaxIter: 4, Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			if res.MACsAfter > budget.MACs {
				t.Errorf("MACs %d over the budget %d", res.MACsAfter, budget.MACs)
			}
			cm, err := runtime.FromGraph(res.Graph)
			if err != nil {
				t.Fatal(err)
			}
			if got := cm.Info().MACs; got != res.MACsAfter {
				t.Errorf("runtime counts %d MACs, compress predicted %d", got, res.MACsAfter)
			}
			if got := cm.Info().Params; got != res.ParamsAfter {
				t.Errorf("runtime counts %d params, compress predicted %d", got, res.ParamsAfter)
			}
			acc := top1(t, res.Graph, test)
			t.Logf("%s: MACs %d/%d params %d/%d iters %d top-1 %.4f (held-out %.4f→%.4f) %.1fs ranks %v",
				method, res.MACsAfter, res.MACsBefore, res.ParamsAfter, res.ParamsBefore, res.Iterations, acc, res.HeldOutTop1Before, res.HeldOutTop1After, res.Seconds, res.Ranks)
		})
	}
}

func TestImpossibleBudget(t *testing.T) {
	m := loadFixture(t, "fmnist-small")
	_, err := Compress(context.Background(), m, Options{Method: MethodGreedy, Budget: Budget{MACs: 10}})
	if !errors.Is(err, ErrImpossibleBudget) {
		t.Fatalf("got %v, want ErrImpossibleBudget", err)
	}
	t.Log(err)
}
