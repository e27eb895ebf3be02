package ops

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

type convCase struct {
	name      string
	n, c, m   int
	in, k     []int
	strides   []int // nil: attribute absent
	dilations []int
	pads      []int
	autoPad   string
	group     int
	bias      bool
	noKernel  bool // omit kernel_shape (inferred from W)
	act       *kernels.Activation
}

// refConv is the direct float64 convolution.
func refConv(tc convCase, x, w, b *ir.Tensor) (ir.Shape, []float64) {
	nd := len(tc.in)
	s, d := tc.strides, tc.dilations
	if s == nil {
		s = h2Ones(nd)
	}
	if d == nil {
		d = h2Ones(nd)
	}
	out, pb, pe := h2Geom(tc.in, tc.k, s, d, tc.pads, tc.autoPad, false)
	g := max(tc.group, 1)
	cg, mg := tc.c/g, tc.m/g
	inSize, outSize := ir.Shape(tc.in).Size(), ir.Shape(out).Size()
	kSize := ir.Shape(tc.k).Size()
	y := make([]float64, tc.n*tc.m*outSize)
	for img := 0; img < tc.n; img++ {
		for m := 0; m < tc.m; m++ {
			grp := m / mg
			for oi := 0; oi < outSize; oi++ {
				o := h3Unravel(oi, ir.Shape(out))
				var acc float64
				if b != nil {
					acc = float64(b.F32[m])
				}
				for c := 0; c < cg; c++ {
					ti := 0
					h2Window(o, tc.in, tc.k, s, d, pb, pe, func(pos []int, inside, _ bool) {
						if inside {
							xv := x.F32[(img*tc.c+grp*cg+c)*inSize+h3Ravel(pos, ir.Shape(tc.in))]
							acc += float64(xv) * float64(w.F32[(m*cg+c)*kSize+ti])
						}
						ti++
					})
				}
				v := acc
				if tc.act != nil {
					v = float64(tc.act.Apply(float32(acc)))
				}
				y[(img*tc.m+m)*outSize+oi] = v
			}
		}
	}
	return append(ir.Shape{tc.n, tc.m}, out...), y
}

func convNode(tc convCase) *ir.Node {
	attrs := map[string]*ir.Attr{}
	if !tc.noKernel {
		attrs["kernel_shape"] = h2Ints(tc.k)
	}
	if tc.strides != nil {
		attrs["strides"] = h2Ints(tc.strides)
	}
	if tc.dilations != nil {
		attrs["dilations"] = h2Ints(tc.dilations)
	}
	if tc.pads != nil {
		attrs["pads"] = h2Ints(tc.pads)
	}
	if tc.autoPad != "" {
		attrs["auto_pad"] = aString(tc.autoPad)
	}
	if tc.group != 0 {
		attrs["group"] = aInt(int64(tc.group))
	}
	nin := 2
	if tc.bias {
		nin = 3
	}
	return h3MakeNode("Conv", nin, 1, attrs)
}

func TestConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	relu := &kernels.Activation{Kind: kernels.ActRelu}
	clip := &kernels.Activation{Kind: kernels.ActClip, Min: -1, Max: 2}
	cases := []convCase{
		{name: "1d", n: 2, c: 3, m: 5, in: []int{11}, k: []int{3}, bias: true},
		{name: "1d-pads-stride-dil-group", n: 1, c: 4, m: 6, in: []int{13}, k: []int{3}, strides: []int{2}, dilations: []int{2}, pads: []int{2, 1}, group: 2, bias: true},
		{name: "1d-same-upper", n: 1, c: 2, m: 3, in: []int{10}, k: []int{4}, strides: []int{3}, autoPad: "SAME_UPPER"},
		{name: "2d", n: 2, c: 3, m: 4, in: []int{7, 9}, k: []int{3, 3}, bias: true},
		{name: "2d-no-kernel-shape", n: 1, c: 3, m: 4, in: []int{6, 5}, k: []int{3, 2}, noKernel: true, bias: true},
		{name: "2d-asym-pads-strides", n: 1, c: 3, m: 5, in: []int{9, 8}, k: []int{3, 3}, strides: []int{2, 3}, pads: []int{1, 0, 2, 1}},
		{name: "2d-dilations", n: 1, c: 2, m: 3, in: []int{11, 10}, k: []int{3, 2}, dilations: []int{2, 3}, pads: []int{1, 1, 1, 1}, bias: true},
		{name: "2d-group", n: 2, c: 6, m: 4, in: []int{5, 7}, k: []int{3, 3}, group: 2, pads: []int{1, 1, 1, 1}, bias: true},
		{name: "2d-depthwise", n: 1, c: 5, m: 5, in: []int{8, 7}, k: []int{3, 3}, group: 5, strides: []int{2, 2}, pads: []int{1, 1, 1, 1}, bias: true, act: relu},
		{name: "2d-depthwise-multiplier", n: 1, c: 3, m: 6, in: []int{6, 6}, k: []int{3, 3}, group: 3, bias: true},
		{name: "2d-same-upper", n: 1, c: 2, m: 3, in: []int{7, 8}, k: []int{3, 4}, strides: []int{2, 2}, autoPad: "SAME_UPPER", bias: true},
		{name: "2d-same-lower", n: 1, c: 2, m: 3, in: []int{7, 8}, k: []int{3, 4}, strides: []int{2, 3}, autoPad: "SAME_LOWER"},
		{name: "2d-valid", n: 1, c: 2, m: 3, in: []int{7, 8}, k: []int{3, 2}, strides: []int{2, 2}, autoPad: "VALID", pads: []int{5, 5, 5, 5}},
		{name: "2d-notset", n: 1, c: 2, m: 2, in: []int{5, 5}, k: []int{2, 2}, autoPad: "NOTSET", pads: []int{0, 1, 1, 0}},
		{name: "2d-pointwise", n: 2, c: 7, m: 5, in: []int{5, 3}, k: []int{1, 1}, bias: true, act: clip},
		{name: "2d-relu", n: 1, c: 3, m: 4, in: []int{6, 6}, k: []int{3, 3}, pads: []int{1, 1, 1, 1}, bias: true, act: relu},
		{name: "3d", n: 2, c: 2, m: 3, in: []int{4, 5, 6}, k: []int{2, 3, 2}, bias: true},
		{name: "3d-all", n: 1, c: 4, m: 2, in: []int{6, 5, 7}, k: []int{3, 2, 3}, strides: []int{2, 1, 2}, dilations: []int{1, 2, 1}, pads: []int{1, 0, 1, 0, 1, 2}, group: 2, bias: true, act: clip},
		{name: "3d-same-lower", n: 1, c: 2, m: 2, in: []int{5, 4, 3}, k: []int{2, 2, 2}, strides: []int{2, 2, 2}, autoPad: "SAME_LOWER"},
		{name: "4d", n: 1, c: 2, m: 2, in: []int{3, 4, 3, 4}, k: []int{2, 2, 2, 3}, pads: []int{1, 0, 0, 1, 0, 1, 1, 1}, bias: true},
		{name: "batch0", n: 0, c: 2, m: 3, in: []int{4, 4}, k: []int{3, 3}, bias: true},
	}
	for _, tc := range cases {
		for _, konst := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/const=%v", tc.name, konst), func(t *testing.T) {
				g := max(tc.group, 1)
				x := h3Rand(rng, ir.Float32, append(ir.Shape{tc.n, tc.c}, tc.in...))
				w := h3Rand(rng, ir.Float32, append(ir.Shape{tc.m, tc.c / g}, tc.k...))
				in := []*ir.Tensor{x, w}
				var b *ir.Tensor
				if tc.bias {
					b = h3Rand(rng, ir.Float32, ir.Shape{tc.m})
					in = append(in, b)
				}
				outs, op, err := h2Exec(convNode(tc), 13, in, []bool{false, konst, konst}, tc.act)
				if err != nil {
					t.Fatal(err)
				}
				shape, want := refConv(tc, x, w, b)
				h2Check(t, outs[0], shape, want, 1e-4, 1e-4)
				cg := tc.c / g
				wantMACs := int64(shape.Size()) * int64(cg) * int64(ir.Shape(tc.k).Size())
				if got := op.(Coster).MACs(); got != wantMACs {
					t.Errorf("MACs %d, want %d", got, wantMACs)
				}
				name := op.(Kerneler).KernelName()
				if !strings.HasPrefix(name, "f32-") || !strings.Contains(name, "conv") {
					t.Errorf("kernel %q", name)
				}
				if len(tc.in) != 2 && !strings.Contains(name, fmt.Sprintf("conv%dd", len(tc.in))) {
					t.Errorf("kernel %q is not the %d-D kernel", name, len(tc.in))
				}
			})
		}
	}
}

