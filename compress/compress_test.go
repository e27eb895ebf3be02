package compress

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeml/edge/data"
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
	ds, err := data.Open("fashion-mnist", split)
	if err != nil {
		t.Skipf("Fashion-MNIST not available: %v", err)
	}
	if n <= 0 || off+n > ds.Len() {
		n = ds.Len() - off
	}
	// Every fixture model shares the preprocessing of fmnist-small.
	m := loadFixture(t, "fmnist-small")
	prep, err := data.FromModel(m.Info().Metadata, m.Inputs()[0].Shape)
	if err != nil {
		t.Fatal(err)
	}
	x := ir.NewTensor(ir.Float32, ir.Shape(prep.Shape(n)))
	y := make([]int, n)
	if err := prep.Fill(ds, off, n, x.F32, y, 2); err != nil {
		t.Fatal(err)
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

func checkResult(t *testing.T, res *Result, budget Budget) {
	t.Helper()
	if budget.MACs > 0 && res.MACsAfter > budget.MACs {
		t.Errorf("MACs %d over the budget %d", res.MACsAfter, budget.MACs)
	}
	if budget.Params > 0 && res.ParamsAfter > budget.Params {
		t.Errorf("params %d over the budget %d", res.ParamsAfter, budget.Params)
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
}

// TestCompressSmall is the CI-sized run: fmnist-small, 256 calibration
// images, a few SQP iterations; budgets hold, MACs/params agree with the
// runtime, a seed makes runs identical, and the written file loads.
func TestCompressSmall(t *testing.T) {
	m := loadFixture(t, "fmnist-small")
	cal := loadCalib(t, "train", 0, 256)
	test := loadCalib(t, "t10k", 0, 500)
	info := m.Info()
	dense := top1(t, m.Graph(), test)
	t.Logf("dense: %d MACs, %d params, top-1 %.4f on 500 test images", info.MACs, info.Params, dense)
	cases := []struct {
		name   string
		method Method
		scheme Scheme
		budget Budget
	}{
		{"uniform-macs", MethodUniform, SchemeAuto, Budget{MACs: info.MACs / 2}},
		{"greedy-params", MethodGreedy, SchemeChannel, Budget{Params: info.Params / 3}},
		{"greedy-both", MethodGreedy, SchemeSpatial, Budget{MACs: info.MACs * 6 / 10, Params: info.Params / 2}},
		{"cobla-macs", MethodCOBLA, SchemeAuto, Budget{MACs: info.MACs * 4 / 10}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{Method: c.method, Scheme: c.scheme, Budget: c.budget, Calib: cal, Seed: 7, MaxIter: 2, Roundings: 2, Threads: 2}
			res, err := Compress(context.Background(), m, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, res, c.budget)
			acc := top1(t, res.Graph, test)
			t.Logf("MACs %d/%d params %d/%d iters %d top-1 %.4f held-out %.4f %.1fs",
				res.MACsAfter, res.MACsBefore, res.ParamsAfter, res.ParamsBefore, res.Iterations, acc, res.HeldOutTop1After, res.Seconds)
			if acc < 0.5 {
				t.Errorf("top-1 %.4f: the compressed model is broken", acc)
			}
			if c.method != MethodCOBLA {
				return
			}
			again, err := Compress(context.Background(), m, opts)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(again.Ranks) != fmt.Sprint(res.Ranks) || again.MACsAfter != res.MACsAfter {
				t.Errorf("same seed, different results:\n%v\n%v", res.Ranks, again.Ranks)
			}
			for k, v := range res.Graph.Initializers {
				w := again.Graph.Initializers[k]
				if w == nil || fmt.Sprint(w.F32) != fmt.Sprint(v.F32) {
					t.Fatalf("same seed, initializer %q differs", k)
				}
			}
			path := filepath.Join(t.TempDir(), "small-cobla.onnx")
			if err := res.Write(path); err != nil {
				t.Fatal(err)
			}
			lm, err := runtime.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			md := lm.Info().Metadata
			for _, k := range []string{"compress.method", "compress.ranks", "compress.budget_macs", "labels", "preprocess.mean"} {
				if md[k] == "" {
					t.Errorf("metadata %q missing", k)
				}
			}
			if got := top1(t, lm.Graph(), test); got != acc {
				t.Errorf("written model: top-1 %.4f, in memory %.4f", got, acc)
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("temporary files left: %v", entries)
			}
		})
	}
}

// TestCancelLeavesNoFile: a cancelled run returns the context's error.
func TestCancelLeavesNoFile(t *testing.T) {
	m := loadFixture(t, "fmnist-small")
	cal := loadCalib(t, "train", 0, 64)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Compress(ctx, m, Options{Budget: Budget{MACs: m.Info().MACs / 2}, Calib: cal})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestWriteFailureLeavesNoFile(t *testing.T) {
	m := loadFixture(t, "fmnist-small")
	res, err := Compress(context.Background(), m, Options{Method: MethodUniform, Budget: Budget{MACs: m.Info().MACs / 2}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "missing", "out.onnx")
	if err := res.Write(bad); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files left: %v", entries)
	}
}

func TestCOBLANeedsCalibration(t *testing.T) {
	m := loadFixture(t, "fmnist-small")
	_, err := Compress(context.Background(), m, Options{Budget: Budget{MACs: m.Info().MACs / 2}})
	if !errors.Is(err, ErrNoCalibration) {
		t.Fatalf("got %v, want ErrNoCalibration", err)
	}
}

// TestGradientSmall checks ∂f/∂m on fmnist-small with real images against
// central finite differences.
func TestGradientSmall(t *testing.T) {
	m := loadFixture(t, "fmnist-small")
	cal := loadCalib(t, "train", 0, 16)
	info := m.Info()
	opts := Options{Budget: Budget{MACs: info.MACs / 2}, Calib: cal, Batch: 8, Threads: 2}
	if err := opts.defaults(); err != nil {
		t.Fatal(err)
	}
	wls, err := findLayers(m.Graph())
	if err != nil {
		t.Fatal(err)
	}
	var fs []*factor
	for _, l := range wls {
		f, err := decompose(l, SchemeAuto, true)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			fs = append(fs, f)
		}
	}
	p := newProblem(fs, info.MACs, info.Params, info.MACs/2, 0)
	c, err := newCalibRun(context.Background(), m.Graph(), p, opts, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	x := p.binaryMasks(p.uniform())
	for i := range x {
		x[i] = 0.3 + 0.5*x[i]
	}
	idx := append(append([]int(nil), c.train...), c.held...)
	_, g, err := c.obj.grad(x, idx)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, f := range p.factors {
		for trial := 0; trial < 2; trial++ {
			i := f.off + r.IntN(min(f.kmax, 8)) // the large components matter
			old := x[i]
			h := 2e-2
			x[i] = old + h
			fp, _ := c.obj.value(x, idx)
			x[i] = old - h
			fm, _ := c.obj.value(x, idx)
			x[i] = old
			fd := (fp - fm) / (2 * h)
			if d := math.Abs(fd - g[i]); d > 1e-3+0.05*math.Abs(fd) {
				t.Errorf("layer %s mask %d: gradient %.6g, finite difference %.6g", f.l.node.Name, i-f.off, g[i], fd)
			}
		}
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

// TestDataAwareSmall: the data-aware refit keeps the budget and the
// runtime's cost figures, and lowers the held-out objective of an
// aggressive uniform allocation.
func TestDataAwareSmall(t *testing.T) {
	m := loadFixture(t, "fmnist-small")
	cal := loadCalib(t, "train", 0, 256)
	test := loadCalib(t, "t10k", 0, 500)
	budget := Budget{MACs: m.Info().MACs * 3 / 10}
	var objs [3]float64
	for i, da := range []bool{false, true, true} {
		ft := 0
		if i == 2 {
			ft = 3
		}
		res, err := Compress(context.Background(), m, Options{Method: MethodUniform, Budget: budget, Calib: cal, Seed: 3, Threads: 2, DataAware: da, Finetune: ft})
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, res, budget)
		objs[i] = res.HeldOutObjective
		t.Logf("data-aware=%v finetune=%d: held-out objective %.4f top-1 %.4f, test top-1 %.4f, %.1fs", da, ft, res.HeldOutObjective, res.HeldOutTop1After, top1(t, res.Graph, test), res.Seconds)
		if ft > 0 && res.Graph.Metadata["compress.finetune_epochs"] != "3" {
			t.Error("finetune not recorded in the metadata")
		}
	}
	if objs[1] >= objs[0] {
		t.Errorf("refit did not lower the held-out objective: %.4f → %.4f", objs[0], objs[1])
	}
}

// TestCOBLAGuard: with the refit, COBLA's result is never worse on the
// held-out images than the greedy and uniform baselines refitted the
// same way, and the guard keeps the best allocation it judged.
func TestCOBLAGuard(t *testing.T) {
	m := loadFixture(t, "fmnist-small")
	cal := loadCalib(t, "train", 0, 256)
	budget := Budget{MACs: m.Info().MACs * 3 / 10}
	run := func(meth Method) *Result {
		res, err := Compress(context.Background(), m, Options{Method: meth, Budget: budget, Calib: cal, Seed: 5, Threads: 2, DataAware: true, MaxIter: 2, Roundings: 2})
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, res, budget)
		return res
	}
	res := run(MethodCOBLA)
	t.Logf("cobla: stop %q, kept %q, guard %+v, held-out objective %.5f", res.Stop, res.Chosen, res.Guard, res.HeldOutObjective)
	if res.Stop == "" || res.Chosen == "" || len(res.Guard) == 0 {
		t.Fatalf("solver stop %q, chosen %q, guard %v: not reported", res.Stop, res.Chosen, res.Guard)
	}
	best := math.Inf(1)
	for _, g := range res.Guard {
		if !g.Skipped {
			best = min(best, g.HeldOutObjective)
		}
	}
	if math.Abs(res.HeldOutObjective-best) > 1e-9*math.Abs(best) {
		t.Errorf("kept held-out objective %.6f, best judged %.6f", res.HeldOutObjective, best)
	}
	for _, meth := range []Method{MethodGreedy, MethodUniform} {
		b := run(meth)
		t.Logf("%s: held-out objective %.5f", meth, b.HeldOutObjective)
		if res.HeldOutObjective > b.HeldOutObjective*(1+1e-6) {
			t.Errorf("cobla held-out objective %.6f is worse than %s's %.6f", res.HeldOutObjective, meth, b.HeldOutObjective)
		}
	}
}
