package ops

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// refBroadcast evaluates f over the numpy broadcast of a and b by index
// arithmetic on the output.
func refBroadcast(out ir.Shape, a, b *ir.Tensor, f func(x, y float64) float64) []float64 {
	res := make([]float64, out.Size())
	src := func(t *ir.Tensor, idx []int) int {
		off := len(out) - len(t.Shape)
		j := make([]int, len(t.Shape))
		for k := range j {
			if t.Shape[k] != 1 {
				j[k] = idx[off+k]
			}
		}
		return h3Ravel(j, t.Shape)
	}
	for i := range res {
		idx := h3Unravel(i, out)
		res[i] = f(h3At(a, src(a, idx)), h3At(b, src(b, idx)))
	}
	return res
}

func TestBinaryBroadcast(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	shapes := [][2]ir.Shape{
		{{3, 5}, {3, 5}},
		{{2, 3, 4, 5}, {5}},
		{{2, 3, 4, 5}, {1, 3, 1, 1}},
		{{3, 1, 7}, {1, 4, 1}},
		{{}, {6, 1, 3}},
		{{1, 1}, {1}},
		{{4, 1}, {}},
		{{2, 0, 3}, {3}},
		{{5, 1, 1, 9}, {5, 7, 3, 1}},
		{{1, 17, 1}, {13, 1, 1}},
		// Large enough for the parallel paths: many rows, few long rows, one row.
		{{300, 300}, {300, 1}},
		{{2, 40000}, {2, 1}},
		{{70001}, {70001}},
	}
	ops := []struct {
		name string
		f    func(x, y float64) float64
	}{
		{"Add", func(x, y float64) float64 { return x + y }},
		{"Sub", func(x, y float64) float64 { return x - y }},
		{"Mul", func(x, y float64) float64 { return x * y }},
		{"Div", func(x, y float64) float64 { return x / y }},
	}
	for _, op := range ops {
		for _, dt := range []ir.DType{ir.Float32, ir.Int64, ir.Int32} {
			for _, s := range shapes {
				for swap := 0; swap < 2; swap++ {
					sa, sb := s[0], s[1]
					if swap == 1 {
						sa, sb = sb, sa
					}
					name := op.name + "/" + dt.String() + "/" + sa.String() + "x" + sb.String()
					t.Run(name, func(t *testing.T) {
						a, b := h3Rand(rng, dt, sa), h3Rand(rng, dt, sb)
						if op.name == "Div" && dt != ir.Float32 {
							for i := 0; i < b.Len(); i++ { // non-zero divisors
								if dt == ir.Int64 && b.I64[i] == 0 {
									b.I64[i] = 3
								}
								if dt == ir.Int32 && b.I32[i] == 0 {
									b.I32[i] = -3
								}
							}
						}
						outs, _, err := h3Exec(h3MakeNode(op.name, 2, 1, nil), 13, []*ir.Tensor{a, b}, nil)
						if err != nil {
							t.Fatal(err)
						}
						y := outs[0]
						want := refBroadcast(y.Shape, a, b, op.f)
						for i, w := range want {
							g := h3At(y, i)
							if dt != ir.Float32 {
								if op.name == "Div" {
									w = float64(int64(w)) // C truncation
								}
								if g != w {
									t.Fatalf("[%d] = %v, want %v", i, g, w)
								}
							} else if d := g - w; d > 1e-5*(1+abs64(w)) || -d > 1e-5*(1+abs64(w)) {
								t.Fatalf("[%d] = %v, want %v", i, g, w)
							}
						}
					})
				}
			}
		}
	}
}

