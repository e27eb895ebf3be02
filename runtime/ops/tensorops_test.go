package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

func TestConcat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, dt := range []ir.DType{ir.Float32, ir.Int64, ir.Int32, ir.Bool} {
		for _, base := range []ir.Shape{{5}, {2, 3}, {2, 3, 4}, {1, 3, 2, 5}} {
			r := len(base)
			for axis := -r; axis < r; axis++ {
				a := axis
				if a < 0 {
					a += r
				}
				t.Run(fmt.Sprintf("%v/%v/axis%d", dt, base, axis), func(t *testing.T) {
					var in []*ir.Tensor
					for _, d := range []int{base[a], 1, 0, 3} {
						s := base.Clone()
						s[a] = d
						in = append(in, h3Rand(rng, dt, s))
					}
					outs, _, err := h3Exec(h3MakeNode("Concat", len(in), 1, map[string]*ir.Attr{"axis": aInt(int64(axis))}), 13, in, nil)
					if err != nil {
						t.Fatal(err)
					}
					y := outs[0]
					for i := 0; i < y.Len(); i++ {
						idx := h3Unravel(i, y.Shape)
						k, j := 0, idx[a]
						for j >= in[k].Shape[a] {
							j -= in[k].Shape[a]
							k++
						}
						idx[a] = j
						if w := h3At(in[k], h3Ravel(idx, in[k].Shape)); h3At(y, i) != w {
							t.Fatalf("[%d] = %v, want %v", i, h3At(y, i), w)
						}
					}
				})
			}
		}
	}
	x := ir.NewTensor(ir.Float32, ir.Shape{2, 3})
	_, _, err := h3Exec(h3MakeNode("Concat", 2, 1, map[string]*ir.Attr{"axis": aInt(2)}), 13, []*ir.Tensor{x, x}, nil)
	h3MustErr(t, err, "axis out of range")
	_, _, err = h3Exec(h3MakeNode("Concat", 2, 1, map[string]*ir.Attr{"axis": aInt(0)}), 13, []*ir.Tensor{x, ir.NewTensor(ir.Float32, ir.Shape{2, 4})}, nil)
	h3MustErr(t, err, "mismatch outside axis")
	_, err = New(h3MakeNode("Concat", 2, 1, nil), 13)
	h3MustErr(t, err, "missing axis")
}

func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	perms := map[int][][]int64{
		0: {nil},
		1: {nil, {0}},
		2: {nil, {0, 1}, {1, 0}},
		3: {nil, {0, 2, 1}, {2, 0, 1}, {1, 2, 0}},
		4: {nil, {0, 2, 3, 1}, {0, 3, 1, 2}, {3, 2, 1, 0}, {1, 0, 3, 2}},
	}
	for _, shape := range []ir.Shape{{}, {7}, {3, 5}, {2, 3, 5}, {2, 3, 4, 5}, {1, 7, 1, 3}, {2, 0, 3, 1}} {
		for _, perm := range perms[len(shape)] {
			for _, dt := range []ir.DType{ir.Float32, ir.Int32} {
				t.Run(fmt.Sprintf("%v/%v/%v", shape, perm, dt), func(t *testing.T) {
					attrs := map[string]*ir.Attr{}
					p := perm
					if p != nil {
						attrs["perm"] = aInts(p...)
					} else {
						for i := len(shape) - 1; i >= 0; i-- {
							p = append(p, int64(i))
						}
					}
					x := h3Rand(rng, dt, shape)
					outs, _, err := h3Exec(h3MakeNode("Transpose", 1, 1, attrs), 13, []*ir.Tensor{x}, nil)
					if err != nil {
						t.Fatal(err)
					}
					y := outs[0]
					for i := 0; i < y.Len(); i++ {
						idx := h3Unravel(i, y.Shape)
						src := make([]int, len(idx))
						for k, pk := range p {
							src[pk] = idx[k]
						}
						if w := h3At(x, h3Ravel(src, x.Shape)); h3At(y, i) != w {
							t.Fatalf("[%d] = %v, want %v", i, h3At(y, i), w)
						}
					}
				})
			}
		}
	}
	x := ir.NewTensor(ir.Float32, ir.Shape{2, 3})
	for _, bad := range [][]int64{{0}, {0, 0}, {0, 2}, {-1, 0}} {
		_, _, err := h3Exec(h3MakeNode("Transpose", 1, 1, map[string]*ir.Attr{"perm": aInts(bad...)}), 13, []*ir.Tensor{x}, nil)
		h3MustErr(t, err, fmt.Sprint("perm ", bad))
	}
}

func TestGather(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, shape := range []ir.Shape{{7}, {3, 5}, {2, 3, 4}} {
		r := len(shape)
		for axis := -r; axis < r; axis++ {
			a := axis
			if a < 0 {
				a += r
			}
			for _, ishape := range []ir.Shape{{}, {4}, {2, 3}} {
				for _, idt := range []ir.DType{ir.Int64, ir.Int32} {
					for _, konst := range []bool{false, true} {
						t.Run(fmt.Sprintf("%v/axis%d/%v/%v/const=%v", shape, axis, ishape, idt, konst), func(t *testing.T) {
							x := h3Rand(rng, ir.Float32, shape)
							idx := ir.NewTensor(idt, ishape)
							vals := make([]int64, ishape.Size())
							for i := range vals {
								vals[i] = rng.Int64N(int64(2*shape[a])) - int64(shape[a])
								if idt == ir.Int64 {
									idx.I64[i] = vals[i]
								} else {
									idx.I32[i] = int32(vals[i])
								}
							}
							outs, _, err := h3Exec(h3MakeNode("Gather", 2, 1, map[string]*ir.Attr{"axis": aInt(int64(axis))}), 13, []*ir.Tensor{x, idx}, []bool{false, konst})
							if err != nil {
								t.Fatal(err)
							}
							y := outs[0]
							for i := 0; i < y.Len(); i++ {
								o := h3Unravel(i, y.Shape)
								src := append([]int(nil), o[:a]...)
								ii := vals[h3Ravel(o[a:a+len(ishape)], ishape)]
								if ii < 0 {
									ii += int64(shape[a])
								}
								src = append(append(src, int(ii)), o[a+len(ishape):]...)
								if w := h3At(x, h3Ravel(src, shape)); h3At(y, i) != w {
									t.Fatalf("[%d] = %v, want %v", i, h3At(y, i), w)
								}
							}
						})
					}
				}
			}
		}
	}
	x := ir.NewTensor(ir.Float32, ir.Shape{3, 2})
	for _, konst := range []bool{false, true} {
		_, _, err := h3Exec(h3MakeNode("Gather", 2, 1, nil), 13, []*ir.Tensor{x, h3I64(0, 3)}, []bool{false, konst})
		h3MustErr(t, err, "index out of range")
		_, _, err = h3Exec(h3MakeNode("Gather", 2, 1, nil), 13, []*ir.Tensor{x, h3I64(-4)}, []bool{false, konst})
		h3MustErr(t, err, "negative index out of range")
	}
	_, _, err := h3Exec(h3MakeNode("Gather", 2, 1, map[string]*ir.Attr{"axis": aInt(2)}), 13, []*ir.Tensor{x, h3I64(0)}, nil)
	h3MustErr(t, err, "axis out of range")
	_, _, err = h3Exec(h3MakeNode("Gather", 2, 1, nil), 13, []*ir.Tensor{x, h3F32(ir.Shape{1})}, nil)
	h3MustErr(t, err, "float indices")
}
