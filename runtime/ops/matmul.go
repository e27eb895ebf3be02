package ops

import (
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// MatMul: numpy.matmul semantics. A 1-D A is a row vector and a 1-D B a
// column vector (the added dimension is removed from the result); leading
// batch dimensions broadcast. When B has no batch dimensions the batch of
// A is folded into the rows of one GEMM, and a constant B is packed once
// at plan time (kernels.Dense).

func init() {
	Register(Registration{OpType: "MatMul", MinOpset: 1, New: newMatMul})
}

type matMulOp struct {
	node *ir.Node

	// Set by Plan.
	planned bool
	m, n, k int
	batch   ir.Shape // broadcast batch dimensions of the output
	aBatch  []int    // per output batch dimension: A's element stride (0 when broadcast)
	bBatch  []int
	fold    bool // B has a single matrix: one GEMM of (batch·m)×k by k×n
	kernel  *kernels.GemmKernel
	dense   *kernels.Dense // fold with a constant B: packed once at plan time
}

func newMatMul(n *ir.Node, opset int) (Op, error) {
	if len(n.Outputs) != 1 {
		return nil, nodeErrf(n, "has %d outputs, want 1", len(n.Outputs))
	}
	return &matMulOp{node: n}, nil
}

// MACs is the multiply-accumulate count of one run.
func (o *matMulOp) MACs() int64 {
	return int64(o.batch.Size()) * int64(o.m) * int64(o.n) * int64(o.k)
}

// KernelName names the GEMM kernel (the packed dense kernel when used).
func (o *matMulOp) KernelName() string {
	switch {
	case o.dense != nil:
		return o.dense.Kernel()
	case o.kernel != nil:
		return o.kernel.Name
	}
	return ""
}

func (o *matMulOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := o.node
	if err := needInputs(n, in, 2); err != nil {
		return nil, err
	}
	for i := 0; i < 2; i++ {
		if err := needDType(n, in, i, ir.Float32); err != nil {
			return nil, err
		}
	}
	as, bs := in[0].Shape, in[1].Shape
	if len(as) == 0 || len(bs) == 0 {
		return nil, nodeErrf(n, "operands %v and %v must have rank ≥ 1", as, bs)
	}
	a2, b2 := as, bs
	if len(as) == 1 {
		a2 = ir.Shape{1, as[0]}
	}
	if len(bs) == 1 {
		b2 = ir.Shape{bs[0], 1}
	}
	o.m, o.k = a2[len(a2)-2], a2[len(a2)-1]
	kb := b2[len(b2)-2]
	o.n = b2[len(b2)-1]
	if o.k != kb {
		return nil, nodeErrf(n, "inner dimensions differ: A %v, B %v", as, bs)
	}
	ab, bb := a2[:len(a2)-2], b2[:len(b2)-2]
	rank := max(len(ab), len(bb))
	o.batch = make(ir.Shape, rank)
	o.aBatch = make([]int, rank)
	o.bBatch = make([]int, rank)
	aStride, bStride := o.m*o.k, o.k*o.n
	for i := rank - 1; i >= 0; i-- {
		da, db := 1, 1
		if j := i - (rank - len(ab)); j >= 0 {
			da = ab[j]
		}
		if j := i - (rank - len(bb)); j >= 0 {
			db = bb[j]
		}
		switch {
		case da == db:
			o.batch[i] = da
		case da == 1:
			o.batch[i] = db
		case db == 1:
			o.batch[i] = da
		default:
			return nil, nodeErrf(n, "batch dimensions of A %v and B %v do not broadcast", as, bs)
		}
		if da != 1 {
			o.aBatch[i] = aStride
		}
		if db != 1 {
			o.bBatch[i] = bStride
		}
		aStride *= da
		bStride *= db
	}
	o.fold = bb.Size() == 1 && ab.Size() == o.batch.Size()
	out := o.batch.Clone()
	if len(as) > 1 {
		out = append(out, o.m)
	}
	if len(bs) > 1 {
		out = append(out, o.n)
	}
	if err := sizeOK(n, out); err != nil {
		return nil, err
	}
	o.kernel = kernels.SelectGemmFor(env.Kernels, max(o.m, 1), max(o.n, 1), max(o.k, 1))
	if o.fold && in[1].Const != nil && o.k > 0 && o.n > 0 {
		b := in[1].Const.F32
		w := make([]float32, o.n*o.k) // Bᵀ
		for l := 0; l < o.k; l++ {
			for j := 0; j < o.n; j++ {
				w[j*o.k+l] = b[l*o.n+j]
			}
		}
		d, err := kernels.NewDense(env.Kernels, o.k, o.n, max(o.batch.Size()*o.m, 1), w, nil, kernels.Activation{})
		if err != nil {
			return nil, nodeErrf(n, "%v", err)
		}
		o.dense = d
	}
	o.planned = true
	return []Value{{DType: ir.Float32, Shape: out}}, nil
}

func (o *matMulOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(o.node, in, 2, out, 1); err != nil {
		return err
	}
	if !o.planned {
		return nodeErrf(o.node, "run before plan")
	}
	a, b, y := in[0].F32, in[1].F32, out[0].F32
	m, n, k := o.m, o.n, o.k
	nb := o.batch.Size()
	if len(y) != nb*m*n {
		return nodeErrf(o.node, "run: Y has %d elements, planned %d", len(y), nb*m*n)
	}
	if len(y) == 0 {
		return nil
	}
	if k == 0 {
		clear(y)
		return nil
	}
	pool := ctxPool(ctx)
	if o.fold && o.dense != nil {
		// B is packed in dense (Absorbs): its data is not read.
		if len(a) != nb*m*k {
			return nodeErrf(o.node, "run: A has %d elements, planned %d", len(a), nb*m*k)
		}
		o.dense.Run(pool, nb*m, a, y)
		return nil
	}
	if o.fold {
		if len(a) != nb*m*k || len(b) != k*n {
			return nodeErrf(o.node, "run: A has %d and B %d elements, planned %d and %d", len(a), len(b), nb*m*k, k*n)
		}
		if o.dense != nil {
			o.dense.Run(pool, nb*m, a, y)
		} else {
			o.kernel.Sgemm(pool, false, false, nb*m, n, k, 1, a, k, b, n, 0, y, n)
		}
		return nil
	}
	idx := make([]int, len(o.batch))
	for i := 0; i < nb; i++ {
		ao, bo := 0, 0
		for d, v := range idx {
			ao += v * o.aBatch[d]
			bo += v * o.bBatch[d]
		}
		if ao+m*k > len(a) || bo+k*n > len(b) {
			return nodeErrf(o.node, "run: operands smaller than planned")
		}
		o.kernel.Sgemm(pool, false, false, m, n, k, 1, a[ao:], k, b[bo:], n, 0, y[i*m*n:], n)
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < o.batch[d] {
				break
			}
			idx[d] = 0
		}
	}
	return nil
}
