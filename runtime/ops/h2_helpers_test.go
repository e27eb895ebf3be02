package ops

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// Test helpers for conv.go, gemm.go, matmul.go, pool.go, batchnorm.go
// and lrn.go. They build on h3_helpers_test.go (nodes, attributes,
// random tensors).

// h2Exec is h3Exec with an optional fused activation; it also returns
// the planned operator for MACs and kernel names.
func h2Exec(n *ir.Node, opset int, in []*ir.Tensor, konst []bool, act *kernels.Activation) ([]*ir.Tensor, Op, error) {
	outs, _, op, err := execNode(n, opset, in, konst, act)
	return outs, op, err
}

// execNode creates node n's operator (fusing act when non-nil), plans it
// with the inputs flagged in konst given as Const (a nil input is
// omitted) and runs it on a 3-thread pool. Float outputs are poisoned
// with NaN first, so an unwritten element shows; inputs are checked
// unmodified.
func execNode(n *ir.Node, opset int, in []*ir.Tensor, konst []bool, act *kernels.Activation) ([]*ir.Tensor, []Value, Op, error) {
	op, err := New(n, opset)
	if err != nil {
		return nil, nil, nil, err
	}
	if act != nil {
		f, ok := op.(Fuser)
		if !ok || !f.FuseActivation(*act) {
			return nil, nil, nil, fmt.Errorf("%s does not fuse %v", n.OpType, *act)
		}
	}
	vals := make([]Value, len(in))
	for i, t := range in {
		if t == nil {
			continue
		}
		vals[i] = Value{DType: t.DType, Shape: t.Shape}
		if i < len(konst) && konst[i] {
			vals[i].Const = t
		}
	}
	outv, err := op.Plan(&Env{Kernels: kernels.Config{}, Opset: opset}, vals)
	if err != nil {
		return nil, nil, nil, err
	}
	outs := make([]*ir.Tensor, len(outv))
	for i, v := range outv {
		outs[i] = ir.NewTensor(v.DType, v.Shape)
		for j := range outs[i].F32 {
			outs[i].F32[j] = float32(math.NaN()) // Run must write every element
		}
	}
	saved := make([]*ir.Tensor, len(in))
	for i, t := range in {
		if t != nil {
			saved[i] = t.Clone()
		}
	}
	pool := kernels.NewPool(3)
	defer pool.Close()
	ctx := &Ctx{Pool: pool, Scratch: func(k int) []float32 { return make([]float32, k) }}
	if err := op.Run(ctx, in, outs); err != nil {
		return nil, nil, nil, err
	}
	for i, t := range in {
		if t != nil && h3Compare(saved[i], t) != nil {
			return nil, nil, nil, errInputModified
		}
	}
	return outs, outv, op, nil
}

// h2Check compares got with the float64 reference want (and its shape).
func h2Check(t *testing.T, got *ir.Tensor, shape ir.Shape, want []float64, rtol, atol float64) {
	t.Helper()
	if !got.Shape.Equal(shape) {
		t.Fatalf("shape %v, want %v", got.Shape, shape)
	}
	if len(got.F32) != len(want) {
		t.Fatalf("%d elements, want %d", len(got.F32), len(want))
	}
	for i, w := range want {
		g := float64(got.F32[i])
		if math.IsNaN(w) != math.IsNaN(g) || math.Abs(g-w) > atol+rtol*math.Abs(w) {
			t.Fatalf("[%d] = %v, want %v", i, g, w)
		}
	}
}

// h2Geom is the ONNX output-size and padding rule, written out for the
// tests: explicit pads (floor, or ceil with windows starting in the end
// padding dropped), SAME_UPPER/SAME_LOWER, VALID.
func h2Geom(in, k, s, d, pads []int, autoPad string, ceil bool) (out, pb, pe []int) {
	nd := len(in)
	out, pb, pe = make([]int, nd), make([]int, nd), make([]int, nd)
	for i := 0; i < nd; i++ {
		eff := (k[i]-1)*d[i] + 1
		switch autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			out[i] = int(math.Ceil(float64(in[i]) / float64(s[i])))
			total := max(0, (out[i]-1)*s[i]+eff-in[i])
			if autoPad == "SAME_UPPER" {
				pb[i], pe[i] = total/2, total-total/2
			} else {
				pb[i], pe[i] = total-total/2, total/2
			}
			continue
		case "VALID":
			out[i] = int(math.Ceil(float64(in[i]-eff+1) / float64(s[i])))
			continue
		}
		if pads != nil {
			pb[i], pe[i] = pads[i], pads[nd+i]
		}
		f := float64(in[i]+pb[i]+pe[i]-eff)/float64(s[i]) + 1
		if ceil {
			out[i] = int(math.Ceil(f))
			if (out[i]-1)*s[i] >= in[i]+pb[i] {
				out[i]--
			}
		} else {
			out[i] = int(math.Floor(f))
		}
	}
	return out, pb, pe
}

// h2Window calls fn for every tap of window o: pos are the input
// coordinates, inside reports whether all lie in the input and padded
// whether all lie in [−pb, in+pe).
func h2Window(o, in, k, s, d, pb, pe []int, fn func(pos []int, inside, padded bool)) {
	nd := len(in)
	t := make([]int, nd)
	pos := make([]int, nd)
	for {
		inside, padded := true, true
		for i := 0; i < nd; i++ {
			pos[i] = o[i]*s[i] - pb[i] + t[i]*d[i]
			inside = inside && pos[i] >= 0 && pos[i] < in[i]
			padded = padded && pos[i] >= -pb[i] && pos[i] < in[i]+pe[i]
		}
		fn(pos, inside, padded)
		i := nd - 1
		for ; i >= 0; i-- {
			t[i]++
			if t[i] < k[i] {
				break
			}
			t[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

func h2Ints(v []int) *ir.Attr {
	a := &ir.Attr{Type: ir.AttrInts}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

func h2Ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}