func abs64(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestBinaryErrors(t *testing.T) {
	a := ir.NewTensor(ir.Float32, ir.Shape{2, 3})
	b := ir.NewTensor(ir.Float32, ir.Shape{4})
	_, _, err := h3Exec(h3MakeNode("Add", 2, 1, nil), 13, []*ir.Tensor{a, b}, nil)
	h3MustErr(t, err, "broadcast mismatch")
	if !strings.Contains(err.Error(), `ops: node "n1" (Add)`) {
		t.Errorf("error lacks the node prefix: %v", err)
	}
	_, _, err = h3Exec(h3MakeNode("Mul", 2, 1, nil), 13, []*ir.Tensor{a, ir.NewTensor(ir.Int64, ir.Shape{3})}, nil)
	h3MustErr(t, err, "dtype mismatch")
	_, _, err = h3Exec(h3MakeNode("Sub", 2, 1, nil), 13, []*ir.Tensor{ir.NewTensor(ir.Bool, ir.Shape{3}), ir.NewTensor(ir.Bool, ir.Shape{3})}, nil)
	h3MustErr(t, err, "bool arithmetic")
	x, z := h3I64(7, -7), h3I64(2, 0)
	_, _, err = h3Exec(h3MakeNode("Div", 2, 1, nil), 13, []*ir.Tensor{x, z}, nil)
	h3MustErr(t, err, "integer division by zero")
	for _, shape := range []ir.Shape{{300, 300}, {100000}} { // parallel paths
		x, z := ir.NewTensor(ir.Int32, shape), ir.NewTensor(ir.Int32, shape)
		for i := range z.I32 {
			z.I32[i] = 1
		}
		z.I32[len(z.I32)-5] = 0
		_, _, err = h3Exec(h3MakeNode("Div", 2, 1, nil), 13, []*ir.Tensor{x, z}, nil)
		h3MustErr(t, err, "integer division by zero, "+shape.String())
	}
	_, _, err = h3Exec(h3MakeNode("Add", 1, 1, nil), 13, []*ir.Tensor{a}, nil)
	h3MustErr(t, err, "missing input")
	_, err = New(h3MakeNode("Add", 2, 1, map[string]*ir.Attr{"broadcast": aInt(1)}), 7)
	h3MustErr(t, err, "legacy broadcast attribute")
}

func TestIntegerDivTruncates(t *testing.T) {
	outs, _, err := h3Exec(h3MakeNode("Div", 2, 1, nil), 13, []*ir.Tensor{h3I64(7, -7, 7, -7), h3I64(2, 2, -2, -2)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{3, -3, -3, 3}
	for i, w := range want {
		if outs[0].I64[i] != w {
			t.Fatalf("Div = %v, want %v", outs[0].I64, want)
		}
	}
}

func TestSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := [][]ir.Shape{
		{{3, 4}},
		{{3, 4}, {4}},
		{{2, 1, 5}, {3, 1}, {1, 5}, {}},
		{{7}, {7}, {7}, {7}},
	}
	for _, shapes := range cases {
		for _, dt := range []ir.DType{ir.Float32, ir.Int32} {
			in := make([]*ir.Tensor, len(shapes))
			for i, s := range shapes {
				in[i] = h3Rand(rng, dt, s)
			}
			outs, _, err := h3Exec(h3MakeNode("Sum", len(in), 1, nil), 13, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			y := outs[0]
			acc := make([]float64, y.Shape.Size())
			for _, x := range in {
				zero := ir.NewTensor(dt, ir.Shape{})
				r := refBroadcast(y.Shape, x, zero, func(a, _ float64) float64 { return a })
				for i := range acc {
					acc[i] += r[i]
				}
			}
			for i, w := range acc {
				if d := h3At(y, i) - w; abs64(d) > 1e-4 {
					t.Fatalf("%v %v: [%d] = %v, want %v", shapes, dt, i, h3At(y, i), w)
				}
			}
		}
	}
	_, _, err := h3Exec(h3MakeNode("Sum", 2, 1, nil), 13, []*ir.Tensor{ir.NewTensor(ir.Float32, ir.Shape{2}), ir.NewTensor(ir.Float32, ir.Shape{3})}, nil)
	h3MustErr(t, err, "Sum broadcast mismatch")
}

// TestAddFusedActivation checks Add with a fused Relu/Clip (the residual
// Add + Relu) on the same-shape fast path, the broadcast path and
// integers, against max/min of the reference sum.
func TestAddFusedActivation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	acts := []struct {
		name string
		act  kernels.Activation
		f    func(v float64) float64
	}{
		{"Relu", kernels.Activation{Kind: kernels.ActRelu}, func(v float64) float64 { return max(v, 0) }},
		{"Clip", kernels.Activation{Kind: kernels.ActClip, Min: -1, Max: 2}, func(v float64) float64 { return min(max(v, -1), 2) }},
	}
	shapes := [][2]ir.Shape{{{3, 5}, {3, 5}}, {{70001}, {70001}}, {{2, 3, 4}, {4}}, {{300, 300}, {300, 1}}}
	for _, a := range acts {
		for _, dt := range []ir.DType{ir.Float32, ir.Int64, ir.Int32} {
			if a.act.Kind == kernels.ActClip && dt != ir.Float32 {
				continue
			}
			for _, s := range shapes {
				name := a.name + "/" + dt.String() + "/" + s[0].String() + "x" + s[1].String()
				t.Run(name, func(t *testing.T) {
					x, y := h3Rand(rng, dt, s[0]), h3Rand(rng, dt, s[1])
					act := a.act
					outs, _, _, err := execNode(h3MakeNode("Add", 2, 1, nil), 13, []*ir.Tensor{x, y}, nil, &act)
					if err != nil {
						t.Fatal(err)
					}
					want := refBroadcast(outs[0].Shape, x, y, func(p, q float64) float64 { return a.f(p + q) })
					for i, w := range want {
						if g := h3At(outs[0], i); abs64(g-w) > 1e-5*(1+abs64(w)) {
							t.Fatalf("[%d] = %v, want %v", i, g, w)
						}
					}
				})
			}
		}
	}
	for _, op := range []string{"Sub", "Mul", "Div"} {
		o, err := New(h3MakeNode(op, 2, 1, nil), 13)
		if err != nil {
			t.Fatal(err)
		}
		if o.(Fuser).FuseActivation(kernels.Activation{Kind: kernels.ActRelu}) {
			t.Errorf("%s fused a Relu", op)
		}
	}
	o, _ := New(h3MakeNode("Add", 2, 1, nil), 13)
	f := o.(Fuser)
	if !f.FuseActivation(kernels.Activation{Kind: kernels.ActRelu}) || f.FuseActivation(kernels.Activation{Kind: kernels.ActRelu}) {
		t.Error("Add fuses exactly one activation")
	}
	if _, err := o.Plan(&Env{}, []Value{{DType: ir.Int64, Shape: ir.Shape{2}}, {DType: ir.Int64, Shape: ir.Shape{2}}}); err != nil {
		t.Errorf("int64 Add + Relu: %v", err)
	}
	c, _ := New(h3MakeNode("Add", 2, 1, nil), 13)
	c.(Fuser).FuseActivation(kernels.Activation{Kind: kernels.ActClip, Min: 0, Max: 1})
	if _, err := c.Plan(&Env{}, []Value{{DType: ir.Int32, Shape: ir.Shape{2}}, {DType: ir.Int32, Shape: ir.Shape{2}}}); err == nil {
		t.Error("int32 Add + Clip planned")
	}
}
