package ops

import (
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// Gemm: Y = alpha·op(A)·op(B) + beta·C with C unidirectionally
// broadcast to M×N (scalar, [N], [1,N], [M,1], [M,N]), with an optional
// fused Relu/Clip epilogue. With a constant B and no transA (a fully
// connected layer) the weights are packed once at plan time into a
// kernels.Dense, alpha and beta·C folded in; otherwise the GEMM kernel
// chosen at plan time runs with a row/column bias epilogue, or after
// filling Y with beta·C for a full C.

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
	// dense is the packed fully connected layer used when B is a
	// constant, A is not transposed and beta·C is absent or a constant
	// per-column bias; it then does the whole operator.
	dense *kernels.Dense
	// bias is beta·C expanded to a row (N) or column (M) vector when C is
	// a constant that broadcasts that way.
	bias []float32
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
	return fuseAct(&g.act, g.planned, a)
}

// MACs is the multiply-accumulate count of one run.
func (g *gemmOp) MACs() int64 { return int64(g.m) * int64(g.n) * int64(g.k) }

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
	g.kernel = kernels.SelectGemmFor(env.Kernels, max(m, 1), max(nn, 1), max(ka, 1))
	useC := g.hasC && g.beta != 0
	if useC && in[2].Const != nil && (g.cm == 1 || g.cn == 1) {
		g.bias = g.biasVector(in[2].Const.F32)
	}
	rowBias := useC && g.cm != 1 && g.cn == 1
	if in[1].Const != nil && !g.transA && ka > 0 && nn > 0 && (!useC || (g.bias != nil && !rowBias)) {
		// W (N×K) = alpha·op(B)ᵀ.
		b := in[1].Const.F32
		w := b // transB and alpha 1: B already is W, and NewDense packs a copy
		if !g.transB || g.alpha != 1 {
			w = make([]float32, nn*ka)
			for j := 0; j < nn; j++ {
				for l := 0; l < ka; l++ {
					if g.transB {
						w[j*ka+l] = g.alpha * b[j*ka+l]
					} else {
						w[j*ka+l] = g.alpha * b[l*nn+j]
					}
				}
			}
		}
		var bias []float32
		if useC {
			bias = g.bias
		}
		d, err := kernels.NewDense(env.Kernels, ka, nn, m, w, bias, g.act)
		if err != nil {
			return nil, nodeErrf(n, "%v", err)
		}
		g.dense = d
	}
	g.planned = true
	return []Value{{DType: ir.Float32, Shape: ir.Shape{m, nn}}}, nil
}

// biasVector returns beta·C expanded to N elements (C broadcast along
// rows) or M elements (C a column, M > 1).
func (g *gemmOp) biasVector(c []float32) []float32 {
	size, stride := g.n, 1
	if g.cm != 1 {
		size = g.m
	}
	if len(c) == 1 {
		stride = 0
	}
	v := make([]float32, size)
	for i := range v {
		v[i] = g.beta * c[i*stride]
	}
	return v
}

func (g *gemmOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(g.node, in, 2, out, 1); err != nil {
		return err
	}
	if !g.planned {
		return nodeErrf(g.node, "run before plan")
	}
	m, n, k := g.m, g.n, g.k
	a, y := in[0].F32, out[0].F32
	pool := ctxPool(ctx)
	if g.dense != nil {
		// B and C are packed in dense (Absorbs): their data is not read.
		if len(a) != m*k || len(y) != m*n {
			return nodeErrf(g.node, "run: operand sizes %d, %d differ from the planned %d×%d, %d×%d", len(a), len(y), m, k, m, n)
		}
		g.dense.Run(pool, m, a, y)
		return nil
	}
	b := in[1].F32
	if len(a) != m*k || len(b) != k*n || len(y) != m*n {
		return nodeErrf(g.node, "run: operand sizes %d, %d, %d differ from the planned %d×%d·%d×%d", len(a), len(b), len(y), m, k, k, n)
	}
	ep := kernels.Epilogue{Act: g.act}
	var beta float32
	if g.hasC && presentT(in, 2) && g.beta != 0 {
		c := in[2].F32
		if len(c) != g.cm*g.cn {
			return nodeErrf(g.node, "run: C has %d elements, planned %d×%d", len(c), g.cm, g.cn)
		}
		switch {
		case g.cm == 1 || g.cn == 1:
			bias := g.bias
			if bias == nil {
				bias = g.biasVector(c)
			}
			if g.cm != 1 {
				ep.RowBias = bias
			} else {
				ep.ColBias = bias
			}
		default:
			for i := 0; i < m; i++ {
				row, src := y[i*n:(i+1)*n], c[i*n:(i+1)*n]
				for j, v := range src {
					row[j] = g.beta * v
				}
			}
			beta = 1
		}
	}
	lda, ldb := k, n
	if g.transA {
		lda = m
	}
	if g.transB {
		ldb = k
	}
	g.kernel.SgemmEpilogue(pool, g.transA, g.transB, m, n, k, g.alpha, a, max(lda, 1), b, max(ldb, 1), beta, y, max(n, 1), ep)
	return nil
}

// KernelName names the GEMM kernel (the packed dense kernel when used).
func (g *gemmOp) KernelName() string {
	switch {
	case g.dense != nil:
		return g.dense.Kernel()
	case g.kernel != nil:
		return g.kernel.Name
	}
	return ""
}
