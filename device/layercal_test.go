package device_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/device"
	"github.com/edgeml/edge/device/devicetest"
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

// layerModel is x[1,8,12,12] → Conv 8→16 3×3 pad 1 + Relu → two
// identical Conv 16→16 3×3 pad 1 + Relu → Flatten → Gemm 2304→10.
func layerModel(t *testing.T) []runtime.Layer {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	g := &ir.Graph{Name: "layercal", Opset: 13, Initializers: map[string]*ir.Tensor{}}
	g.Inputs = []ir.ValueInfo{{Name: "x", DType: ir.Float32, Shape: []int{1, 8, 12, 12}}}
	param := func(name string, shape ...int) string {
		w := ir.NewTensor(ir.Float32, shape)
		for i := range w.F32 {
			w.F32[i] = float32(rng.NormFloat64()) * 0.1
		}
		g.Initializers[name] = w
		return name
	}
	pads := map[string]*ir.Attr{"pads": {Type: ir.AttrInts, Ints: []int64{1, 1, 1, 1}}}
	prev := "x"
	for i, inC := range []int{8, 16, 16} {
		c, r := "conv"+string(rune('a'+i)), "relu"+string(rune('a'+i))
		g.Nodes = append(g.Nodes,
			&ir.Node{Name: c, OpType: "Conv", Inputs: []string{prev, param(c+".w", 16, inC, 3, 3), param(c+".b", 16)}, Outputs: []string{c}, Attrs: pads},
			&ir.Node{Name: r, OpType: "Relu", Inputs: []string{c}, Outputs: []string{r}})
		prev = r
	}
	g.Nodes = append(g.Nodes,
		&ir.Node{Name: "flat", OpType: "Flatten", Inputs: []string{prev}, Outputs: []string{"flat"}},
		&ir.Node{Name: "fc", OpType: "Gemm", Inputs: []string{"flat", param("fc.w", 10, 16*12*12), param("fc.b", 10)}, Outputs: []string{"y"},
			Attrs: map[string]*ir.Attr{"transB": {Type: ir.AttrInt, I: 1}}})
	g.Outputs = []ir.ValueInfo{{Name: "y", DType: ir.Float32, Shape: []int{1, 10}}}
	m, err := runtime.FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := m.Layers(1, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return layers
}

// TestAddLayers checks that the model's compute layers are measured once
// per distinct signature, with the kernel the runtime planned, and that
// Predict then uses those measurements.
func TestAddLayers(t *testing.T) {
	layers := layerModel(t)
	sigs := map[string]string{} // signature → planned kernel
	for _, l := range layers {
		sig := device.LayerSig(l)
		switch l.OpType {
		case "Conv", "Gemm":
			if sig == "" {
				t.Fatalf("layer %s (%s): no signature", l.Name, l.OpType)
			}
			sigs[sig] = l.Kernel
		default:
			if sig != "" {
				t.Errorf("layer %s (%s): signature %q, want none", l.Name, l.OpType, sig)
			}
		}
	}
	if len(sigs) != 3 {
		t.Fatalf("%d distinct signatures, want 3 (two identical convolutions): %v", len(sigs), sigs)
	}
	cal := devicetest.Calibration(10, 10, 1000, 2)
	tests := []struct {
		name    string
		threads []int
		want    int // shapes added
	}{
		{"one thread", []int{1}, 3},
		{"again", []int{1}, 0},
		{"both counts", nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := cal.AddLayers(context.Background(), layers, device.LayerCalOptions{Threads: tt.threads})
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.want {
				t.Errorf("added %d shapes, want %d", n, tt.want)
			}
		})
	}
	found := 0
	for _, s := range cal.Shapes {
		if s.Layer == "" {
			continue
		}
		found++
		want, ok := sigs[s.Layer]
		if !ok {
			t.Errorf("shape %s: unknown signature %q", s.Name, s.Layer)
		}
		if s.Kernel != want {
			t.Errorf("shape %s: measured with %q, the runtime planned %q", s.Name, s.Kernel, want)
		}
		if s.Ns <= 0 || s.Flops <= 0 || s.ComputeGFLOPS <= 0 || s.Weights <= 0 {
			t.Errorf("shape %s: %+v", s.Name, s)
		}
	}
	if found != 6 {
		t.Errorf("%d layer shapes, want 6 (3 signatures × 2 thread counts)", found)
	}
	pr, err := device.Predict(layers, cal, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range pr.Layers {
		if (l.OpType == "Conv" || l.OpType == "Gemm") && l.Basis != "layer" {
			t.Errorf("layer %s predicted from %q, want its own measurement", l.Name, l.Basis)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fresh := devicetest.Calibration(10, 10, 1000, 1)
	if _, err := fresh.AddLayers(ctx, layers, device.LayerCalOptions{}); err == nil {
		t.Error("cancelled context: no error")
	}
	if _, err := (&device.Calibration{}).AddLayers(context.Background(), layers, device.LayerCalOptions{}); err == nil {
		t.Error("empty calibration: no error")
	}
}

func TestLayerSig(t *testing.T) {
	conv := func(pad int, fused string) runtime.Layer {
		return runtime.Layer{OpType: "Conv", Fused: fused, Inputs: []ir.Shape{{1, 8, 12, 12}}, Outputs: []ir.Shape{{1, 16, 12, 12}},
			Conv: kernels.ConvParams{InC: 8, InH: 12, InW: 12, OutC: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1,
				PadTop: pad, PadLeft: pad, PadBottom: pad, PadRight: pad, Group: 1}}
	}
	gemm := runtime.Layer{OpType: "Gemm", MACs: 2304 * 10, Params: 2304*10 + 10, Inputs: []ir.Shape{{1, 2304}}, Outputs: []ir.Shape{{1, 10}},
		Conv: kernels.ConvParams{InC: 2304, OutC: 10}}
	pool := runtime.Layer{OpType: "MaxPool", Inputs: []ir.Shape{{1, 8, 12, 12}}, Outputs: []ir.Shape{{1, 8, 6, 6}}}
	tests := []struct {
		name string
		a, b runtime.Layer
		same bool
	}{
		{"identical convolutions", conv(1, "Relu"), conv(1, "Relu"), true},
		{"padding differs", conv(1, "Relu"), conv(0, "Relu"), false},
		{"fused activation differs", conv(1, "Relu"), conv(1, ""), false},
		{"conv vs gemm", conv(1, ""), gemm, false},
		{"pool vs conv", pool, conv(1, ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := device.LayerSig(tt.a), device.LayerSig(tt.b)
			if a == "" || b == "" {
				t.Fatalf("empty signature: %q, %q", a, b)
			}
			if (a == b) != tt.same {
				t.Errorf("signatures %q and %q: same = %v, want %v", a, b, a == b, tt.same)
			}
		})
	}
	for _, l := range []runtime.Layer{
		{OpType: "Flatten", Inputs: []ir.Shape{{1, 8, 2, 2}}, Outputs: []ir.Shape{{1, 32}}},
		{OpType: "Conv"}, // no geometry
		{OpType: "Gemm", Conv: kernels.ConvParams{InC: 4, OutC: 2}}, // no weights
	} {
		if s := device.LayerSig(l); s != "" {
			t.Errorf("%s layer: signature %q, want none", l.OpType, s)
		}
	}
}
