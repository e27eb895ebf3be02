package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

// refPadIndex maps output index o to a source index by bouncing (reflect)
// or clamping (edge) inside the cropped range [lo, lo+m); -1 = constant.
func refPadIndex(mode string, o, pb, m, lo int) int {
	j := o - pb
	if j >= 0 && j < m {
		return lo + j
	}
	switch mode {
	case "edge":
		if j < 0 {
			return lo
		}
		return lo + m - 1
	case "reflect":
		if m == 1 {
			return lo
		}
		for j < 0 || j >= m {
			if j < 0 {
				j = -j
			}
			if j >= m {
				j = 2*(m-1) - j
			}
		}
		return lo + j
	}
	return -1
}

func TestPad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		shape ir.Shape
		pads  []int64
		axes  []int64
	}{
		{ir.Shape{5}, []int64{2, 3}, nil},
		{ir.Shape{3, 4}, []int64{0, 1, 2, 3}, nil},
		{ir.Shape{3, 4}, []int64{1, 2, 3, 2}, nil},
		{ir.Shape{2, 3, 4, 5}, []int64{0, 0, 1, 2, 0, 0, 2, 1}, nil},
		{ir.Shape{2, 3, 4, 5}, []int64{0, 0, -1, 2, 0, 0, 1, -2}, nil},
		{ir.Shape{4, 6}, []int64{-1, -2, -1, 0}, nil},
		{ir.Shape{3, 4}, []int64{7, 0, 9, 5}, nil}, // wider than the input (reflect bounces)
		{ir.Shape{2, 3, 4}, []int64{1, 2, 0, 3}, []int64{-1, 1}},
		{ir.Shape{1, 5}, []int64{2, 0}, []int64{1}},
	}
	for _, c := range cases {
		for _, mode := range []string{"constant", "reflect", "edge"} {
			for _, opset := range []int{2, 11, 18} {
				if c.axes != nil && opset < 18 {
					continue
				}
				for _, dt := range []ir.DType{ir.Float32, ir.Int64} {
					if dt != ir.Float32 && opset < 11 {
						continue
					}
					t.Run(fmt.Sprintf("%v/pads%v/axes%v/%s/opset%d/%v", c.shape, c.pads, c.axes, mode, opset, dt), func(t *testing.T) {
						x := h3Rand(rng, dt, c.shape)
						attrs := map[string]*ir.Attr{"mode": aString(mode)}
						in := []*ir.Tensor{x}
						var fill float64 = 0
						if opset < 11 {
							attrs["pads"] = aInts(c.pads...)
							attrs["value"] = aFloat(1.5)
							fill = 1.5
						} else {
							cv := ir.NewTensor(dt, ir.Shape{})
							if dt == ir.Float32 {
								cv.F32[0] = -2.5
								fill = -2.5
							} else {
								cv.I64[0] = 7
								fill = 7
							}
							in = append(in, h3I64(c.pads...), cv)
							if c.axes != nil {
								in = append(in, h3I64(c.axes...))
							}
						}
						outs, _, err := h3Exec(h3MakeNode("Pad", len(in), 1, attrs), opset, in, []bool{false, true, false, true})
						if err != nil {
							t.Fatal(err)
						}
						// Expand pads to all axes.
						r := len(c.shape)
						begin, end := make([]int, r), make([]int, r)
						axes := c.axes
						if axes == nil {
							for k := 0; k < r; k++ {
								axes = append(axes, int64(k))
							}
						}
						for i, a := range axes {
							if a < 0 {
								a += int64(r)
							}
							begin[a], end[a] = int(c.pads[i]), int(c.pads[len(axes)+i])
						}
						want := make(ir.Shape, r)
						for k := range want {
							want[k] = c.shape[k] + begin[k] + end[k]
						}
						y := outs[0]
						if !y.Shape.Equal(want) {
							t.Fatalf("shape %v, want %v", y.Shape, want)
						}
						for i := 0; i < y.Len(); i++ {
							o := h3Unravel(i, y.Shape)
							src := make([]int, r)
							inside := true
							for k := range o {
								lo, m := max(0, -begin[k]), c.shape[k]-max(0, -begin[k])-max(0, -end[k])
								src[k] = refPadIndex(mode, o[k], max(0, begin[k]), m, lo)
								inside = inside && src[k] >= 0
							}
							w := fill
							if inside {
								w = h3At(x, h3Ravel(src, c.shape))
							}
							if g := h3At(y, i); g != w {
								t.Fatalf("%v = %v, want %v", o, g, w)
							}
						}
					})
				}
			}
		}
	}
}

func TestPadErrors(t *testing.T) {
	x := ir.NewTensor(ir.Float32, ir.Shape{2, 3})
	_, err := New(h3MakeNode("Pad", 2, 1, map[string]*ir.Attr{"mode": aString("wrap")}), 19)
	h3MustErr(t, err, "wrap mode")
	_, err = New(h3MakeNode("Pad", 1, 1, nil), 2)
	h3MustErr(t, err, "missing pads attribute")
	_, _, err = h3Exec(h3MakeNode("Pad", 2, 1, nil), 13, []*ir.Tensor{x, h3I64(1, 1)}, []bool{false, true})
	h3MustErr(t, err, "wrong pads length")
	_, _, err = h3Exec(h3MakeNode("Pad", 2, 1, nil), 13, []*ir.Tensor{x, h3I64(0, 0, 0, 1)}, nil)
	h3MustErr(t, err, "pads not constant")
	_, _, err = h3Exec(h3MakeNode("Pad", 2, 1, nil), 13, []*ir.Tensor{x, h3I64(-2, 0, -1, 0)}, []bool{false, true})
	h3MustErr(t, err, "crop below zero")
	_, _, err = h3Exec(h3MakeNode("Pad", 2, 1, map[string]*ir.Attr{"mode": aString("reflect")}), 13, []*ir.Tensor{x, h3I64(-2, 0, 1, 0)}, []bool{false, true})
	h3MustErr(t, err, "reflect of an empty axis")
}
