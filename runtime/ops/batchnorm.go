package ops

import (
	"math"

	"github.com/edgeml/edge/runtime/ir"
)

// BatchNormalization. Inference form: Y = (X − mean)/sqrt(var + ε)·scale
// + B, precomputed as Y = X·a + b per channel (or, for opset 7–8 with
// spatial=0, per element of a sample). training_mode=1 (opset ≥ 14)
// normalizes with the batch statistics instead and returns the updated
// running statistics input·momentum + batch·(1 − momentum), the variance
// being the population variance, as the ONNX reference does. The training
// outputs of opset 7–13 are unsupported.

func init() {
	Register(Registration{OpType: "BatchNormalization", MinOpset: 7, New: newBatchNorm})
}

type batchNormOp struct {
	node     *ir.Node
	eps      float64
	spatial  bool
	training bool
	momentum float64

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
			bn.training = true
			bn.momentum = float64(n.AttrFloat("momentum", 0.9))
		default:
			return nil, nodeErrf(n, "training_mode %d must be 0 or 1", v)
		}
	}
	if len(n.Outputs) < 1 {
		return nil, nodeErrf(n, "has no output")
	}
	if bn.training && len(n.Outputs) > 3 {
		return nil, nodeErrf(n, "has %d outputs, want at most 3 (Y, running_mean, running_var)", len(n.Outputs))
	}
	for i, o := range n.Outputs[1:] {
		if o != "" && !bn.training {
			return nil, unsupportedf(n, "output %d (%q) holds training statistics; edge runs inference only: export the model in eval mode", i+1, o)
		}
	}
	return bn, nil
}

// KernelName names the implementation (a per-channel affine map, or
// batch statistics in training mode).
func (bn *batchNormOp) KernelName() string {
	if bn.training {
		return "f32-batchnorm-train-generic"
	}
	return "f32-batchnorm-affine-generic"
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
	if bn.training {
		if !bn.spatial {
			return nil, unsupportedf(n, "training_mode with spatial=0")
		}
		bn.planned = true
		outs := []Value{{DType: ir.Float32, Shape: xs.Clone()}}
		for range n.Outputs[1:] {
			outs = append(outs, Value{DType: ir.Float32, Shape: want.Clone()})
		}
		return outs, nil
	}
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
	if bn.training {
		return bn.runTraining(ctx, in, out)
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

// runTraining normalizes with the batch's per-channel mean and population
// variance and writes the updated running statistics to the optional
// outputs 1 and 2.
func (bn *batchNormOp) runTraining(ctx *Ctx, in, out []*ir.Tensor) error {
	c := bn.groups
	for i := 1; i < 5; i++ {
		if len(in[i].F32) != c {
			return nodeErrf(bn.node, "run: input %d has %d elements, planned %d", i, len(in[i].F32), c)
		}
	}
	x, y := in[0].F32, out[0].F32
	total := bn.n * c * bn.inner
	if len(x) != total || len(y) != total {
		return nodeErrf(bn.node, "run: X has %d elements and Y %d, planned %d", len(x), len(y), total)
	}
	mean, variance := make([]float64, c), make([]float64, c)
	count := float64(bn.n * bn.inner)
	ctxPool(ctx).Parallel(c, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var s float64
			for img := 0; img < bn.n; img++ {
				for _, v := range x[(img*c+ch)*bn.inner : (img*c+ch+1)*bn.inner] {
					s += float64(v)
				}
			}
			m := s / count
			var q float64
			for img := 0; img < bn.n; img++ {
				for _, v := range x[(img*c+ch)*bn.inner : (img*c+ch+1)*bn.inner] {
					d := float64(v) - m
					q += d * d
				}
			}
			mean[ch], variance[ch] = m, q/count
			if count == 0 {
				mean[ch], variance[ch] = math.NaN(), math.NaN()
			}
			f := float64(in[1].F32[ch]) / math.Sqrt(variance[ch]+bn.eps)
			a, b := float32(f), float32(float64(in[2].F32[ch])-m*f)
			for img := 0; img < bn.n; img++ {
				o := (img*c + ch) * bn.inner
				for i, v := range x[o : o+bn.inner] {
					y[o+i] = v*a + b
				}
			}
		}
	})
	for k, src := range [][]float64{mean, variance} {
		if 1+k >= len(out) || out[1+k] == nil {
			continue
		}
		dst, prev := out[1+k].F32, in[3+k].F32
		if len(dst) != c {
			return nodeErrf(bn.node, "run: output %d has %d elements, planned %d", 1+k, len(dst), c)
		}
		for ch := range dst {
			dst[ch] = float32(float64(prev[ch])*bn.momentum + src[ch]*(1-bn.momentum))
		}
	}
	return nil
}
