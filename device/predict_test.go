package device_test

import (
	"math"
	"strings"
	"testing"

	"github.com/edgeml/edge/device"
	"github.com/edgeml/edge/device/devicetest"
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

func TestCategory(t *testing.T) {
	pw := convLayer("pw", 64, 28, 128, 1, 1, 1)
	pw.Conv.PadTop, pw.Conv.PadLeft, pw.Conv.PadBottom, pw.Conv.PadRight = 0, 0, 0, 0
	tests := []struct {
		l    runtime.Layer
		want string
	}{
		{convLayer("c", 64, 28, 128, 3, 1, 1), device.CatConv},
		{pw, device.CatPointwise},
		{convLayer("s2", 64, 28, 128, 1, 2, 1), device.CatConv},
		{convLayer("dw", 32, 28, 32, 3, 1, 32), device.CatDepthwise},
		{convLayer("g", 32, 28, 64, 3, 1, 2), device.CatConv},
		{gemmLayer("fc", 1, 512, 10), device.CatFC},
		{runtime.Layer{OpType: "MatMul"}, device.CatFC},
		{poolLayer("p", 8, 8), device.CatPool},
		{runtime.Layer{OpType: "GlobalAveragePool"}, device.CatPool},
		{runtime.Layer{OpType: "Add"}, device.CatElemwise},
		{runtime.Layer{OpType: "Relu"}, device.CatElemwise},
	}
	for _, tt := range tests {
		t.Run(tt.l.Name+tt.l.OpType, func(t *testing.T) {
			if got := device.Category(tt.l); got != tt.want {
				t.Errorf("Category = %s, want %s", got, tt.want)
			}
		})
	}
}

// bwFake is the bandwidth model of devicetest.Calibration: bw GB/s up to
// 1 MiB, bw/4 from 64 MiB, log-linear in between.
func bwFake(bw float64, bytes int64) float64 {
	switch {
	case bytes <= 1<<20:
		return bw
	case bytes >= 64<<20:
		return bw / 4
	}
	f := math.Log(float64(bytes)/(1<<20)) / math.Log(64)
	return bw * math.Pow(0.25, f)
}

func TestPredict(t *testing.T) {
	// 10 GFLOPS per thread, 10 GB/s from cache, 1 µs per operator.
	cal := devicetest.Calibration(10, 10, 1000, 2)
	conv := convLayer("conv", 128, 28, 128, 3, 1, 1) // exactly the calibrated 128×784×1152 shape
	fc := gemmLayer("fc", 1, 512, 512)               // the calibrated FC shape
	pool := poolLayer("pool", 128, 28)
	bytesOf := func(l runtime.Layer) int64 {
		var e int64
		for _, s := range append(append([]ir.Shape{}, l.Inputs...), l.Outputs...) {
			e += int64(s.Size())
		}
		return 4 * e
	}
	tests := []struct {
		name    string
		layer   runtime.Layer
		threads int
		compute float64 // ms
		memory  float64 // ms
	}{
		{"conv 1 thread", conv, 1, 2 * float64(conv.MACs) / 10 / 1e6, float64(bytesOf(conv)) / bwFake(10, bytesOf(conv)) / 1e6},
		{"conv 2 threads", conv, 2, 2 * float64(conv.MACs) / 20 / 1e6, float64(bytesOf(conv)) / bwFake(10, bytesOf(conv)) / 1e6},
		// memory-bound: 1 MiB of weights at 10 GB/s is slower than 0.5 M MACs at 10 GFLOPS.
		{"fc", fc, 1, 2 * float64(fc.MACs) / 10 / 1e6, float64(bytesOf(fc)) / bwFake(10, bytesOf(fc)) / 1e6},
		// pool: bytes at the pool's 5 GB/s, against bytes at the copy bandwidth.
		{"pool", pool, 1, 2 * float64(bytesOf(pool)) / 10 / 1e6, float64(bytesOf(pool)) / bwFake(10, bytesOf(pool)) / 1e6},
		// a shape far from the calibrated ones still gets the (uniform) rate.
		{"small conv", convLayer("c0", 1, 28, 32, 3, 1, 1), 1, 2 * float64(32*784*9) / 10 / 1e6, float64(4*(784+288+32+32*784)) / 10 / 1e6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, err := device.Predict([]runtime.Layer{tt.layer}, cal, tt.threads)
			if err != nil {
				t.Fatal(err)
			}
			l := pr.Layers[0]
			near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9+1e-9*math.Abs(b) }
			// Roofline: overhead + max(compute, memory).
			extra := max(0, tt.memory-tt.compute)
			if !near(l.ComputeMs, tt.compute) || !near(l.MemoryMs, extra) || !near(l.OverheadMs, 0.001) {
				t.Errorf("compute %.6f memory %.6f overhead %.6f ms, want %.6f %.6f 0.001", l.ComputeMs, l.MemoryMs, l.OverheadMs, tt.compute, extra)
			}
			if !near(pr.TotalMs, max(tt.compute, tt.memory)+0.001) {
				t.Errorf("total %.6f", pr.TotalMs)
			}
		})
	}

	// Whole model, interpolation and extrapolation in threads.
	layers := []runtime.Layer{convLayer("c0", 1, 28, 32, 3, 1, 1), conv, pool, fc, {Name: "relu", OpType: "Relu",
		Inputs: []ir.Shape{{1, 512}}, Outputs: []ir.Shape{{1, 512}}}}
	p1, _ := device.Predict(layers, cal, 1)
	p2, _ := device.Predict(layers, cal, 2)
	p4, err := device.Predict(layers, cal, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Layers) != 5 || p2.TotalMs >= p1.TotalMs {
		t.Errorf("1 thread %.3f ms, 2 threads %.3f ms", p1.TotalMs, p2.TotalMs)
	}
	if p4.TotalMs != p2.TotalMs || !strings.Contains(p4.Note, "calibrated up to 2") {
		t.Errorf("4 threads: %.3f ms note %q, want the 2-thread figure and a note", p4.TotalMs, p4.Note)
	}
	var macs int64
	for _, l := range layers {
		macs += l.MACs
	}
	if p1.MACs != macs {
		t.Errorf("MACs %d, want %d", p1.MACs, macs)
	}
	// 3 threads between calibrated 2 and 4: linear interpolation.
	cal4 := devicetest.Calibration(10, 10, 1000, 4)
	cal4.Threads = []int{1, 2, 4}
	q2, _ := device.Predict(layers, cal4, 2)
	q3, _ := device.Predict(layers, cal4, 3)
	q4, _ := device.Predict(layers, cal4, 4)
	if math.Abs(q3.TotalMs-(q2.TotalMs+q4.TotalMs)/2) > 1e-9 {
		t.Errorf("3 threads %.6f, want the mean of %.6f and %.6f", q3.TotalMs, q2.TotalMs, q4.TotalMs)
	}

	if _, err := device.Predict(layers, &device.Calibration{}, 1); err == nil {
		t.Error("empty calibration: no error")
	}
}

