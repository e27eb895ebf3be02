package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

// refSoftmax normalises over the dimensions [from, to) of shape.
func refSoftmax(x *ir.Tensor, from, to int) []float64 {
	s := x.Shape
	outer, mid, inner := s[:from].Size(), s[from:to].Size(), s[to:].Size()
	res := make([]float64, x.Len())
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			m := math.Inf(-1)
			for i := 0; i < mid; i++ {
				m = math.Max(m, float64(x.F32[(o*mid+i)*inner+j]))
			}
			var sum float64
			for i := 0; i < mid; i++ {
				sum += math.Exp(float64(x.F32[(o*mid+i)*inner+j]) - m)
			}
			for i := 0; i < mid; i++ {
				k := (o*mid+i)*inner + j
				res[k] = math.Exp(float64(x.F32[k])-m) / sum
			}
		}
	}
	return res
}

func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, opset := range []int{1, 11, 13} {
		for _, shape := range []ir.Shape{{5}, {3, 7}, {2, 3, 5}, {2, 1, 4, 9}} {
			r := len(shape)
			axes := []int64{}
			for a := -r; a < r; a++ {
				axes = append(axes, int64(a))
			}
			axes = append(axes, 999) // default
			for _, axis := range axes {
				t.Run(fmt.Sprintf("opset%d/%v/axis%d", opset, shape, axis), func(t *testing.T) {
					attrs := map[string]*ir.Attr{}
					a := axis
					if axis == 999 {
						a = 1
						if opset >= 13 {
							a = -1
						}
					} else {
						attrs["axis"] = aInt(axis)
					}
					x := h3Rand(rng, ir.Float32, shape)
					outs, _, err := h3Exec(h3MakeNode("Softmax", 1, 1, attrs), opset, []*ir.Tensor{x}, nil)
					if err != nil {
						t.Fatal(err)
					}
					if a < 0 {
						a += int64(r)
					}
					to := int(a) + 1
					if opset < 13 {
						to = r
					}
					want := refSoftmax(x, int(a), to)
					for i, w := range want {
						if g := float64(outs[0].F32[i]); math.Abs(g-w) > 1e-6 {
							t.Fatalf("[%d] = %g, want %g", i, g, w)
						}
					}
				})
			}
		}
	}
	_, _, err := h3Exec(h3MakeNode("Softmax", 1, 1, map[string]*ir.Attr{"axis": aInt(3)}), 13, []*ir.Tensor{h3F32(ir.Shape{2, 2, 2})}, nil)
	h3MustErr(t, err, "axis 3 for rank 3")
}
