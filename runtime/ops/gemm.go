package ops

import (
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// Gemm: Y = alpha·op(A)·op(B) + beta·C with C unidirectionally
// broadcast to M×N (scalar, [N], [1,N], [M,1], [M,N]), through the GEMM
// kernel chosen at plan time, with an optional fused Relu/Clip epilogue.

func init() {
	Register(Registration{OpType: "Gemm", MinOpset: 7, New: newGemm})
}

type gemmOp struct {
	node           *ir.Node
	alpha, beta    float32
	transA, transB bool
	act            kernels.Activation

	// Set by Plan.
	planned bool
	m, n, k int
	hasC    bool
	cm, cn  int // C's dimensions as broadcast rows × columns (1 or M, 1 or N)
	kernel  *kernels.GemmKernel
}

func newGemm(n *ir.Node, opset int) (Op, error) {
	g := &gemmOp{node: n, alpha: n.AttrFloat("alpha", 1), beta: n.AttrFloat("beta", 1)}
	for _, t := range []struct {
		name string
		dst  *bool
	}{{"transA", &g.transA}, {"transB", &g.transB}} {
		switch v := n.AttrInt(t.name, 0); v {
		case 0:
		case 1:
			*t.dst = true
		default:
			return nil, nodeErrf(n, "%s %d must be 0 or 1", t.name, v)
		}
	}
	if n.Has("broadcast") {
		return nil, unsupportedf(n, "the broadcast attribute belongs to Gemm before opset 7; re-export the model with opset ≥ 7")
	}
	if len(n.Outputs) != 1 {
		return nil, nodeErrf(n, "has %d outputs, want 1", len(n.Outputs))
	}
	return g, nil
}

// FuseActivation makes Relu or Clip the GEMM's epilogue. It must be
// called before Plan; only one activation can be fused.
func (g *gemmOp) FuseActivation(a kernels.Activation) bool {
	if g.planned || g.act.Kind != kernels.ActNone {
		return false
	}
	switch a.Kind {
	case kernels.ActRelu, kernels.ActClip:
		g.act = a
		return true
	}
	return false
}

// MACs is the multiply-accumulate count of one run.
func (g *gemmOp) MACs() int64 { return int64(g.m) * int64(g.n) * int64(g.k) }

// KernelName names the GEMM kernel.
func (g *gemmOp) KernelName() string {
	if g.kernel == nil {
		return ""
	}
	return g.kernel.Name
}

func (g *gemmOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := g.node
	if err := needInputs(n, in, 2); err != nil {
		return nil, err
	}
	for i := 0; i < 3; i++ {
		if present(in, i) {
			if err := needDType(n, in, i, ir.Float32); err != nil {
				return nil, err
			}
		}
	}
	as, bs := in[0].Shape, in[1].Shape
	if len(as) != 2 || len(bs) != 2 {
		return nil, nodeErrf(n, "A %v and B %v must be matrices", as, bs)
	}
	m, ka := as[0], as[1]
	if g.transA {
		m, ka = ka, m
	}
	kb, nn := bs[0], bs[1]
	if g.transB {
		kb, nn = nn, kb
	}
	if ka != kb {
		return nil, nodeErrf(n, "inner dimensions differ: op(A) is %d×%d, op(B) is %d×%d (transA=%v, transB=%v)", m, ka, kb, nn, g.transA, g.transB)
	}
	g.m, g.n, g.k = m, nn, ka
	g.hasC = present(in, 2)
	if g.hasC {
		cs := in[2].Shape
		switch len(cs) {
		case 0:
			g.cm, g.cn = 1, 1
		case 1:
			g.cm, g.cn = 1, cs[0]
		case 2:
			g.cm, g.cn = cs[0], cs[1]
		default:
			return nil, nodeErrf(n, "C has shape %v; want a scalar, vector or matrix broadcastable to %d×%d", cs, m, nn)
		}
		if (g.cm != 1 && g.cm != m) || (g.cn != 1 && g.cn != nn) {
			return nil, nodeErrf(n, "C has shape %v, which does not broadcast to %d×%d", cs, m, nn)
		}
	}
	g.kernel = kernels.SelectGemm(env.Kernels)
	g.planned = true
	return []Value{{DType: ir.Float32, Shape: ir.Shape{m, nn}}}, nil
}

func (g *gemmOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(g.node, in, 2, out, 1); err != nil {
		return err
	}
	if !g.planned {
		return nodeErrf(g.node, "run before plan")
	}
	m, n, k := g.m, g.n, g.k
	a, b, y := in[0].F32, in[1].F32, out[0].F32
	if len(a) != m*k || len(b) != k*n || len(y) != m*n {
		return nodeErrf(g.node, "run: operand sizes %d, %d, %d differ from the planned %d×%d·%d×%d", len(a), len(b), len(y), m, k, k, n)
	}
	var beta float32
	if g.hasC && presentT(in, 2) && g.beta != 0 {
		c := in[2].F32
		if len(c) != g.cm*g.cn {
			return nodeErrf(g.node, "run: C has %d elements, planned %d×%d", len(c), g.cm, g.cn)
		}
		for i := 0; i < m; i++ {
			row := y[i*n : (i+1)*n]
			ci := 0
			if g.cm != 1 {
				ci = i * g.cn
			}
			if g.cn == 1 {
				v := g.beta * c[ci]
				for j := range row {
					row[j] = v
				}
			} else {
				for j, v := range c[ci : ci+n] {
					row[j] = g.beta * v
				}
			}
		}
		beta = 1
	}
	lda, ldb := k, n
	if g.transA {
		lda = m
	}
	if g.transB {
		ldb = k
	}
	if k == 0 {
		// An empty product: Y is beta·C (or zero).
		if beta == 0 {
			clear(y)
		}
	} else {
		g.kernel.Sgemm(ctxPool(ctx), g.transA, g.transB, m, n, k, g.alpha, a, max(lda, 1), b, max(ldb, 1), beta, y, max(n, 1))
	}
	g.act.ApplySlice(y)
	return nil
}
