package ops

import (
	"math"

	"github.com/edgeml/edge/runtime/ir"
)

// LRN: local response normalization across channels,
// y = x / (bias + alpha/size · Σ x²)^beta, the sum running over channels
// [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉] clipped to [0, C).

func init() {
	Register(Registration{OpType: "LRN", MinOpset: 1, New: newLRN})
}

type lrnOp struct {
	node              *ir.Node
	size              int
	alpha, beta, bias float64

	// Set by Plan.
	planned bool
	n, c    int
	inner   int // spatial elements per channel
}

func newLRN(n *ir.Node, opset int) (Op, error) {
	if !n.Has("size") {
		return nil, nodeErrf(n, "attribute size is required")
	}
	size := n.AttrInt("size", 0)
	if size < 1 || size > maxAttr {
		return nil, nodeErrf(n, "size %d must be positive", size)
	}
	l := &lrnOp{node: n, size: int(size),
		alpha: float64(n.AttrFloat("alpha", 1e-4)),
		beta:  float64(n.AttrFloat("beta", 0.75)),
		bias:  float64(n.AttrFloat("bias", 1)),
	}
	if len(n.Outputs) != 1 {
		return nil, nodeErrf(n, "has %d outputs, want 1", len(n.Outputs))
	}
	return l, nil
}

// KernelName names the implementation.
func (l *lrnOp) KernelName() string { return "f32-lrn-generic" }

func (l *lrnOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := l.node
	if err := needInputs(n, in, 1); err != nil {
		return nil, err
	}
	if err := needDType(n, in, 0, ir.Float32); err != nil {
		return nil, err
	}
	xs := in[0].Shape
	if len(xs) < 3 {
		return nil, nodeErrf(n, "input X has shape %v; want N×C×D1×…", xs)
	}
	l.n, l.c, l.inner = xs[0], xs[1], xs[2:].Size()
	l.planned = true
	return []Value{{DType: ir.Float32, Shape: xs.Clone()}}, nil
}

func (l *lrnOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(l.node, in, 1, out, 1); err != nil {
		return err
	}
	if !l.planned {
		return nodeErrf(l.node, "run before plan")
	}
	x, y := in[0].F32, out[0].F32
	total := l.n * l.c * l.inner
	if len(x) != total || len(y) != total {
		return nodeErrf(l.node, "run: X has %d elements and Y %d, planned %d", len(x), len(y), total)
	}
	before, after := (l.size-1)/2, l.size/2 // ⌊(size−1)/2⌋ and ⌈(size−1)/2⌉
	scale := l.alpha / float64(l.size)
	hw := l.inner
	ctxPool(ctx).Parallel(l.n*l.c, func(lo, hi int) {
		sum := make([]float64, hw)
		for p := lo; p < hi; p++ {
			img, c := p/l.c, p%l.c
			clear(sum)
			for j := max(0, c-before); j <= min(l.c-1, c+after); j++ {
				xs := x[(img*l.c+j)*hw : (img*l.c+j+1)*hw]
				for i, v := range xs {
					sum[i] += float64(v) * float64(v)
				}
			}
			xs, ys := x[p*hw:(p+1)*hw], y[p*hw:(p+1)*hw]
			for i, v := range xs {
				ys[i] = float32(float64(v) / math.Pow(l.bias+scale*sum[i], l.beta))
			}
		}
	})
	return nil
}
