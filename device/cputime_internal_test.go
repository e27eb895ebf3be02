//go:build linux

package device

import (
	"context"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeml/edge/kernels"

	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
	"golang.org/x/sys/unix"
)

// TestPredictionCPUTime validates the cost model at one thread on a busy
// machine: calibration and inference are both timed in thread CPU time,
// which other processes do not inflate. Run with EDGE_PREDICT_CPUTIME=1
// and EDGE_PREDICT_MODELS=glob.
func TestPredictionCPUTime(t *testing.T) {
	if os.Getenv("EDGE_PREDICT_CPUTIME") != "1" {
		t.Skip("set EDGE_PREDICT_CPUTIME=1")
	}
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	cpu := func() int64 {
		var ts unix.Timespec
		unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
		return ts.Nano()
	}
	saved := clockNs
	clockNs = cpu
	defer func() { clockNs = saved }()
	cal, err := Calibrate(context.Background(), CalibrateOptions{NoCache: true, Threads: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cal.Shapes {
		t.Logf("%-22s %9.1f us %7.1f GF rate %.2f GB/s", s.Name, s.Ns/1e3, s.GFLOPS, s.RateGBs)
	}
	t.Logf("memory %+v", cal.Memory)
	var files []string
	for _, g := range strings.Fields(os.Getenv("EDGE_PREDICT_MODELS")) {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	for _, f := range files {
		m, err := runtime.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := m.Layers(1, runtime.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cal.AddLayers(context.Background(), layers, LayerCalOptions{Threads: []int{1}, Graph: m.Graph()}); err != nil {
			t.Fatal(err)
		}
		pr, err := Predict(layers, cal, 1)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := m.NewSession(runtime.Options{Threads: 1})
		in := m.Inputs()[0]
		shape := slices.Clone(in.Shape)
		for i := range shape {
			if shape[i] <= 0 {
				shape[i] = 1
			}
		}
		feeds := map[string]*ir.Tensor{in.Name: ir.NewTensor(ir.Float32, shape)}
		s.RunIR(feeds)
		var ts []float64
		for i := 0; i < 30; i++ {
			t0 := cpu()
			s.RunIR(feeds)
			ts = append(ts, float64(cpu()-t0)/1e6)
		}
		s.Close()
		slices.Sort(ts)
		p50 := ts[len(ts)/2]
		t.Logf("%-30s predicted %8.3f ms, measured CPU p50 %8.3f ms, ratio %.2f", filepath.Base(f), pr.TotalMs, p50, pr.TotalMs/p50)
		if os.Getenv("EDGE_PREDICT_VERBOSE") == "1" {
			for i, l := range pr.Layers {
				direct := 0.0
				if p := layers[i].Conv; layers[i].OpType == "Conv" {
					w := make([]float32, p.OutC*p.InC/p.Group*p.KH*p.KW)
					k, err := kernels.NewConv2D(kernels.Config{}, p, w, nil)
					if err == nil {
						in := make([]float32, p.InC*p.InH*p.InW)
						out := make([]float32, p.OutC*p.OutH()*p.OutW())
						ws := make([]float32, k.WorkspaceLen())
						direct = timeIt(func() { k.Run(nil, 1, in, out, ws) }, 20*time.Millisecond) / 1e6
					}
				}
				t.Logf("   %-10s %-18s %-9s comp %.3f mem %.3f ovh %.3f = %.3f ms direct %.3f (%.1f GF, %s) %dx%dx%d", l.OpType, l.Name, l.Category, l.ComputeMs, l.MemoryMs, l.OverheadMs, l.Ms, direct, l.GFLOPS, l.Basis, layers[i].Conv.OutC, layers[i].Conv.InH*layers[i].Conv.InW, layers[i].Conv.InC*layers[i].Conv.KH*layers[i].Conv.KW)
			}
		}
	}
}
