package runtime

import (
	"math/rand/v2"

	"github.com/edgeml/edge/runtime/ir"
)

// Graph construction helpers for tests.

func fvi(name string, shape ...int) ir.ValueInfo {
	v := ir.ValueInfo{Name: name, DType: ir.Float32, Shape: shape}
	for i, d := range shape {
		if d < 0 {
			if v.DimNames == nil {
				v.DimNames = make([]string, len(shape))
			}
			v.DimNames[i] = "N"
		}
	}
	return v
}

func nd(op, name string, in, out []string, attrs ...any) *ir.Node {
	n := &ir.Node{Name: name, OpType: op, Inputs: in, Outputs: out, Attrs: map[string]*ir.Attr{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		key := attrs[i].(string)
		switch v := attrs[i+1].(type) {
		case int:
			n.Attrs[key] = &ir.Attr{Type: ir.AttrInt, I: int64(v)}
		case float32:
			n.Attrs[key] = &ir.Attr{Type: ir.AttrFloat, F: v}
		case string:
			n.Attrs[key] = &ir.Attr{Type: ir.AttrString, S: v}
		case []int64:
			n.Attrs[key] = &ir.Attr{Type: ir.AttrInts, Ints: v}
		case *ir.Tensor:
			n.Attrs[key] = &ir.Attr{Type: ir.AttrTensor, T: v}
		default:
			panic("nd: attribute type")
		}
	}
	return n
}

func randTensor(rng *rand.Rand, shape ...int) *ir.Tensor {
	return randomInput(rng, ir.Shape(shape))
}

// positive returns a tensor of values in [0.5, 1.5) (BN variances, scales).
func positive(rng *rand.Rand, n int) *ir.Tensor {
	t := ir.NewTensor(ir.Float32, ir.Shape{n})
	for i := range t.F32 {
		t.F32[i] = 0.5 + rng.Float32()
	}
	return t
}

func i64(v ...int64) *ir.Tensor {
	return &ir.Tensor{DType: ir.Int64, Shape: ir.Shape{len(v)}, I64: v}
}

// convBNGraph is x → Conv → BatchNormalization → Relu → y, with an extra
// consumer of the conv output when shared is set.
func convBNGraph(rng *rand.Rand, shared bool) *ir.Graph {
	g := &ir.Graph{
		Opset:  13,
		Inputs: []ir.ValueInfo{fvi("x", -1, 3, 8, 8)},
		Initializers: map[string]*ir.Tensor{
			"w": randTensor(rng, 4, 3, 3, 3), "b": randTensor(rng, 4),
			"scale": positive(rng, 4), "bias": randTensor(rng, 4), "mean": randTensor(rng, 4), "var": positive(rng, 4),
		},
		Nodes: []*ir.Node{
			nd("Conv", "conv", []string{"x", "w", "b"}, []string{"c"}, "pads", []int64{1, 1, 1, 1}),
			nd("BatchNormalization", "bn", []string{"c", "scale", "bias", "mean", "var"}, []string{"n"}, "epsilon", float32(1e-3)),
			nd("Relu", "relu", []string{"n"}, []string{"y"}),
		},
		Outputs: []ir.ValueInfo{fvi("y", -1, 4, 8, 8)},
	}
	if shared {
		g.Outputs = append(g.Outputs, fvi("c", -1, 4, 8, 8))
	}
	return g
}

func newTestRNG() *rand.Rand { return rand.New(rand.NewPCG(1, 1)) }
