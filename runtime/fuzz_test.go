package runtime

import (
	"errors"
	"os"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
	"github.com/edgeml/edge/runtime/onnx"
)

// FuzzLoad feeds corrupted models to LoadBytes: every input must give a
// model or an error wrapping ErrInvalidModel or ErrUnsupported, never a
// panic. Models that load are run once on zeros when they are small.
//
//	go test ./runtime -run '^$' -fuzz FuzzLoad -fuzztime 60s
func FuzzLoad(f *testing.F) {
	if b, err := os.ReadFile("testdata/fmnist-small.onnx"); err == nil {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("\x08\x07"))
	// Small models covering folding, fusion, views and BN.
	rng := newTestRNG()
	for _, g := range []*ir.Graph{
		convBNGraph(rng, false),
		{Opset: 13, Inputs: []ir.ValueInfo{fvi("x", -1, 6)}, Outputs: []ir.ValueInfo{fvi("y", -1, 2, 3)},
			Initializers: map[string]*ir.Tensor{"s": i64(-1, 2, 3)},
			Nodes:        []*ir.Node{nd("Reshape", "r", []string{"x", "s"}, []string{"y"})}},
		{Opset: 11, Inputs: []ir.ValueInfo{fvi("x", 1, 4)}, Outputs: []ir.ValueInfo{fvi("y", 1, 4)},
			Nodes: []*ir.Node{nd("Clip", "c", []string{"x"}, []string{"y"})}},
	} {
		b, err := onnx.Encode(g)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadBytes(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidModel) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrInput) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		info := m.Info()
		if info.MACs > 1e7 || info.PeakActivationBytes > 1<<24 || info.PeakActivationBytes == 0 {
			return
		}
		in := map[string]*ir.Tensor{}
		for _, vi := range m.Inputs() {
			shape := make(ir.Shape, len(vi.Shape))
			for i, d := range vi.Shape {
				shape[i] = max(d, 1)
			}
			if !vi.DType.Supported() || vi.DType != ir.Float32 || shape.Size() > 1<<20 {
				return
			}
			in[vi.Name] = ir.NewTensor(vi.DType, shape)
		}
		s, err := m.NewSession(Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, _ = s.RunIR(in)
	})
}
