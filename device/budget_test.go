package device_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/edgeml/edge/device"
	"github.com/edgeml/edge/device/devicetest"
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

func TestParseTargets(t *testing.T) {
	tests := []struct {
		in   device.TargetFlags
		want device.Targets
		err  string
	}{
		{in: device.TargetFlags{LatencyMs: "20"}, want: device.Targets{LatencyMs: 20}},
		{in: device.TargetFlags{LatencyMs: "20ms"}, want: device.Targets{LatencyMs: 20}},
		{in: device.TargetFlags{LatencyMs: "0.5s"}, want: device.Targets{LatencyMs: 500}},
		{in: device.TargetFlags{LatencyMs: "250us"}, want: device.Targets{LatencyMs: 0.25}},
		{in: device.TargetFlags{MemoryMB: "64"}, want: device.Targets{MemoryMB: 64}},
		{in: device.TargetFlags{MemoryMB: "1.5GB"}, want: device.Targets{MemoryMB: 1536}},
		{in: device.TargetFlags{MemoryMB: "512MiB"}, want: device.Targets{MemoryMB: 512}},
		{in: device.TargetFlags{MACs: "300M"}, want: device.Targets{MACs: 300_000_000}},
		{in: device.TargetFlags{MACs: "1.2G"}, want: device.Targets{MACs: 1_200_000_000}},
		{in: device.TargetFlags{MACs: "450000"}, want: device.Targets{MACs: 450000}},
		{in: device.TargetFlags{MACs: "0.5"}, want: device.Targets{MACsFraction: 0.5}},
		{in: device.TargetFlags{MACs: "25%"}, want: device.Targets{MACsFraction: 0.25}},
		{in: device.TargetFlags{Params: "1"}, want: device.Targets{ParamsFraction: 1}},
		{in: device.TargetFlags{Params: "2.5k"}, want: device.Targets{Params: 2500}},
		{in: device.TargetFlags{Auto: true}, want: device.Targets{Auto: true}},
		{in: device.TargetFlags{}, want: device.Targets{}},
		{in: device.TargetFlags{LatencyMs: "fast"}, err: "latency target"},
		{in: device.TargetFlags{LatencyMs: "-3"}, err: "latency target"},
		{in: device.TargetFlags{MemoryMB: "0"}, err: "memory target"},
		{in: device.TargetFlags{MACs: "150%"}, err: "macs target"},
		{in: device.TargetFlags{MACs: "-1"}, err: "macs target"},
		{in: device.TargetFlags{Params: "lots"}, err: "params target"},
		{in: device.TargetFlags{MACs: "9e30G"}, err: "macs target"},
	}
	for _, tt := range tests {
		name := tt.in.LatencyMs + tt.in.MemoryMB + tt.in.MACs + tt.in.Params
		t.Run(name, func(t *testing.T) {
			got, err := device.ParseTargets(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "device: ") {
					t.Fatalf("error %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// testCost is a model of 1 G MACs and 10 M params predicted at 30 ms:
// 25 ms of compute (80 GFLOPS achieved) and 5 ms that does not shrink.
func testCost() device.ModelCost {
	return device.ModelCost{
		MACs: 1_000_000_000, Params: 10_000_000, WeightBytes: 40_000_000, ActivationBytes: 8 << 20,
		FloorMACs: 50_000_000, FloorParams: 200_000,
		Prediction: &device.Prediction{Threads: 2, TotalMs: 30, MACs: 1_000_000_000, Layers: []device.LayerCost{
			{Name: "convs", MACs: 1_000_000_000, ComputeMs: 25, MemoryMs: 3, OverheadMs: 0.5, Ms: 28.5},
			{Name: "pools", MemoryMs: 1.4, OverheadMs: 0.1, Ms: 1.5},
		}},
	}
}

func TestDeriveBudget(t *testing.T) {
	prof := &device.Profile{Memory: device.Memory{EffectiveAvailable: 100 << 20, Limit: 512 << 20, LimitSource: "cgroup v2 memory.max"}, CPU: device.CPU{Threads: 2}}
	tests := []struct {
		name      string
		targets   device.Targets
		macs      int64
		params    int64
		binding   string
		explained string
		predicted float64
	}{
		// (20 − 5) ms / 25 ms × 1 G = 600 M.
		{"latency", device.Targets{LatencyMs: 20}, 600_000_000, 10_000_000, "latency", "latency 20 ms − 5.00 ms fixed = 15.00 ms × 80.0 GFLOPS ⇒ ≤ 600 M MACs", 20},
		{"latency met", device.Targets{LatencyMs: 100}, 1_000_000_000, 10_000_000, "none", "no compression needed", 30},
		{"macs absolute", device.Targets{MACs: 300_000_000}, 300_000_000, 10_000_000, "macs", "MACs target absolute ⇒ ≤ 300 M MACs", 0},
		{"macs fraction", device.Targets{MACsFraction: 0.25}, 250_000_000, 10_000_000, "macs", "25.0% of 1.00 G", 0},
		{"latency and macs: tightest wins", device.Targets{LatencyMs: 20, MACsFraction: 0.5}, 500_000_000, 10_000_000, "macs", "⇒ ≤ 600 M MACs", 0},
		{"params", device.Targets{ParamsFraction: 0.5}, 1_000_000_000, 5_000_000, "params", "params target 50.0% of 10.0 M", 0},
		// 30 MiB − 8 MiB activations − 16 MiB runtime = 6 MiB for 3 copies
		// of 4-byte weights = 524288 params.
		{"memory", device.Targets{MemoryMB: 30}, 1_000_000_000, 524_288, "memory", "memory 30 MB − 8.00 MB activations − 16.00 MB runtime = 6.00 MB for 3 copies of the weights ⇒ ≤ 2.00 MB weights", 0},
		// 176 MiB / 12 bytes = 15.4 M params > 10 M.
		{"memory met", device.Targets{MemoryMB: 200}, 1_000_000_000, 10_000_000, "none", "no compression needed", 0},
		// half of 100 MiB = 50 MiB − 24 MiB = 26 MiB / 12 bytes = 2271914 params.
		{"auto", device.Targets{Auto: true}, 1_000_000_000, 2_271_914, "auto", "auto: half of 100.00 MB available (cgroup v2 memory.max)", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cost := testCost()
			b, err := device.DeriveBudget(cost, tt.targets, prof, nil)
			if err != nil {
				t.Fatal(err)
			}
			if b.MACs != tt.macs || b.Params != tt.params || b.Binding != tt.binding {
				t.Errorf("MACs %d params %d binding %q, want %d %d %q", b.MACs, b.Params, b.Binding, tt.macs, tt.params, tt.binding)
			}
			if b.WeightBytes != 4*b.Params || b.ActivationBytes != 8<<20 || b.Threads != 2 {
				t.Errorf("weight bytes %d activation bytes %d threads %d", b.WeightBytes, b.ActivationBytes, b.Threads)
			}
			text := strings.Join(b.Explanation, "\n")
			if !strings.Contains(text, tt.explained) {
				t.Errorf("explanation lacks %q:\n%s", tt.explained, text)
			}
			if tt.predicted > 0 && math.Abs(b.PredictedMs-tt.predicted) > 1e-6 {
				t.Errorf("predicted %.6f ms, want %.6f", b.PredictedMs, tt.predicted)
			}
		})
	}
}

func TestDeriveBudgetImpossible(t *testing.T) {
	prof := &device.Profile{Memory: device.Memory{EffectiveAvailable: 40 << 20, LimitSource: "meminfo"}}
	tests := []struct {
		name     string
		targets  device.Targets
		target   string
		smallest float64
		unit     string
	}{
		// fixed 5 ms + 50 M MACs × 25 ns = 6.25 ms.
		{"latency below fixed", device.Targets{LatencyMs: 4}, "latency", 6.25, "ms"},
		{"latency below floor", device.Targets{LatencyMs: 5.5}, "latency", 6.25, "ms"},
		{"macs below floor", device.Targets{MACsFraction: 0.01}, "macs", 50_000_000, "MACs"},
		{"macs absolute below floor", device.Targets{MACs: 1000}, "macs", 50_000_000, "MACs"},
		{"params below floor", device.Targets{Params: 100}, "params", 200_000, "params"},
		// 8 MiB activations + 16 MiB runtime + 3 × 0.8 MB floor weights.
		{"memory below activations", device.Targets{MemoryMB: 20}, "memory", 24 + 2_400_000.0/(1<<20), "MB"},
		{"memory below floor", device.Targets{MemoryMB: 25}, "memory", 24 + 2_400_000.0/(1<<20), "MB"},
		{"auto on a small machine", device.Targets{Auto: true}, "auto", 24 + 2_400_000.0/(1<<20), "MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cost := testCost()
			_, err := device.DeriveBudget(cost, tt.targets, prof, nil)
			if !errors.Is(err, device.ErrImpossibleBudget) {
				t.Fatalf("error %v, want ErrImpossibleBudget", err)
			}
			var ie *device.ImpossibleError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T is not an *ImpossibleError", err)
			}
			if ie.Target != tt.target || ie.Unit != tt.unit || math.Abs(ie.Smallest-tt.smallest) > 1e-6*tt.smallest {
				t.Errorf("got %s smallest %v %s, want %s %v %s", ie.Target, ie.Smallest, ie.Unit, tt.target, tt.smallest, tt.unit)
			}
			if !strings.Contains(err.Error(), "smallest reachable") {
				t.Errorf("message %q does not state the smallest reachable value", err)
			}
		})
	}
}

func TestDeriveBudgetErrors(t *testing.T) {
	cost := testCost()
	if _, err := device.DeriveBudget(cost, device.Targets{}, nil, nil); !errors.Is(err, device.ErrNoTarget) {
		t.Errorf("no targets: %v", err)
	}
	noPred := cost
	noPred.Prediction = nil
	if _, err := device.DeriveBudget(noPred, device.Targets{LatencyMs: 10}, nil, nil); err == nil || !strings.Contains(err.Error(), "calibration") {
		t.Errorf("latency without calibration: %v", err)
	}
	if _, err := device.DeriveBudget(cost, device.Targets{Auto: true}, nil, nil); err == nil || !strings.Contains(err.Error(), "profile") {
		t.Errorf("auto without profile: %v", err)
	}
	if _, err := device.DeriveBudget(device.ModelCost{}, device.Targets{MACsFraction: 0.5}, nil, nil); err == nil {
		t.Error("empty model: no error")
	}
}

func convLayer(name string, inC, hw, outC, k, stride, group int) runtime.Layer {
	p := kernels.ConvParams{InC: inC, InH: hw, InW: hw, OutC: outC, KH: k, KW: k, StrideH: stride, StrideW: stride,
		DilH: 1, DilW: 1, PadTop: k / 2, PadLeft: k / 2, PadBottom: k / 2, PadRight: k / 2, Group: group}
	w := outC * inC / group * k * k
	return runtime.Layer{Name: name, OpType: "Conv", Conv: p, MACs: p.MACs(), Params: int64(w + outC),
		Inputs:  []ir.Shape{{1, inC, hw, hw}, {outC, inC / group, k, k}, {outC}},
		Outputs: []ir.Shape{{1, outC, p.OutH(), p.OutW()}}}
}

func gemmLayer(name string, rows, k, n int) runtime.Layer {
	return runtime.Layer{Name: name, OpType: "Gemm", MACs: int64(rows * k * n), Params: int64(k*n + n),
		Conv:    kernels.ConvParams{InC: k, InH: 1, InW: 1, OutC: n, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1},
		Inputs:  []ir.Shape{{rows, k}, {n, k}, {n}},
		Outputs: []ir.Shape{{rows, n}}}
}

func poolLayer(name string, c, hw int) runtime.Layer {
	return runtime.Layer{Name: name, OpType: "MaxPool", Inputs: []ir.Shape{{1, c, hw, hw}}, Outputs: []ir.Shape{{1, c, hw / 2, hw / 2}}}
}

func TestFloorOf(t *testing.T) {
	tests := []struct {
		name         string
		layer        runtime.Layer
		macs, params int64
		decomposable bool
	}{
		// 64·9·784 + 128·784 MACs; 576 + 128 weights + 128 bias.
		{"conv3x3", convLayer("c", 64, 28, 128, 3, 1, 1), 576*784 + 128*784, 576 + 128 + 128, true},
		// stride 2: 14×14 output pixels.
		{"conv3x3 stride 2", convLayer("c", 64, 28, 128, 3, 2, 1), 576*196 + 128*196, 576 + 128 + 128, true},
		// 512 + 10 MACs; 522 weights + 10 bias.
		{"gemm", gemmLayer("fc", 1, 512, 10), 522, 532, true},
		{"gemm batch 4", gemmLayer("fc", 4, 512, 10), 4 * 522, 532, true},
		{"depthwise kept", convLayer("dw", 32, 28, 32, 3, 1, 32), int64(32 * 784 * 9), 32*9 + 32, false},
		{"pool kept", poolLayer("p", 32, 28), 0, 0, false},
		{"conv without geometry kept", runtime.Layer{OpType: "Conv", MACs: 100, Params: 10, Conv: kernels.ConvParams{InC: 3, Group: 1}}, 100, 10, false},
		// 1→32 3×3: rank 1 costs 9·784 + 32·784 > 9·32·784? No: 288·784 full,
		// 41·784 rank 1.
		{"first layer", convLayer("c0", 1, 28, 32, 3, 1, 1), 9*784 + 32*784, 9 + 32 + 32, true},
		// 3→1: rank 1 (27·HW + 1·HW) costs more than the layer (27·HW): kept.
		{"single output channel kept", convLayer("c1", 3, 8, 1, 3, 1, 1), 27 * 64, 27 + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := device.Decomposable(tt.layer); got != tt.decomposable {
				t.Errorf("Decomposable = %v", got)
			}
			m, p := device.FloorOf([]runtime.Layer{tt.layer})
			if m != tt.macs || p != tt.params {
				t.Errorf("floor %d MACs %d params, want %d and %d", m, p, tt.macs, tt.params)
			}
		})
	}
	all := []runtime.Layer{convLayer("c", 64, 28, 128, 3, 1, 1), poolLayer("p", 128, 28), gemmLayer("fc", 1, 512, 10)}
	m, p := device.FloorOf(all)
	if m != 576*784+128*784+522 || p != 832+532 {
		t.Errorf("sum: %d MACs %d params", m, p)
	}
}

func TestCostOfModel(t *testing.T) {
	const path = "/work/shared/models/fmnist-small.onnx"
	m, err := runtime.Load(path)
	if err != nil {
		t.Skipf("fixture: %v", err)
	}
	cal := devicetest.Calibration(10, 10, 1000, 2)
	cost, err := device.CostOfModel(m, runtime.Options{Threads: 2}, cal)
	if err != nil {
		t.Fatal(err)
	}
	info := m.Info()
	if cost.MACs != info.MACs || cost.Params != info.Params || cost.ActivationBytes != info.PeakActivationBytes {
		t.Errorf("cost %+v does not match info", cost)
	}
	if cost.FloorMACs <= 0 || cost.FloorMACs >= cost.MACs || cost.FloorParams <= 0 || cost.FloorParams >= cost.Params {
		t.Errorf("floor %d MACs %d params for a %d MACs %d params model", cost.FloorMACs, cost.FloorParams, cost.MACs, cost.Params)
	}
	if cost.Prediction == nil || cost.Prediction.Threads != 2 || cost.Prediction.MACs != cost.MACs || cost.Prediction.TotalMs <= 0 {
		t.Errorf("prediction %+v", cost.Prediction)
	}
	noCal, err := device.CostOfModel(m, runtime.Options{}, nil)
	if err != nil || noCal.Prediction != nil {
		t.Errorf("without calibration: %v %+v", err, noCal.Prediction)
	}
	if _, err := device.CostOfModel(nil, runtime.Options{}, nil); err == nil {
		t.Error("nil model: no error")
	}
}
