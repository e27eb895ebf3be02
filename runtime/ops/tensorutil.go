package ops

import (
	"fmt"

	"github.com/edgeml/edge/runtime/ir"
)

// Helpers shared by the data-movement and elementwise operators.

// nodeErrf formats an error about node n: ops: node "name" (Op): ...
func nodeErrf(n *ir.Node, format string, args ...any) error {
	return fmt.Errorf("ops: node %q (%s): %s", n.Name, n.OpType, fmt.Sprintf(format, args...))
}

// unsupportedf is nodeErrf wrapping ErrUnsupported.
func unsupportedf(n *ir.Node, format string, args ...any) error {
	return fmt.Errorf("%w: node %q (%s): %s", ErrUnsupported, n.Name, n.OpType, fmt.Sprintf(format, args...))
}

// normAxis maps axis in [-rank, rank) to [0, rank).
func normAxis(n *ir.Node, what string, axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, nodeErrf(n, "%s %d out of range for rank %d", what, axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// present reports whether optional input i was given.
func present(in []Value, i int) bool {
	return i < len(in) && in[i].DType != ir.Undefined
}

// presentT reports whether optional run-time input i was given.
func presentT(in []*ir.Tensor, i int) bool {
	return i < len(in) && in[i] != nil
}

// needInputs checks that inputs 0..k-1 are given.
func needInputs(n *ir.Node, in []Value, k int) error {
	for i := 0; i < k; i++ {
		if !present(in, i) {
			return nodeErrf(n, "input %d is missing (%d required)", i, k)
		}
	}
	return nil
}

// needDType checks that input i has one of the listed types.
func needDType(n *ir.Node, in []Value, i int, allowed ...ir.DType) error {
	for _, d := range allowed {
		if in[i].DType == d {
			return nil
		}
	}
	return unsupportedf(n, "input %d has dtype %v; supported: %v", i, in[i].DType, allowed)
}

// constInts returns input i's constant integer values; it fails when the
// input is absent, not known at plan time or not an integer tensor.
func constInts(n *ir.Node, in []Value, i int, what string) ([]int64, error) {
	if !present(in, i) {
		return nil, nodeErrf(n, "input %d (%s) is missing", i, what)
	}
	c := in[i].Const
	if c == nil {
		return nil, unsupportedf(n, "input %d (%s) must be a constant known when the model is planned (an initializer or computable from shapes)", i, what)
	}
	v, ok := c.Ints()
	if !ok {
		return nil, nodeErrf(n, "input %d (%s) has dtype %v, want int64 or int32", i, what, c.DType)
	}
	return append([]int64(nil), v...), nil
}

// elem is the set of Go element types of executable tensors.
type elem interface {
	float32 | int64 | int32 | bool
}

// numeric is the subset on which arithmetic is defined.
type numeric interface {
	float32 | int64 | int32
}

// dataOf returns t's backing slice as []T; T must match t.DType.
func dataOf[T elem](t *ir.Tensor) []T {
	var z T
	switch any(z).(type) {
	case float32:
		return any(t.F32).([]T)
	case int64:
		return any(t.I64).([]T)
	case int32:
		return any(t.I32).([]T)
	default:
		return any(t.Bool).([]T)
	}
}

// strides returns row-major element strides of shape.
func strides(shape ir.Shape) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// copyTensor copies src's data into dst (same dtype and size).
func copyTensor(dst, src *ir.Tensor) error {
	if dst.DType != src.DType || dst.Len() != src.Len() {
		return fmt.Errorf("ops: internal: copy of %v%v into %v%v", src.DType, src.Shape, dst.DType, dst.Shape)
	}
	switch src.DType {
	case ir.Float32:
		copy(dst.F32, src.F32)
	case ir.Int64:
		copy(dst.I64, src.I64)
	case ir.Int32:
		copy(dst.I32, src.I32)
	case ir.Bool:
		copy(dst.Bool, src.Bool)
	}
	return nil
}

// checkRun verifies the run-time operands against what Run expects.
func checkRun(n *ir.Node, in []*ir.Tensor, nin int, out []*ir.Tensor, nout int) error {
	for i := 0; i < nin; i++ {
		if i >= len(in) || in[i] == nil {
			return nodeErrf(n, "run: input %d missing", i)
		}
	}
	if len(out) < nout {
		return nodeErrf(n, "run: %d outputs given, want %d", len(out), nout)
	}
	return nil
}

// maxElements bounds the size of a tensor whose shape an operator
// computes from values (Reshape, ConstantOfShape, Pad): 2^31 elements.
const maxElements int64 = 1 << 31

// sizeOK checks that a computed shape has no negative dimension and at
// most maxElements elements (each dimension included, so that a zero
// dimension cannot hide a huge one).
func sizeOK(n *ir.Node, s ir.Shape) error {
	total := int64(1)
	for _, d := range s {
		if d < 0 {
			return nodeErrf(n, "output shape %v has a negative dimension", s)
		}
		if int64(d) > maxElements || (d > 0 && total > maxElements/int64(d)) {
			return nodeErrf(n, "output shape %v exceeds %d elements", s, maxElements)
		}
		if d > 0 {
			total *= int64(d)
		}
	}
	return nil
}