// TestPredictInterpolation checks that a calibrated shape is predicted
// at its own measured rate and that other shapes take rates between the
// calibrated ones.
func TestPredictInterpolation(t *testing.T) {
	cal := devicetest.Calibration(10, 10, 0, 1)
	// Add a small-K 3×3 shape (32×784×9) four times as fast.
	for i := range cal.Shapes {
		if cal.Shapes[i].Category == device.CatConv {
			cal.Shapes = append(cal.Shapes, cal.Shapes[i])
			s := &cal.Shapes[len(cal.Shapes)-1]
			s.Name, s.M, s.N, s.K, s.ComputeGFLOPS = "conv3x3-small", 32, 784, 9, 40
		}
	}
	rate := func(l runtime.Layer) float64 {
		pr, err := device.Predict([]runtime.Layer{l}, cal, 1)
		if err != nil {
			t.Fatal(err)
		}
		return pr.Layers[0].GFLOPS
	}
	if g := rate(convLayer("big", 128, 28, 128, 3, 1, 1)); math.Abs(g-10) > 1e-9 {
		t.Errorf("calibrated big shape: %.4f GFLOPS, want 10", g)
	}
	if g := rate(convLayer("small", 1, 28, 32, 3, 1, 1)); math.Abs(g-40) > 1e-9 {
		t.Errorf("calibrated small shape: %.4f GFLOPS, want 40", g)
	}
	if g := rate(convLayer("mid", 16, 28, 64, 3, 1, 1)); g <= 10 || g >= 40 {
		t.Errorf("in-between shape: %.4f GFLOPS, want strictly between 10 and 40", g)
	}
}

// TestPredictOddLayers feeds layers with missing or degenerate geometry:
// Predict and FloorOf must not panic and must return finite costs.
func TestPredictOddLayers(t *testing.T) {
	cal := devicetest.Calibration(10, 10, 1000, 2)
	odd := []runtime.Layer{
		{Name: "conv-no-geometry", OpType: "Conv", MACs: 1000},
		{Name: "conv-zero-stride", OpType: "Conv", Conv: kernels.ConvParams{InC: 3, InH: 8, InW: 8, OutC: 4, KH: 3, KW: 3, Group: 1}},
		{Name: "conv-bad-group", OpType: "Conv", Conv: kernels.ConvParams{InC: 3, InH: 8, InW: 8, OutC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1}},
		{Name: "gemm-no-geometry", OpType: "Gemm", MACs: 500, Params: 20},
		{Name: "negative-dims", OpType: "Add", Inputs: []ir.Shape{{-1, 3}}, Outputs: []ir.Shape{{-1, 3}}},
		{Name: "empty", OpType: "Identity"},
		{Name: "unknown-op", OpType: "FancyOp", Inputs: []ir.Shape{{1, 1 << 20}}, Outputs: []ir.Shape{{1, 1 << 20}}},
	}
	for _, threads := range []int{0, 1, 2, 7} {
		pr, err := device.Predict(odd, cal, threads)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range pr.Layers {
			if math.IsNaN(l.Ms) || math.IsInf(l.Ms, 0) || l.Ms < 0 {
				t.Errorf("threads %d layer %s: %v ms", threads, l.Name, l.Ms)
			}
		}
	}
	m, p := device.FloorOf(odd)
	if m < 0 || p < 0 {
		t.Errorf("floor %d %d", m, p)
	}
}
