package runtime

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/edgeml/edge/runtime/ir"
)

// Run runs the model on gorgonia dense tensors (float32, int64, int32 or
// bool; views are materialized) and returns the graph outputs. The inputs'
// backing arrays are read, never written, and may be shared with Run.
func (s *Session) Run(in map[string]tensor.Tensor) (map[string]tensor.Tensor, error) {
	irIn := make(map[string]*ir.Tensor, len(in))
	for name, t := range in {
		it, err := FromTensor(t)
		if err != nil {
			return nil, tagged(fmt.Sprintf("runtime: input %q: %v", name, err), ErrInput)
		}
		irIn[name] = it
	}
	out, err := s.RunIR(irIn)
	if err != nil {
		return nil, err
	}
	res := make(map[string]tensor.Tensor, len(out))
	for name, t := range out {
		res[name] = ToTensor(t)
	}
	return res, nil
}

// FromTensor converts a gorgonia tensor to an IR tensor sharing its data
// when it is a contiguous *tensor.Dense.
func FromTensor(t tensor.Tensor) (*ir.Tensor, error) {
	if t == nil {
		return nil, fmt.Errorf("nil tensor")
	}
	d, ok := t.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("%T is not a *tensor.Dense", t)
	}
	if d.IsView() {
		m, ok := d.Materialize().(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("cannot materialize the view")
		}
		d = m
	}
	shape := ir.Shape(append([]int{}, d.Shape()...))
	n := shape.Size()
	out := &ir.Tensor{Shape: shape}
	switch v := d.Data().(type) {
	case []float32:
		out.DType, out.F32 = ir.Float32, v
	case []int64:
		out.DType, out.I64 = ir.Int64, v
	case []int32:
		out.DType, out.I32 = ir.Int32, v
	case []bool:
		out.DType, out.Bool = ir.Bool, v
	case float32:
		out.DType, out.F32 = ir.Float32, []float32{v}
	case int64:
		out.DType, out.I64 = ir.Int64, []int64{v}
	case int32:
		out.DType, out.I32 = ir.Int32, []int32{v}
	case bool:
		out.DType, out.Bool = ir.Bool, []bool{v}
	default:
		return nil, fmt.Errorf("element type %v is not supported (float32, int64, int32, bool)", d.Dtype())
	}
	if out.Len() < n {
		return nil, fmt.Errorf("holds %d elements, its shape %v needs %d", out.Len(), shape, n)
	}
	switch out.DType {
	case ir.Float32:
		out.F32 = out.F32[:n]
	case ir.Int64:
		out.I64 = out.I64[:n]
	case ir.Int32:
		out.I32 = out.I32[:n]
	case ir.Bool:
		out.Bool = out.Bool[:n]
	}
	return out, nil
}

// ToTensor wraps an IR tensor's data in a gorgonia dense tensor (no copy).
func ToTensor(t *ir.Tensor) tensor.Tensor {
	if len(t.Shape) == 0 {
		switch t.DType {
		case ir.Float32:
			return tensor.New(tensor.FromScalar(t.F32[0]))
		case ir.Int64:
			return tensor.New(tensor.FromScalar(t.I64[0]))
		case ir.Int32:
			return tensor.New(tensor.FromScalar(t.I32[0]))
		default:
			return tensor.New(tensor.FromScalar(t.Bool[0]))
		}
	}
	var backing any
	switch t.DType {
	case ir.Float32:
		backing = t.F32
	case ir.Int64:
		backing = t.I64
	case ir.Int32:
		backing = t.I32
	default:
		backing = t.Bool
	}
	return tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(backing))
}
