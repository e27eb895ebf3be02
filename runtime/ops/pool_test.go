package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

type poolCase struct {
	name       string
	n, c       int
	in, k      []int
	strides    []int
	dilations  []int
	pads       []int
	autoPad    string
	ceil       bool
	includePad bool // AveragePool only
	colMajor   bool // MaxPool only
}

// refPool is the direct float64 pooling: max with the ONNX Indices
// (flattened over the whole input, spatial part row- or column-major),
// or the average over the taps inside the input (or the padded input).
func refPool(tc poolCase, avg bool, x *ir.Tensor) (ir.Shape, []float64, []int64) {
	nd := len(tc.in)
	s, d := tc.strides, tc.dilations
	if s == nil {
		s = h2Ones(nd)
	}
	if d == nil {
		d = h2Ones(nd)
	}
	out, pb, pe := h2Geom(tc.in, tc.k, s, d, tc.pads, tc.autoPad, tc.ceil)
	inSize, outSize := ir.Shape(tc.in).Size(), ir.Shape(out).Size()
	y := make([]float64, tc.n*tc.c*outSize)
	idx := make([]int64, len(y))
	for p := 0; p < tc.n*tc.c; p++ {
		for oi := 0; oi < outSize; oi++ {
			o := h3Unravel(oi, ir.Shape(out))
			m, at := math.Inf(-1), -1
			var sum float64
			cnt, padded := 0, 0
			h2Window(o, tc.in, tc.k, s, d, pb, pe, func(pos []int, inside, inPad bool) {
				if inPad {
					padded++
				}
				if !inside {
					return
				}
				cnt++
				off := h3Ravel(pos, ir.Shape(tc.in))
				v := float64(x.F32[p*inSize+off])
				sum += v
				if v > m {
					m = v
					if tc.colMajor {
						// Column-major: the first spatial dimension varies fastest.
						cm, mul := 0, 1
						for i := 0; i < nd; i++ {
							cm += pos[i] * mul
							mul *= tc.in[i]
						}
						at = p*inSize + cm
					} else {
						at = p*inSize + off
					}
				}
			})
			j := p*outSize + oi
			switch {
			case !avg:
				y[j], idx[j] = m, int64(at)
			case tc.includePad:
				y[j] = sum / float64(padded)
			default:
				y[j] = sum / float64(cnt)
			}
		}
	}
	return append(ir.Shape{tc.n, tc.c}, out...), y, idx
}

func poolNode(op string, tc poolCase, nout int) *ir.Node {
	attrs := map[string]*ir.Attr{"kernel_shape": h2Ints(tc.k)}
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
	if tc.ceil {
		attrs["ceil_mode"] = aInt(1)
	}
	if tc.includePad {
		attrs["count_include_pad"] = aInt(1)
	}
	if tc.colMajor {
		attrs["storage_order"] = aInt(1)
	}
	return h3MakeNode(op, 1, nout, attrs)
}

