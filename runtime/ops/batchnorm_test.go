package ops

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

func TestBatchNormalization(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		opset   int
		x       ir.Shape
		spatial int64 // -1: attribute absent
		eps     float32
	}{
		{15, ir.Shape{2, 3, 4, 5}, -1, 0},
		{15, ir.Shape{3, 5}, -1, 1e-3},
		{14, ir.Shape{1, 4, 3, 2, 5}, -1, 1e-2},
		{9, ir.Shape{2, 7, 9}, -1, 1e-5},
		{7, ir.Shape{2, 3, 4, 5}, 1, 1e-5},
		{7, ir.Shape{2, 3, 4, 5}, 0, 1e-4},
		{7, ir.Shape{3, 6}, 0, 1e-4},
		{15, ir.Shape{0, 3, 2, 2}, -1, 0},
	}
	for _, tc := range cases {
		for _, konst := range []bool{true, false} {
			t.Run(fmt.Sprintf("opset%d/%v/spatial=%d/eps=%v/const=%v", tc.opset, tc.x, tc.spatial, tc.eps, konst), func(t *testing.T) {
				attrs := map[string]*ir.Attr{}
				eps := 1e-5
				if tc.eps != 0 {
					attrs["epsilon"] = aFloat(tc.eps)
					eps = float64(tc.eps)
				}
				if tc.spatial >= 0 {
					attrs["spatial"] = aInt(tc.spatial)
				}
				ps := ir.Shape{tc.x[1]}
				if tc.spatial == 0 {
					ps = tc.x[1:].Clone()
				}
				x := h3Rand(rng, ir.Float32, tc.x)
				scale, bias, mean := h3Rand(rng, ir.Float32, ps), h3Rand(rng, ir.Float32, ps), h3Rand(rng, ir.Float32, ps)
				variance := h3Rand(rng, ir.Float32, ps)
				for i, v := range variance.F32 {
					variance.F32[i] = float32(math.Abs(float64(v)))
				}
				in := []*ir.Tensor{x, scale, bias, mean, variance}
				outs, _, err := h2Exec(h3MakeNode("BatchNormalization", 5, 1, attrs), tc.opset, in, []bool{false, konst, konst, konst, konst}, nil)
				if err != nil {
					t.Fatal(err)
				}
				inner := tc.x[1:].Size() / ps.Size()
				want := make([]float64, tc.x.Size())
				for i := range want {
					p := (i / inner) % ps.Size()
					want[i] = (float64(x.F32[i])-float64(mean.F32[p]))/math.Sqrt(float64(variance.F32[p])+eps)*float64(scale.F32[p]) + float64(bias.F32[p])
				}
				h2Check(t, outs[0], tc.x, want, 1e-5, 1e-5)
			})
		}
	}
}

func TestBatchNormalizationErrors(t *testing.T) {
	f32 := func(s ...int) *ir.Tensor { return ir.NewTensor(ir.Float32, ir.Shape(s)) }
	x := f32(2, 3, 4)
	p := f32(3)
	cases := []struct {
		name  string
		opset int
		attrs map[string]*ir.Attr
		in    []*ir.Tensor
		nout  int
		want  string
		unsup bool
	}{
		{"training_mode 2", 15, map[string]*ir.Attr{"training_mode": aInt(2)}, []*ir.Tensor{x, p, p, p, p}, 1, "training_mode", false},
		{"training 4 outputs", 15, map[string]*ir.Attr{"training_mode": aInt(1)}, []*ir.Tensor{x, p, p, p, p}, 4, "at most 3", false},
		{"opset 9 training outputs", 9, nil, []*ir.Tensor{x, p, p, p, p}, 5, "training statistics", true},
		{"training outputs", 15, nil, []*ir.Tensor{x, p, p, p, p}, 3, "training statistics", true},
		{"scale shape", 15, nil, []*ir.Tensor{x, f32(4), p, p, p}, 1, "scale has shape", false},
		{"var shape", 9, nil, []*ir.Tensor{x, p, p, p, f32(3, 1)}, 1, "var has shape", false},
		{"spatial=0 shape", 7, map[string]*ir.Attr{"spatial": aInt(0)}, []*ir.Tensor{x, p, p, p, p}, 1, "want [3×4]", false},
		{"spatial 2", 7, map[string]*ir.Attr{"spatial": aInt(2)}, []*ir.Tensor{x, p, p, p, p}, 1, "spatial", false},
		{"missing input", 15, nil, []*ir.Tensor{x, p, p, p}, 1, "missing", false},
		{"rank 1", 15, nil, []*ir.Tensor{f32(3), p, p, p, p}, 1, "N×C", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := h2Exec(h3MakeNode("BatchNormalization", len(tc.in), tc.nout, tc.attrs), tc.opset, tc.in, nil, nil)
			h3MustErr(t, err, tc.name)
			if !strings.Contains(err.Error(), "(BatchNormalization)") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks the op or %q", err, tc.want)
			}
			if errors.Is(err, ErrUnsupported) != tc.unsup {
				t.Errorf("errors.Is(ErrUnsupported) = %v, want %v", !tc.unsup, tc.unsup)
			}
		})
	}
}

