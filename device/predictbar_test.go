package device_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeml/edge/device"
	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

// TestPredictionBar compares Predict with measured inference latency
// (p50) of the models in EDGE_PREDICT_MODELS (space-separated globs,
// default the shared fixtures) at every calibrated thread count. It
// runs only when EDGE_PREDICT_BAR=1 (make bench): it needs a quiet
// machine. The bar is ±20%.
func TestPredictionBar(t *testing.T) {
	if os.Getenv("EDGE_PREDICT_BAR") != "1" {
		t.Skip("set EDGE_PREDICT_BAR=1 to check predictions against measured latency (make bench)")
	}
	glob := os.Getenv("EDGE_PREDICT_MODELS")
	if glob == "" {
		glob = "/work/shared/models/*.onnx"
	}
	var files []string
	for _, g := range strings.Fields(glob) {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skipf("no models match %s", glob)
	}
	cal, err := device.Calibrate(context.Background(), device.CalibrateOptions{NoCache: os.Getenv("EDGE_PREDICT_CACHE") != "1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("calibration: %.0f ms, kernel %s, threads %v", cal.ElapsedMs, cal.Kernel, cal.Threads)
	for _, f := range files {
		m, err := runtime.Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, th := range cal.Threads {
			layers, err := m.Layers(1, runtime.Options{Threads: th})
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if _, err := cal.AddLayers(context.Background(), layers, device.LayerCalOptions{Threads: []int{th}, Graph: m.Graph()}); err != nil {
				t.Fatal(err)
			}
			pr, err := device.Predict(layers, cal, th)
			if err != nil {
				t.Fatal(err)
			}
			p50 := measureP50(t, m, th)
			ratio := pr.TotalMs / p50
			status := "ok"
			if math.Abs(ratio-1) > 0.2 {
				status = "OUTSIDE ±20%"
				t.Errorf("%s threads %d: predicted %.3f ms, measured p50 %.3f ms (ratio %.2f)", filepath.Base(f), th, pr.TotalMs, p50, ratio)
			}
			t.Logf("%-28s threads %d: predicted %8.3f ms, measured p50 %8.3f ms, ratio %.2f %s", filepath.Base(f), th, pr.TotalMs, p50, ratio, status)
			if os.Getenv("EDGE_PREDICT_VERBOSE") == "1" {
				for _, l := range pr.Layers {
					t.Logf("   %-10s %-28s %-9s comp %.3f mem %.3f ovh %.3f = %.3f ms (%.1f GF, %s)", l.OpType, l.Name, l.Category, l.ComputeMs, l.MemoryMs, l.OverheadMs, l.Ms, l.GFLOPS, l.Basis)
				}
			}
		}
	}
}

func measureP50(t *testing.T, m *runtime.Model, threads int) float64 {
	s, err := m.NewSession(runtime.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := m.Inputs()[0]
	shape := slices.Clone(in.Shape)
	for i, d := range shape {
		if d <= 0 {
			shape[i] = 1
		}
	}
	x := ir.NewTensor(ir.Float32, shape)
	feeds := map[string]*ir.Tensor{in.Name: x}
	if _, err := s.RunIR(feeds); err != nil {
		t.Fatal(err)
	}
	var ts []float64
	start := time.Now()
	for len(ts) < 5 || (time.Since(start) < 2*time.Second && len(ts) < 500) {
		t0 := time.Now()
		if _, err := s.RunIR(feeds); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, float64(time.Since(t0).Microseconds())/1000)
	}
	slices.Sort(ts)
	return ts[len(ts)/2]
}
