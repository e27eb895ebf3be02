package ir

import (
	"fmt"
	"strings"
)

// DType is an element type. The values equal ONNX TensorProto.DataType.
type DType int32

// Element types. Only Float32, Int64, Int32 and Bool are executed; Float16
// and Float64 initializers are converted to Float32 at import.
const (
	Undefined DType = 0
	Float32   DType = 1
	Uint8     DType = 2
	Int8      DType = 3
	Int32     DType = 6
	Int64     DType = 7
	String    DType = 8
	Bool      DType = 9
	Float16   DType = 10
	Float64   DType = 11
)

// String returns the ONNX name of the type.
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case String:
		return "string"
	case Bool:
		return "bool"
	case Float16:
		return "float16"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Supported reports whether tensors of this type can be executed.
func (d DType) Supported() bool {
	return d == Float32 || d == Int64 || d == Int32 || d == Bool
}

// Tensor is a dense, row-major (C order) host tensor. Exactly one of the
// data slices matching DType is set; its length equals Shape.Size(). A
// scalar has an empty shape and one element.
type Tensor struct {
	DType DType
	Shape Shape
	F32   []float32
	I64   []int64
	I32   []int32
	Bool  []bool
}

// NewTensor allocates a zeroed tensor.
func NewTensor(dt DType, shape Shape) *Tensor {
	t := &Tensor{DType: dt, Shape: shape.Clone()}
	n := shape.Size()
	switch dt {
	case Float32:
		t.F32 = make([]float32, n)
	case Int64:
		t.I64 = make([]int64, n)
	case Int32:
		t.I32 = make([]int32, n)
	case Bool:
		t.Bool = make([]bool, n)
	default:
		panic("ir: NewTensor of unsupported dtype " + dt.String())
	}
	return t
}

// Len is the number of elements held.
func (t *Tensor) Len() int {
	switch t.DType {
	case Float32:
		return len(t.F32)
	case Int64:
		return len(t.I64)
	case Int32:
		return len(t.I32)
	case Bool:
		return len(t.Bool)
	}
	return 0
}

// Ints returns the elements of an integer tensor as []int64 (a copy for
// Int32, the backing slice for Int64). It returns false for other types.
func (t *Tensor) Ints() ([]int64, bool) {
	switch t.DType {
	case Int64:
		return t.I64, true
	case Int32:
		out := make([]int64, len(t.I32))
		for i, v := range t.I32 {
			out[i] = int64(v)
		}
		return out, true
	}
	return nil, false
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{DType: t.DType, Shape: t.Shape.Clone()}
	if t.F32 != nil {
		c.F32 = append([]float32(nil), t.F32...)
	}
	if t.I64 != nil {
		c.I64 = append([]int64(nil), t.I64...)
	}
	if t.I32 != nil {
		c.I32 = append([]int32(nil), t.I32...)
	}
	if t.Bool != nil {
		c.Bool = append([]bool(nil), t.Bool...)
	}
	return c
}

// View returns a tensor sharing t's data with another shape of equal size.
func (t *Tensor) View(shape Shape) *Tensor {
	if shape.Size() != t.Shape.Size() {
		panic("ir: View changes the element count")
	}
	c := *t
	c.Shape = shape.Clone()
	return &c
}

// Bytes is the storage size of the data in bytes.
func (t *Tensor) Bytes() int64 { return int64(t.Len()) * int64(t.DType.Size()) }

// Size is the size of one element in bytes.
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Int64, Float64:
		return 8
	case Bool, Uint8, Int8:
		return 1
	case Float16:
		return 2
	}
	return 0
}

// Shape is a list of dimensions. All dimensions are known (>= 0) once a
// model is planned.
type Shape []int

// Size is the number of elements (1 for a scalar).
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Clone copies the shape.
func (s Shape) Clone() Shape {
	if s == nil {
		return Shape{}
	}
	return append(Shape{}, s...)
}

// Equal reports whether both shapes have the same dimensions.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// String formats the shape as [1×3×224×224].
func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, "×") + "]"
}
