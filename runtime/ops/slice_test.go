package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

// refSliceAxis lists the indices Python's range-based slicing selects
// for one axis of size d, after the ONNX clamping rules.
func refSliceAxis(d int, start, end, step int64) []int {
	D := int64(d)
	if start < 0 {
		start += D
	}
	if end < 0 {
		end += D
	}
	var out []int
	if step > 0 {
		start = min(max(start, 0), D)
		end = min(max(end, 0), D)
		for i := start; i < end; i += step {
			out = append(out, int(i))
		}
	} else {
		start = min(max(start, 0), D-1)
		end = min(max(end, -1), D-1)
		for i := start; i > end; i += step {
			out = append(out, int(i))
		}
	}
	return out
}

func TestSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	big, small := int64(math.MaxInt64), int64(math.MinInt64)
	shape := ir.Shape{5, 7, 4}
	for trial := 0; trial < 300; trial++ {
		naxes := 1 + rng.IntN(3)
		axes := rng.Perm(3)[:naxes]
		var starts, ends, steps, ax []int64
		for _, a := range axes {
			d := int64(shape[a])
			pick := func() int64 {
				switch rng.IntN(8) {
				case 0:
					return big
				case 1:
					return small
				default:
					return rng.Int64N(2*d+5) - d - 2
				}
			}
			starts, ends = append(starts, pick()), append(ends, pick())
			st := rng.Int64N(7) - 3
			if st == 0 {
				st = 1
			}
			steps = append(steps, st)
			axA := int64(a)
			if rng.IntN(2) == 0 {
				axA -= 3
			}
			ax = append(ax, axA)
		}
		for _, opset := range []int{9, 13} {
			if opset < 10 {
				unit := true
				for _, s := range steps {
					unit = unit && s == 1
				}
				if !unit {
					continue
				}
			}
			t.Run(fmt.Sprintf("opset%d/starts%v/ends%v/axes%v/steps%v", opset, starts, ends, ax, steps), func(t *testing.T) {
				x := h3Rand(rng, ir.Int32, shape)
				var in []*ir.Tensor
				attrs := map[string]*ir.Attr{}
				if opset < 10 {
					attrs["starts"], attrs["ends"], attrs["axes"] = aInts(starts...), aInts(ends...), aInts(ax...)
					in = []*ir.Tensor{x}
				} else {
					in = []*ir.Tensor{x, h3I64(starts...), h3I64(ends...), h3I64(ax...), h3I64(steps...)}
				}
				outs, _, err := h3Exec(h3MakeNode("Slice", len(in), 1, attrs), opset, in, []bool{false, true, true, true, true})
				if err != nil {
					t.Fatal(err)
				}
				sel := make([][]int, 3)
				for k := range sel {
					for i := 0; i < shape[k]; i++ {
						sel[k] = append(sel[k], i)
					}
				}
				for i, a := range ax {
					if a < 0 {
						a += 3
					}
					sel[a] = refSliceAxis(shape[a], starts[i], ends[i], steps[i])
				}
				want := ir.Shape{len(sel[0]), len(sel[1]), len(sel[2])}
				y := outs[0]
				if !y.Shape.Equal(want) {
					t.Fatalf("shape %v, want %v", y.Shape, want)
				}
				for i := 0; i < y.Len(); i++ {
					o := h3Unravel(i, want)
					src := []int{sel[0][o[0]], sel[1][o[1]], sel[2][o[2]]}
					if g, w := h3At(y, i), h3At(x, h3Ravel(src, shape)); g != w {
						t.Fatalf("%v = %v, want %v", o, g, w)
					}
				}
			})
		}
	}
}

func TestSliceDefaultsAndErrors(t *testing.T) {
	x := ir.NewTensor(ir.Float32, ir.Shape{4, 6})
	for i := range x.F32 {
		x.F32[i] = float32(i)
	}
	// Default axes are 0..len(starts)-1 and default steps 1.
	outs, _, err := h3Exec(h3MakeNode("Slice", 3, 1, nil), 13, []*ir.Tensor{x, h3I64(1, 2), h3I64(3, 5)}, []bool{false, true, true})
	if err != nil {
		t.Fatal(err)
	}
	want := h3F32(ir.Shape{2, 3}, 8, 9, 10, 14, 15, 16)
	if err := h3Compare(want, outs[0]); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		in   []*ir.Tensor
	}{
		{"step 0", []*ir.Tensor{x, h3I64(0), h3I64(2), h3I64(0), h3I64(0)}},
		{"repeated axis", []*ir.Tensor{x, h3I64(0, 0), h3I64(2, 2), h3I64(1, -1)}},
		{"axis out of range", []*ir.Tensor{x, h3I64(0), h3I64(2), h3I64(2)}},
		{"length mismatch", []*ir.Tensor{x, h3I64(0, 1), h3I64(2)}},
	}
	for _, b := range bad {
		_, _, err := h3Exec(h3MakeNode("Slice", len(b.in), 1, nil), 13, b.in, []bool{false, true, true, true, true})
		h3MustErr(t, err, b.name)
	}
	_, _, err = h3Exec(h3MakeNode("Slice", 3, 1, nil), 13, []*ir.Tensor{x, h3I64(0), h3I64(2)}, nil)
	h3MustErr(t, err, "starts not constant")
}
