package ops

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

func TestActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		name  string
		op    string
		opset int
		attrs map[string]*ir.Attr
		lo    *ir.Tensor // Clip ≥ 11 bound inputs (nil = absent)
		hi    *ir.Tensor
		ref   func(x float64) float64
	}{
		{"relu", "Relu", 14, nil, nil, nil, func(x float64) float64 { return math.Max(x, 0) }},
		{"leakyrelu-default", "LeakyRelu", 16, nil, nil, nil, func(x float64) float64 {
			if x < 0 {
				return 0.01 * x
			}
			return x
		}},
		{"leakyrelu-alpha", "LeakyRelu", 6, map[string]*ir.Attr{"alpha": aFloat(0.3)}, nil, nil, func(x float64) float64 {
			if x < 0 {
				return float64(float32(0.3)) * x
			}
			return x
		}},
		{"sigmoid", "Sigmoid", 13, nil, nil, nil, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
		{"tanh", "Tanh", 13, nil, nil, nil, math.Tanh},
		{"clip6-attrs", "Clip", 6, map[string]*ir.Attr{"min": aFloat(-1), "max": aFloat(2)}, nil, nil,
			func(x float64) float64 { return math.Min(math.Max(x, -1), 2) }},
		{"clip6-default", "Clip", 6, nil, nil, nil, func(x float64) float64 { return x }},
		{"clip13-both", "Clip", 13, nil, h3F32(ir.Shape{}, -0.5), h3F32(ir.Shape{}, 0.5),
			func(x float64) float64 { return math.Min(math.Max(x, -0.5), 0.5) }},
		{"clip13-max-only", "Clip", 13, nil, nil, h3F32(ir.Shape{}, 0.25),
			func(x float64) float64 { return math.Min(x, 0.25) }},
		{"clip13-min-gt-max", "Clip", 13, nil, h3F32(ir.Shape{}, 2), h3F32(ir.Shape{}, 1),
			func(x float64) float64 { return 1 }},
	}
	for _, c := range cases {
		for _, shape := range []ir.Shape{{}, {1}, {3, 7}, {2, 3, 5, 11}, {40000}} {
			for _, konst := range []bool{false, true} {
				t.Run(c.name+shape.String(), func(t *testing.T) {
					x := h3Rand(rng, ir.Float32, shape)
					in := []*ir.Tensor{x}
					nin := 1
					if c.lo != nil || c.hi != nil {
						in = append(in, c.lo, c.hi)
						nin = 3
					}
					outs, _, err := h3Exec(h3MakeNode(c.op, nin, 1, c.attrs), c.opset, in, []bool{false, konst, konst})
					if err != nil {
						t.Fatal(err)
					}
					for i, v := range x.F32 {
						w := c.ref(float64(v))
						if g := float64(outs[0].F32[i]); math.Abs(g-w) > 1e-6*(1+math.Abs(w)) {
							t.Fatalf("f(%g) = %g, want %g", v, g, w)
						}
					}
				})
			}
		}
	}
}

func TestClipIntegers(t *testing.T) {
	x := h3I64(-5, 0, 3, 9)
	_, _, err := h3Exec(h3MakeNode("Clip", 3, 1, nil), 13, []*ir.Tensor{x, ir.NewTensor(ir.Int64, ir.Shape{0}), nil}, nil)
	h3MustErr(t, err, "empty bound tensor")
	lo := ir.NewTensor(ir.Int64, ir.Shape{})
	lo.I64[0] = -1
	hi := ir.NewTensor(ir.Int64, ir.Shape{})
	hi.I64[0] = 4
	outs, _, err := h3Exec(h3MakeNode("Clip", 3, 1, nil), 13, []*ir.Tensor{x, lo, hi}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{-1, 0, 3, 4}
	for i, w := range want {
		if outs[0].I64[i] != w {
			t.Fatalf("Clip int64 = %v, want %v", outs[0].I64, want)
		}
	}
}

func TestActivationErrorsAndFusion(t *testing.T) {
	_, _, err := h3Exec(h3MakeNode("Sigmoid", 1, 1, nil), 13, []*ir.Tensor{h3I64(1, 2)}, nil)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Sigmoid on int64: err = %v, want ErrUnsupported", err)
	}
	_, _, err = h3Exec(h3MakeNode("Clip", 3, 1, nil), 13, []*ir.Tensor{h3F32(ir.Shape{2}), h3F32(ir.Shape{2}), nil}, nil)
	h3MustErr(t, err, "non-scalar Clip bound")
	// Fusion: Relu always, Clip only with constant bounds.
	type fuser interface {
		FusedActivation() (kernels.Activation, bool)
	}
	op, _ := New(h3MakeNode("Clip", 3, 1, nil), 13)
	x := Value{DType: ir.Float32, Shape: ir.Shape{4}}
	lo := Value{DType: ir.Float32, Shape: ir.Shape{}, Const: h3F32(ir.Shape{}, 0)}
	hi := Value{DType: ir.Float32, Shape: ir.Shape{}, Const: h3F32(ir.Shape{}, 6)}
	if _, err := op.Plan(&Env{}, []Value{x, lo, hi}); err != nil {
		t.Fatal(err)
	}
	if a, ok := op.(fuser).FusedActivation(); !ok || a.Kind != kernels.ActClip || a.Min != 0 || a.Max != 6 {
		t.Fatalf("Clip(0, 6) fuses as %+v, %v", a, ok)
	}
	hi.Const = nil
	if _, err := op.Plan(&Env{}, []Value{x, lo, hi}); err != nil {
		t.Fatal(err)
	}
	if _, ok := op.(fuser).FusedActivation(); ok {
		t.Fatal("Clip with a run-time bound claims to fuse")
	}
	if k := op.(Kerneler).KernelName(); k == "" {
		t.Fatal("Clip reports no kernel")
	}
}