func TestBatchNormalizationTraining(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		x        ir.Shape
		nout     int
		momentum float32 // 0: attribute absent (0.9)
	}{
		{ir.Shape{2, 3, 4, 5}, 3, 0},
		{ir.Shape{3, 5}, 3, 0.7},
		{ir.Shape{2, 4, 3, 2, 3}, 1, 0},
		{ir.Shape{1, 2, 7}, 2, 0.25},
	} {
		t.Run(fmt.Sprintf("%v/outputs=%d", tc.x, tc.nout), func(t *testing.T) {
			attrs := map[string]*ir.Attr{"training_mode": aInt(1), "epsilon": aFloat(1e-2)}
			momentum := 0.9
			if tc.momentum != 0 {
				attrs["momentum"] = aFloat(tc.momentum)
				momentum = float64(tc.momentum)
			}
			c := tc.x[1]
			ps := ir.Shape{c}
			x := h3Rand(rng, ir.Float32, tc.x)
			scale, bias, mean := h3Rand(rng, ir.Float32, ps), h3Rand(rng, ir.Float32, ps), h3Rand(rng, ir.Float32, ps)
			variance := h3Rand(rng, ir.Float32, ps)
			for i, v := range variance.F32 {
				variance.F32[i] = float32(math.Abs(float64(v)))
			}
			outs, _, err := h2Exec(h3MakeNode("BatchNormalization", 5, tc.nout, attrs), 15, []*ir.Tensor{x, scale, bias, mean, variance}, []bool{false, true, true, true, true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != tc.nout {
				t.Fatalf("%d outputs, want %d", len(outs), tc.nout)
			}
			inner := tc.x[2:].Size()
			bm, bv := make([]float64, c), make([]float64, c)
			for i, v := range x.F32 {
				bm[(i/inner)%c] += float64(v)
			}
			cnt := float64(tc.x.Size() / c)
			for ch := range bm {
				bm[ch] /= cnt
			}
			for i, v := range x.F32 {
				d := float64(v) - bm[(i/inner)%c]
				bv[(i/inner)%c] += d * d / cnt
			}
			want := make([]float64, tc.x.Size())
			for i, v := range x.F32 {
				ch := (i / inner) % c
				want[i] = (float64(v)-bm[ch])/math.Sqrt(bv[ch]+1e-2)*float64(scale.F32[ch]) + float64(bias.F32[ch])
			}
			h2Check(t, outs[0], tc.x, want, 1e-5, 1e-5)
			for k, prev := range []*ir.Tensor{mean, variance} {
				if 1+k >= tc.nout {
					break
				}
				batch := [][]float64{bm, bv}[k]
				w := make([]float64, c)
				for ch := range w {
					w[ch] = float64(prev.F32[ch])*momentum + batch[ch]*(1-momentum)
				}
				h2Check(t, outs[1+k], ps, w, 1e-5, 1e-6)
			}
		})
	}
}
