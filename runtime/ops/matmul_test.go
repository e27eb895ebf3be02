package ops

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

func TestMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		a, b, out ir.Shape
	}{
		{ir.Shape{5}, ir.Shape{5}, ir.Shape{}},
		{ir.Shape{5}, ir.Shape{5, 3}, ir.Shape{3}},
		{ir.Shape{4, 5}, ir.Shape{5}, ir.Shape{4}},
		{ir.Shape{7, 5}, ir.Shape{5, 9}, ir.Shape{7, 9}},
		{ir.Shape{3, 7, 5}, ir.Shape{5, 9}, ir.Shape{3, 7, 9}},
		{ir.Shape{7, 5}, ir.Shape{3, 5, 9}, ir.Shape{3, 7, 9}},
		{ir.Shape{2, 1, 3, 4}, ir.Shape{5, 4, 6}, ir.Shape{2, 5, 3, 6}},
		{ir.Shape{2, 3, 3, 4}, ir.Shape{2, 3, 4, 2}, ir.Shape{2, 3, 3, 2}},
		{ir.Shape{1, 3, 4}, ir.Shape{2, 4, 5}, ir.Shape{2, 3, 5}},
		{ir.Shape{2, 3, 5}, ir.Shape{5}, ir.Shape{2, 3}},
		{ir.Shape{5}, ir.Shape{2, 5, 3}, ir.Shape{2, 3}},
		{ir.Shape{0, 3, 4}, ir.Shape{4, 5}, ir.Shape{0, 3, 5}},
		{ir.Shape{3, 0}, ir.Shape{0, 5}, ir.Shape{3, 5}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v×%v", tc.a, tc.b), func(t *testing.T) {
			a, b := h3Rand(rng, ir.Float32, tc.a), h3Rand(rng, ir.Float32, tc.b)
			var outs []*ir.Tensor
			var op Op
			for _, konst := range []bool{true, false} { // packed constant B, and not
				o, p, err := h2Exec(h3MakeNode("MatMul", 2, 1, nil), 13, []*ir.Tensor{a, b}, []bool{false, konst}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if outs != nil {
					h2Check(t, o[0], outs[0].Shape, h2F64(outs[0].F32), 1e-5, 1e-5)
				}
				outs, op = o, p
			}
			// Reference: promote 1-D operands, broadcast batch dimensions.
			a2, b2 := tc.a, tc.b
			if len(a2) == 1 {
				a2 = ir.Shape{1, a2[0]}
			}
			if len(b2) == 1 {
				b2 = ir.Shape{b2[0], 1}
			}
			m, k, n := a2[len(a2)-2], a2[len(a2)-1], b2[len(b2)-1]
			ab, bb := a2[:len(a2)-2], b2[:len(b2)-2]
			rank := max(len(ab), len(bb))
			batch := make(ir.Shape, rank)
			for i := range batch {
				da, db := 1, 1
				if j := i - rank + len(ab); j >= 0 {
					da = ab[j]
				}
				if j := i - rank + len(bb); j >= 0 {
					db = bb[j]
				}
				batch[i] = max(da, db)
				if da == 0 || db == 0 {
					batch[i] = 0
				}
			}
			want := make([]float64, 0, tc.out.Size())
			for bi := 0; bi < batch.Size(); bi++ {
				idx := h3Unravel(bi, batch)
				sub := func(own ir.Shape) int {
					off := 0
					for d, v := range own {
						x := idx[d+rank-len(own)]
						if v == 1 {
							x = 0
						}
						off = off*v + x
					}
					return off
				}
				ao, bo := sub(ab)*m*k, sub(bb)*k*n
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var s float64
						for l := 0; l < k; l++ {
							s += float64(a.F32[ao+i*k+l]) * float64(b.F32[bo+l*n+j])
						}
						want = append(want, s)
					}
				}
			}
			h2Check(t, outs[0], tc.out, want, 1e-5, 1e-5)
			if got := op.(Coster).MACs(); got != int64(batch.Size()*m*n*k) {
				t.Errorf("MACs %d, want %d", got, batch.Size()*m*n*k)
			}
		})
	}
}

func TestMatMulErrors(t *testing.T) {
	f32 := func(s ...int) *ir.Tensor { return ir.NewTensor(ir.Float32, ir.Shape(s)) }
	cases := []struct {
		name string
		a, b *ir.Tensor
		want string
	}{
		{"inner", f32(3, 4), f32(5, 2), "inner dimensions"},
		{"1d inner", f32(4), f32(5), "inner dimensions"},
		{"batch", f32(2, 3, 4), f32(3, 4, 5), "do not broadcast"},
		{"scalar", f32(), f32(3), "rank"},
		{"int", ir.NewTensor(ir.Int64, ir.Shape{2, 2}), f32(2, 2), "dtype"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := h2Exec(h3MakeNode("MatMul", 2, 1, nil), 13, []*ir.Tensor{tc.a, tc.b}, nil, nil)
			h3MustErr(t, err, tc.name)
			if !strings.Contains(err.Error(), "(MatMul)") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks the op or %q", err, tc.want)
			}
		})
	}
}

func h2F64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