func TestConvErrors(t *testing.T) {
	f32 := func(s ...int) *ir.Tensor { return ir.NewTensor(ir.Float32, ir.Shape(s)) }
	cases := []struct {
		name  string
		attrs map[string]*ir.Attr
		in    []*ir.Tensor
		want  string
		unsup bool
	}{
		{"bad auto_pad", map[string]*ir.Attr{"auto_pad": aString("SAME")}, []*ir.Tensor{f32(1, 2, 5, 5), f32(3, 2, 3, 3)}, "auto_pad", false},
		{"negative pad", map[string]*ir.Attr{"pads": aInts(-1, 0, 0, 0)}, []*ir.Tensor{f32(1, 2, 5, 5), f32(3, 2, 3, 3)}, "pads", false},
		{"zero stride", map[string]*ir.Attr{"strides": aInts(0, 1)}, []*ir.Tensor{f32(1, 2, 5, 5), f32(3, 2, 3, 3)}, "strides", false},
		{"zero group", map[string]*ir.Attr{"group": aInt(0)}, []*ir.Tensor{f32(1, 2, 5, 5), f32(3, 2, 3, 3)}, "group", false},
		{"group does not divide C", map[string]*ir.Attr{"group": aInt(3)}, []*ir.Tensor{f32(1, 4, 5, 5), f32(3, 1, 3, 3)}, "does not divide 4 input channels", false},
		{"group does not divide M", map[string]*ir.Attr{"group": aInt(2)}, []*ir.Tensor{f32(1, 4, 5, 5), f32(3, 2, 3, 3)}, "output channels", false},
		{"channel mismatch", nil, []*ir.Tensor{f32(1, 3, 5, 5), f32(4, 2, 3, 3)}, "input channels per group", false},
		{"weight rank", nil, []*ir.Tensor{f32(1, 2, 5, 5), f32(4, 2, 3)}, "rank 4", false},
		{"input rank", nil, []*ir.Tensor{f32(2, 5), f32(4, 2)}, "spatial", false},
		{"kernel_shape mismatch", map[string]*ir.Attr{"kernel_shape": aInts(3, 2)}, []*ir.Tensor{f32(1, 2, 5, 5), f32(4, 2, 3, 3)}, "kernel_shape", false},
		{"kernel_shape length", map[string]*ir.Attr{"kernel_shape": aInts(3, 3), "strides": aInts(1)}, []*ir.Tensor{f32(1, 2, 5, 5), f32(4, 2, 3, 3)}, "strides", false},
		{"pads length", map[string]*ir.Attr{"pads": aInts(1, 1)}, []*ir.Tensor{f32(1, 2, 5, 5), f32(4, 2, 3, 3)}, "pads", false},
		{"bias shape", nil, []*ir.Tensor{f32(1, 2, 5, 5), f32(4, 2, 3, 3), f32(3)}, "bias", false},
		{"window too large", nil, []*ir.Tensor{f32(1, 2, 2, 5), f32(4, 2, 3, 3)}, "larger than the padded input", false},
		{"ceil_mode", map[string]*ir.Attr{"ceil_mode": aInt(1)}, []*ir.Tensor{f32(1, 2, 5, 5), f32(4, 2, 3, 3)}, "ceil_mode", false},
		{"int input", nil, []*ir.Tensor{ir.NewTensor(ir.Int64, ir.Shape{1, 2, 5, 5}), f32(4, 2, 3, 3)}, "dtype", true},
		{"missing weight", nil, []*ir.Tensor{f32(1, 2, 5, 5), nil}, "missing", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := h3MakeNode("Conv", len(tc.in), 1, tc.attrs)
			n.Name = "conv7"
			_, _, err := h2Exec(n, 13, tc.in, []bool{false, true, true}, nil)
			h3MustErr(t, err, tc.name)
			msg := err.Error()
			if !strings.Contains(msg, `node "conv7" (Conv)`) || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q lacks the node or %q", msg, tc.want)
			}
			if errors.Is(err, ErrUnsupported) != tc.unsup {
				t.Errorf("errors.Is(ErrUnsupported) = %v, want %v", !tc.unsup, tc.unsup)
			}
		})
	}
}

func TestConvFuse(t *testing.T) {
	op, err := New(h3MakeNode("Conv", 2, 1, nil), 13)
	if err != nil {
		t.Fatal(err)
	}
	f := op.(Fuser)
	if f.FuseActivation(kernels.Activation{Kind: kernels.ActNone}) {
		t.Error("fused ActNone")
	}
	if !f.FuseActivation(kernels.Activation{Kind: kernels.ActRelu}) {
		t.Fatal("Relu not fused")
	}
	if f.FuseActivation(kernels.Activation{Kind: kernels.ActClip, Max: 6}) {
		t.Error("second activation fused")
	}
}
