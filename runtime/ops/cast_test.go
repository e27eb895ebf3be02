package ops

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

func TestCast(t *testing.T) {
	f := h3F32(ir.Shape{7}, -2.7, -0.5, 0, 0.5, 1.9, 3, -1e3)
	i64 := h3I64(-3, 0, 1, 2, 40000, -1, 7)
	i32 := ir.NewTensor(ir.Int32, ir.Shape{7})
	copy(i32.I32, []int32{-3, 0, 1, 2, 40000, -1, 7})
	b := ir.NewTensor(ir.Bool, ir.Shape{7})
	copy(b.Bool, []bool{true, false, true, true, false, false, true})
	ref := func(v float64, from, to ir.DType) float64 {
		switch to {
		case ir.Bool:
			if v != 0 {
				return 1
			}
			return 0
		case ir.Int64, ir.Int32:
			return math.Trunc(v)
		}
		return v
	}
	for _, x := range []*ir.Tensor{f, i64, i32, b} {
		for _, to := range []ir.DType{ir.Float32, ir.Int64, ir.Int32, ir.Bool} {
			t.Run(fmt.Sprintf("%v-to-%v", x.DType, to), func(t *testing.T) {
				outs, outv, err := h3Exec(h3MakeNode("Cast", 1, 1, map[string]*ir.Attr{"to": aInt(int64(to))}), 13, []*ir.Tensor{x}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if outv[0].DType != to || outs[0].DType != to {
					t.Fatalf("output dtype %v, want %v", outv[0].DType, to)
				}
				for i := 0; i < x.Len(); i++ {
					if g, w := h3At(outs[0], i), ref(h3At(x, i), x.DType, to); g != w {
						t.Fatalf("[%d] %v → %v, want %v", i, h3At(x, i), g, w)
					}
				}
			})
		}
	}
	for _, to := range []ir.DType{ir.Float16, ir.Float64, ir.String, ir.Uint8} {
		_, err := New(h3MakeNode("Cast", 1, 1, map[string]*ir.Attr{"to": aInt(int64(to))}), 13)
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("cast to %v: err = %v, want ErrUnsupported", to, err)
		}
	}
	_, err := New(h3MakeNode("Cast", 1, 1, nil), 13)
	h3MustErr(t, err, "missing to")
}