var poolCases = []poolCase{
	{name: "1d", n: 2, c: 3, in: []int{11}, k: []int{2}},
	{name: "1d-stride-pad-dil-ceil", n: 1, c: 2, in: []int{23}, k: []int{4}, strides: []int{3}, dilations: []int{2}, pads: []int{2, 3}, ceil: true},
	{name: "1d-same-upper", n: 1, c: 2, in: []int{10}, k: []int{3}, strides: []int{3}, autoPad: "SAME_UPPER"},
	{name: "2d", n: 2, c: 3, in: []int{8, 9}, k: []int{2, 2}, strides: []int{2, 2}},
	{name: "2d-ceil", n: 1, c: 2, in: []int{7, 8}, k: []int{3, 3}, strides: []int{2, 2}, ceil: true},
	{name: "2d-ceil-drop-last", n: 1, c: 2, in: []int{5, 5}, k: []int{2, 2}, strides: []int{2, 2}, pads: []int{1, 1, 1, 1}, ceil: true},
	{name: "2d-pads", n: 1, c: 3, in: []int{6, 7}, k: []int{3, 3}, pads: []int{2, 1, 1, 2}},
	{name: "2d-pads-strides", n: 1, c: 2, in: []int{9, 9}, k: []int{5, 4}, strides: []int{3, 2}, pads: []int{2, 2, 2, 2}},
	{name: "2d-dilations", n: 1, c: 2, in: []int{9, 10}, k: []int{2, 3}, dilations: []int{2, 3}, strides: []int{1, 2}, pads: []int{1, 0, 0, 2}},
	{name: "2d-same-upper", n: 1, c: 2, in: []int{7, 8}, k: []int{3, 2}, strides: []int{2, 3}, autoPad: "SAME_UPPER"},
	{name: "2d-same-lower", n: 1, c: 2, in: []int{7, 8}, k: []int{2, 3}, autoPad: "SAME_LOWER"},
	{name: "2d-valid", n: 1, c: 2, in: []int{7, 8}, k: []int{3, 2}, strides: []int{2, 2}, autoPad: "VALID"},
	{name: "3d", n: 1, c: 2, in: []int{4, 5, 6}, k: []int{2, 2, 2}, strides: []int{2, 2, 2}},
	{name: "3d-all", n: 2, c: 2, in: []int{6, 7, 5}, k: []int{3, 2, 3}, strides: []int{2, 1, 2}, dilations: []int{1, 2, 1}, pads: []int{1, 0, 1, 1, 1, 2}, ceil: true},
	{name: "4d", n: 1, c: 2, in: []int{3, 4, 5, 3}, k: []int{2, 2, 3, 2}, strides: []int{1, 2, 2, 1}, pads: []int{1, 0, 1, 0, 0, 1, 1, 1}},
}

func TestMaxPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, base := range poolCases {
		for _, col := range []bool{false, true} {
			tc := base
			tc.colMajor = col
			t.Run(fmt.Sprintf("%s/storage_order=%v", tc.name, col), func(t *testing.T) {
				x := h3Rand(rng, ir.Float32, append(ir.Shape{tc.n, tc.c}, tc.in...))
				outs, op, err := h2Exec(poolNode("MaxPool", tc, 2), 12, []*ir.Tensor{x}, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				shape, want, wantIdx := refPool(tc, false, x)
				h2Check(t, outs[0], shape, want, 0, 0)
				if outs[1].DType != ir.Int64 || !outs[1].Shape.Equal(shape) {
					t.Fatalf("indices %v%v", outs[1].DType, outs[1].Shape)
				}
				for i, v := range wantIdx {
					if outs[1].I64[i] != v {
						t.Fatalf("indices[%d] = %d, want %d", i, outs[1].I64[i], v)
					}
				}
				if !strings.Contains(op.(Kerneler).KernelName(), "maxpool") {
					t.Errorf("kernel %q", op.(Kerneler).KernelName())
				}
				// Without the Indices output.
				outs, _, err = h2Exec(poolNode("MaxPool", tc, 1), 12, []*ir.Tensor{x}, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(outs) != 1 {
					t.Fatalf("%d outputs", len(outs))
				}
				h2Check(t, outs[0], shape, want, 0, 0)
			})
		}
	}
}

func TestAveragePool(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, base := range poolCases {
		for _, incl := range []bool{false, true} {
			tc := base
			tc.includePad = incl
			t.Run(fmt.Sprintf("%s/count_include_pad=%v", tc.name, incl), func(t *testing.T) {
				x := h3Rand(rng, ir.Float32, append(ir.Shape{tc.n, tc.c}, tc.in...))
				outs, op, err := h2Exec(poolNode("AveragePool", tc, 1), 19, []*ir.Tensor{x}, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				shape, want, _ := refPool(tc, true, x)
				h2Check(t, outs[0], shape, want, 1e-5, 1e-5)
				if !strings.Contains(op.(Kerneler).KernelName(), "avgpool") {
					t.Errorf("kernel %q", op.(Kerneler).KernelName())
				}
			})
		}
	}
}

func TestGlobalPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, shape := range []ir.Shape{{2, 3, 7}, {1, 5, 4, 3}, {2, 2, 3, 4, 5}, {1, 1, 1, 1}} {
		for _, op := range []string{"GlobalAveragePool", "GlobalMaxPool"} {
			t.Run(fmt.Sprintf("%s/%v", op, shape), func(t *testing.T) {
				x := h3Rand(rng, ir.Float32, shape)
				outs, _, err := h2Exec(h3MakeNode(op, 1, 1, nil), 1, []*ir.Tensor{x}, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				size := shape[2:].Size()
				want := make([]float64, shape[0]*shape[1])
				for p := range want {
					m, s := math.Inf(-1), 0.0
					for _, v := range x.F32[p*size : (p+1)*size] {
						m = math.Max(m, float64(v))
						s += float64(v)
					}
					if op == "GlobalMaxPool" {
						want[p] = m
					} else {
						want[p] = s / float64(size)
					}
				}
				wantShape := shape.Clone()
				for i := 2; i < len(wantShape); i++ {
					wantShape[i] = 1
				}
				h2Check(t, outs[0], wantShape, want, 1e-6, 1e-6)
			})
		}
	}
}

func TestPoolErrors(t *testing.T) {
	x := ir.NewTensor(ir.Float32, ir.Shape{1, 2, 5, 5})
	cases := []struct {
		name  string
		op    string
		attrs map[string]*ir.Attr
		x     *ir.Tensor
		nout  int
		want  string
	}{
		{"no kernel_shape", "MaxPool", nil, x, 1, "kernel_shape is required"},
		{"kernel rank", "MaxPool", map[string]*ir.Attr{"kernel_shape": aInts(2, 2, 2)}, x, 1, "kernel"},
		{"zero kernel", "AveragePool", map[string]*ir.Attr{"kernel_shape": aInts(0, 2)}, x, 1, "kernel_shape"},
		{"ceil_mode 2", "MaxPool", map[string]*ir.Attr{"kernel_shape": aInts(2, 2), "ceil_mode": aInt(2)}, x, 1, "ceil_mode"},
		{"storage_order 2", "MaxPool", map[string]*ir.Attr{"kernel_shape": aInts(2, 2), "storage_order": aInt(2)}, x, 1, "storage_order"},
		{"count_include_pad 3", "AveragePool", map[string]*ir.Attr{"kernel_shape": aInts(2, 2), "count_include_pad": aInt(3)}, x, 1, "count_include_pad"},
		{"pad ≥ kernel", "MaxPool", map[string]*ir.Attr{"kernel_shape": aInts(2, 2), "pads": aInts(2, 0, 0, 0)}, x, 1, "smaller than the window"},
		{"window too large", "AveragePool", map[string]*ir.Attr{"kernel_shape": aInts(6, 2)}, x, 1, "larger than the padded input"},
		{"rank 2 input", "MaxPool", map[string]*ir.Attr{"kernel_shape": aInts(2)}, ir.NewTensor(ir.Float32, ir.Shape{2, 5}), 1, "spatial"},
		{"avg two outputs", "AveragePool", map[string]*ir.Attr{"kernel_shape": aInts(2, 2)}, x, 2, "outputs"},
		{"global rank 2", "GlobalAveragePool", nil, ir.NewTensor(ir.Float32, ir.Shape{2, 5}), 1, "spatial"},
		{"int input", "GlobalMaxPool", nil, ir.NewTensor(ir.Int64, ir.Shape{1, 2, 3}), 1, "dtype"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := h2Exec(h3MakeNode(tc.op, 1, tc.nout, tc.attrs), 19, []*ir.Tensor{tc.x}, nil, nil)
			h3MustErr(t, err, tc.name)
			if !strings.Contains(err.Error(), "("+tc.op+")") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks the op or %q", err, tc.want)
			}
		})
	}
}
