package ops

import (
	"math"

	"github.com/edgeml/edge/runtime/ir"
)

// BatchNormalization in inference form: Y = (X − mean)/sqrt(var + ε)·scale
// + B, precomputed as Y = X·a + b per channel (or, for opset 7–8 with
// spatial=0, per element of a sample). Training mode is unsupported.

func init() {
	Register(Registration{OpType: "BatchNormalization", MinOpset: 7, New: newBatchNorm})
}

type batchNormOp struct {
	node    *ir.Node
	eps     float64
	spatial bool

	// Set by Plan.
	planned bool
	n       int // samples
	groups  int // parameter entries per sample: C (spatial) or C·D1·…
	inner   int // elements per parameter entry in one sample
	a, b    []float32
}

func newBatchNorm(n *ir.Node, opset int) (Op, error) {
	bn := &batchNormOp{node: n, eps: float64(n.AttrFloat("epsilon", 1e-5)), spatial: true}
	if bn.eps < 0 || math.IsNaN(bn.eps) {
		return nil, nodeErrf(n, "epsilon %v must not be negative", bn.eps)
	}
	if opset < 9 {
		switch v := n.AttrInt("spatial", 1); v {
		case 0:
			bn.spatial = false
		case 1:
		default:
			return nil, nodeErrf(n, "spatial %d must be 0 or 1", v)
		}
	}
	if opset >= 14 {
		switch v := n.AttrInt("training_mode", 0); v {
		case 0:
		case 1:
			return nil, unsupportedf(n, "training_mode=1 (batch statistics) is not supported; edge runs inference only: export the model in eval mode")
		default:
			return nil, nodeErrf(n, "training_mode %d must be 0 or 1", v)
		}
	}
	if len(n.Outputs) < 1 {
		return nil, nodeErrf(n, "has no output")
	}
	for i, o := range n.Outputs[1:] {
		if o != "" {
			return nil, unsupportedf(n, "output %d (%q) holds training statistics; edge runs inference only: export the model in eval mode", i+1, o)
		}
	}
	return bn, nil
}

func (bn *batchNormOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := bn.node
	if err := needInputs(n, in, 5); err != nil {
		return nil, err
	}
	for i := 0; i < 5; i++ {
		if err := needDType(n, in, i, ir.Float32); err != nil {
			return nil, err
		}
	}
	xs := in[0].Shape
	if len(xs) < 2 {
		return nil, nodeErrf(n, "input X has shape %v; want N×C×…", xs)
	}
	want := ir.Shape{xs[1]}
	if !bn.spatial {
		want = xs[1:].Clone()
	}
	names := [...]string{"", "scale", "B", "mean", "var"}
	for i := 1; i < 5; i++ {
		s := in[i].Shape
		if !s.Equal(want) && !(bn.spatial && len(s) == 0 && xs[1] == 1) {
			return nil, nodeErrf(n, "%s has shape %v, want %v for X %v", names[i], s, want, xs)
		}
	}
	bn.n = xs[0]
	bn.groups = want.Size()
	bn.inner = xs[1:].Size() / max(bn.groups, 1)
	if in[1].Const != nil && in[2].Const != nil && in[3].Const != nil && in[4].Const != nil {
		bn.a, bn.b = bn.coefficients(in[1].Const.F32, in[2].Const.F32, in[3].Const.F32, in[4].Const.F32)
	}
	bn.planned = true
	return []Value{{DType: ir.Float32, Shape: xs.Clone()}}, nil
}

// coefficients returns a = scale/sqrt(var+ε) and b = B − mean·a.
func (bn *batchNormOp) coefficients(scale, bias, mean, variance []float32) (a, b []float32) {
	a = make([]float32, len(scale))
	b = make([]float32, len(scale))
	for i := range a {
		f := float64(scale[i]) / math.Sqrt(float64(variance[i])+bn.eps)
		a[i] = float32(f)
		b[i] = float32(float64(bias[i]) - float64(mean[i])*f)
	}
	return a, b
}

func (bn *batchNormOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(bn.node, in, 5, out, 1); err != nil {
		return err
	}
	if !bn.planned {
		return nodeErrf(bn.node, "run before plan")
	}
	a, b := bn.a, bn.b
	if a == nil {
		for i := 1; i < 5; i++ {
			if len(in[i].F32) != bn.groups {
				return nodeErrf(bn.node, "run: input %d has %d elements, planned %d", i, len(in[i].F32), bn.groups)
			}
		}
		a, b = bn.coefficients(in[1].F32, in[2].F32, in[3].F32, in[4].F32)
	}
	x, y := in[0].F32, out[0].F32
	total := bn.n * bn.groups * bn.inner
	if len(x) != total || len(y) != total {
		return nodeErrf(bn.node, "run: X has %d elements and Y %d, planned %d", len(x), len(y), total)
	}
	ctxPool(ctx).Parallel(bn.n*bn.groups, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			g := p % bn.groups
			av, bv := a[g], b[g]
			xs, ys := x[p*bn.inner:(p+1)*bn.inner], y[p*bn.inner:(p+1)*bn.inner]
			for i, v := range xs {
				ys[i] = v*av + bv
			}
		}
	})
	return nil
}
