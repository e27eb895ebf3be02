package ops

import (
	"errors"
	"fmt"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

func TestConstant(t *testing.T) {
	tensor := h3F32(ir.Shape{2, 2}, 1, 2, 3, 4)
	cases := []struct {
		attr string
		a    *ir.Attr
		want *ir.Tensor
	}{
		{"value", aTensor(tensor), tensor},
		{"value", aTensor(h3I64(5, 6)), h3I64(5, 6)},
		{"value_float", aFloat(2.5), h3F32(ir.Shape{}, 2.5)},
		{"value_floats", &ir.Attr{Type: ir.AttrFloats, Floats: []float32{1, -1}}, h3F32(ir.Shape{2}, 1, -1)},
		{"value_int", aInt(9), func() *ir.Tensor { t := ir.NewTensor(ir.Int64, ir.Shape{}); t.I64[0] = 9; return t }()},
		{"value_ints", aInts(3, 4, 5), h3I64(3, 4, 5)},
	}
	for _, c := range cases {
		t.Run(c.attr, func(t *testing.T) {
			outs, outv, err := h3Exec(h3MakeNode("Constant", 0, 1, map[string]*ir.Attr{c.attr: c.a}), 13, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if outv[0].Const == nil {
				t.Fatal("Plan did not return a Const")
			}
			if err := h3Compare(c.want, outv[0].Const); err != nil {
				t.Fatal(err)
			}
			if err := h3Compare(c.want, outs[0]); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, attrs := range []map[string]*ir.Attr{
		{"sparse_value": {Type: ir.AttrType(11)}},
		{"value_string": aString("x")},
	} {
		_, err := New(h3MakeNode("Constant", 0, 1, attrs), 13)
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%v: err = %v, want ErrUnsupported", attrs, err)
		}
	}
	_, err := New(h3MakeNode("Constant", 0, 1, map[string]*ir.Attr{"value_int": aInt(1), "value_float": aFloat(1)}), 13)
	h3MustErr(t, err, "two values")
	_, err = New(h3MakeNode("Constant", 0, 1, nil), 13)
	h3MustErr(t, err, "no value")
}

func TestConstantOfShape(t *testing.T) {
	one := func(dt ir.DType, v float64) *ir.Tensor {
		t := ir.NewTensor(dt, ir.Shape{1})
		switch dt {
		case ir.Float32:
			t.F32[0] = float32(v)
		case ir.Int64:
			t.I64[0] = int64(v)
		case ir.Int32:
			t.I32[0] = int32(v)
		case ir.Bool:
			t.Bool[0] = v != 0
		}
		return t
	}
	for _, shape := range [][]int64{{}, {3}, {2, 0, 4}, {2, 3, 4}} {
		for _, value := range []*ir.Tensor{nil, one(ir.Float32, 1.5), one(ir.Int64, -2), one(ir.Int32, 7), one(ir.Bool, 1)} {
			t.Run(fmt.Sprintf("%v/%v", shape, value), func(t *testing.T) {
				attrs := map[string]*ir.Attr{}
				wantDT, wantV := ir.Float32, 0.0
				if value != nil {
					attrs["value"] = aTensor(value)
					wantDT, wantV = value.DType, h3At(value, 0)
				}
				outs, outv, err := h3Exec(h3MakeNode("ConstantOfShape", 1, 1, attrs), 9, []*ir.Tensor{h3I64(shape...)}, []bool{true})
				if err != nil {
					t.Fatal(err)
				}
				want := make(ir.Shape, len(shape))
				for i, d := range shape {
					want[i] = int(d)
				}
				for _, y := range []*ir.Tensor{outv[0].Const, outs[0]} {
					if y == nil || y.DType != wantDT || !y.Shape.Equal(want) {
						t.Fatalf("output %v, want %v%v", y, wantDT, want)
					}
					for i := 0; i < y.Len(); i++ {
						if h3At(y, i) != wantV {
							t.Fatalf("[%d] = %v, want %v", i, h3At(y, i), wantV)
						}
					}
				}
			})
		}
	}
	_, _, err := h3Exec(h3MakeNode("ConstantOfShape", 1, 1, nil), 9, []*ir.Tensor{h3I64(2, -1)}, []bool{true})
	h3MustErr(t, err, "negative dimension")
	_, _, err = h3Exec(h3MakeNode("ConstantOfShape", 1, 1, nil), 9, []*ir.Tensor{h3I64(2)}, nil)
	h3MustErr(t, err, "shape not constant")
	_, err = New(h3MakeNode("ConstantOfShape", 1, 1, map[string]*ir.Attr{"value": aTensor(h3I64(1, 2))}), 9)
	h3MustErr(t, err, "value with two elements")
}
