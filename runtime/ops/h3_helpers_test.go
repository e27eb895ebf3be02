package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

// Test helpers for the operators of activation.go … constant.go.

// h3Node builds a node with the given inputs ("" = omitted) and attributes.
func h3MakeNode(op string, nin, nout int, attrs map[string]*ir.Attr) *ir.Node {
	n := &ir.Node{Name: "n1", OpType: op, Attrs: attrs}
	if n.Attrs == nil {
		n.Attrs = map[string]*ir.Attr{}
	}
	for i := 0; i < nin; i++ {
		n.Inputs = append(n.Inputs, "x"+string(rune('0'+i)))
	}
	for i := 0; i < nout; i++ {
		n.Outputs = append(n.Outputs, "y"+string(rune('0'+i)))
	}
	return n
}

func aInts(v ...int64) *ir.Attr     { return &ir.Attr{Type: ir.AttrInts, Ints: v} }
func aInt(v int64) *ir.Attr         { return &ir.Attr{Type: ir.AttrInt, I: v} }
func aFloat(v float32) *ir.Attr     { return &ir.Attr{Type: ir.AttrFloat, F: v} }
func aString(v string) *ir.Attr     { return &ir.Attr{Type: ir.AttrString, S: v} }
func aTensor(t *ir.Tensor) *ir.Attr { return &ir.Attr{Type: ir.AttrTensor, T: t} }

// h3Exec creates, plans and runs node n (see execNode).
func h3Exec(n *ir.Node, opset int, in []*ir.Tensor, konst []bool) ([]*ir.Tensor, []Value, error) {
	outs, outv, _, err := execNode(n, opset, in, konst, nil)
	return outs, outv, err
}

type h3Err string

func (e h3Err) Error() string { return string(e) }

const errInputModified = h3Err("input modified by Run")

func h3Rand(rng *rand.Rand, dt ir.DType, shape ir.Shape) *ir.Tensor {
	t := ir.NewTensor(dt, shape)
	for i := 0; i < t.Len(); i++ {
		switch dt {
		case ir.Float32:
			t.F32[i] = float32(rng.NormFloat64() * 3)
		case ir.Int64:
			t.I64[i] = rng.Int64N(41) - 20
		case ir.Int32:
			t.I32[i] = int32(rng.IntN(41) - 20)
		case ir.Bool:
			t.Bool[i] = rng.IntN(2) == 1
		}
	}
	return t
}

func h3I64(v ...int64) *ir.Tensor {
	t := ir.NewTensor(ir.Int64, ir.Shape{len(v)})
	copy(t.I64, v)
	return t
}

func h3F32(shape ir.Shape, v ...float32) *ir.Tensor {
	t := ir.NewTensor(ir.Float32, shape)
	copy(t.F32, v)
	return t
}

// h3At reads element i of any tensor as float64 (bool as 0/1).
func h3At(t *ir.Tensor, i int) float64 {
	switch t.DType {
	case ir.Float32:
		return float64(t.F32[i])
	case ir.Int64:
		return float64(t.I64[i])
	case ir.Int32:
		return float64(t.I32[i])
	case ir.Bool:
		if t.Bool[i] {
			return 1
		}
	}
	return 0
}

// h3Unravel converts a flat index into a multi-index of shape.
func h3Unravel(i int, shape ir.Shape) []int {
	idx := make([]int, len(shape))
	for k := len(shape) - 1; k >= 0; k-- {
		if shape[k] > 0 {
			idx[k] = i % shape[k]
			i /= shape[k]
		}
	}
	return idx
}

// h3Ravel is the inverse of h3Unravel.
func h3Ravel(idx []int, shape ir.Shape) int {
	off := 0
	for k, d := range shape {
		off = off*d + idx[k]
	}
	return off
}

func h3MustErr(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: want an error, got none", what)
	}
}
