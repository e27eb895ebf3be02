package ops

import (
	"math"
	"sync/atomic"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// Add, Sub, Mul, Div (two inputs) and Sum (one or more) with
// multidirectional (numpy) broadcasting on float32, int64 and int32.
// Integer division truncates toward zero like C; an integer division by
// zero is a run-time error.

func init() {
	Register(Registration{OpType: "Add", New: newBinary(binAdd)})
	Register(Registration{OpType: "Sub", New: newBinary(binSub)})
	Register(Registration{OpType: "Mul", New: newBinary(binMul)})
	Register(Registration{OpType: "Div", New: newBinary(binDiv)})
	Register(Registration{OpType: "Sum", MinOpset: 6, New: newSum})
}

type binKind uint8

const (
	binAdd binKind = iota
	binSub
	binMul
	binDiv
)

// broadcastShapes returns the numpy broadcast of shapes, or an error
// naming the first mismatching dimension.
func broadcastShapes(n *ir.Node, shapes ...ir.Shape) (ir.Shape, error) {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make(ir.Shape, r)
	for i := range out {
		out[i] = 1
	}
	for k, s := range shapes {
		off := r - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case d == o || d == 1:
			case o == 1:
				out[off+i] = d
			default:
				return nil, nodeErrf(n, "input %d of shape %v does not broadcast with the other inputs (dimension %d is %d, others %d)", k, s, i, d, o)
			}
		}
	}
	return out, nil
}

// bcast describes a broadcast binary loop after dropping unit output
// dimensions and merging dimensions that are contiguous in both inputs.
// The innermost dimension has length inner and strides ia, ib in {0, 1}.
type bcast struct {
	dims       []int // outer dimensions (outermost first)
	sa, sb     []int // input strides of the outer dimensions
	inner      int
	ia, ib     int
	total      int
	sameShapes bool
}

func planBcast(out, a, b ir.Shape) bcast {
	r := len(out)
	stridesFor := func(s ir.Shape) []int {
		st := make([]int, r)
		acc := 1
		for i := r - 1; i >= 0; i-- {
			j := i - (r - len(s))
			if j >= 0 && s[j] == out[i] && out[i] != 1 {
				st[i] = acc
			}
			if j >= 0 {
				acc *= s[j]
			}
		}
		return st
	}
	as, bs := stridesFor(a), stridesFor(b)
	var dims, sa, sb []int
	for i := 0; i < r; i++ {
		if out[i] == 1 {
			continue
		}
		if k := len(dims) - 1; k >= 0 && sa[k] == as[i]*out[i] && sb[k] == bs[i]*out[i] {
			dims[k] *= out[i]
			sa[k], sb[k] = as[i], bs[i]
			continue
		}
		dims, sa, sb = append(dims, out[i]), append(sa, as[i]), append(sb, bs[i])
	}
	p := bcast{total: out.Size(), inner: 1, ia: 1, ib: 1}
	p.sameShapes = a.Equal(out) && b.Equal(out)
	if k := len(dims) - 1; k >= 0 {
		p.inner, p.ia, p.ib = dims[k], sa[k], sb[k]
		dims, sa, sb = dims[:k], sa[:k], sb[:k]
	}
	p.dims, p.sa, p.sb = dims, sa, sb
	return p
}

// rows is the number of inner rows.
func (p *bcast) rows() int {
	if p.total == 0 {
		return 0
	}
	return p.total / p.inner
}

// runRows calls fn(outOffset, aOffset, bOffset) for the inner rows
// [lo, hi) in order.
func (p *bcast) runRows(lo, hi int, fn func(o, a, b int) bool) bool {
	if lo >= hi {
		return true
	}
	idx := make([]int, len(p.dims))
	oa, ob := 0, 0
	r := lo
	for k := len(p.dims) - 1; k >= 0; k-- {
		idx[k] = r % p.dims[k]
		r /= p.dims[k]
		oa += idx[k] * p.sa[k]
		ob += idx[k] * p.sb[k]
	}
	for row := lo; row < hi; row++ {
		if !fn(row*p.inner, oa, ob) {
			return false
		}
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			oa += p.sa[k]
			ob += p.sb[k]
			if idx[k] < p.dims[k] {
				break
			}
			oa -= p.sa[k] * p.dims[k]
			ob -= p.sb[k] * p.dims[k]
			idx[k] = 0
		}
	}
	return true
}

// binRow computes dst[i] = a[i·ia] op b[i·ib] for i < len(dst).
func binRow[T numeric](k binKind, dst, a, b []T, ia, ib int) bool {
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(dst)], b[:len(dst)]
		switch k {
		case binAdd:
			for i := range dst {
				dst[i] = a[i] + b[i]
			}
		case binSub:
			for i := range dst {
				dst[i] = a[i] - b[i]
			}
		case binMul:
			for i := range dst {
				dst[i] = a[i] * b[i]
			}
		case binDiv:
			for i := range dst {
				if !divOK(b[i]) {
					return false
				}
				dst[i] = a[i] / b[i]
			}
		}
	case ia == 0 && ib == 1:
		x, b := a[0], b[:len(dst)]
		switch k {
		case binAdd:
			for i := range dst {
				dst[i] = x + b[i]
			}
		case binSub:
			for i := range dst {
				dst[i] = x - b[i]
			}
		case binMul:
			for i := range dst {
				dst[i] = x * b[i]
			}
		case binDiv:
			for i := range dst {
				if !divOK(b[i]) {
					return false
				}
				dst[i] = x / b[i]
			}
		}
	case ia == 1 && ib == 0:
		a, y := a[:len(dst)], b[0]
		if k == binDiv && !divOK(y) {
			return false
		}
		switch k {
		case binAdd:
			for i := range dst {
				dst[i] = a[i] + y
			}
		case binSub:
			for i := range dst {
				dst[i] = a[i] - y
			}
		case binMul:
			for i := range dst {
				dst[i] = a[i] * y
			}
		case binDiv:
			for i := range dst {
				dst[i] = a[i] / y
			}
		}
	default:
		x, y := a[0], b[0]
		if k == binDiv && !divOK(y) {
			return false
		}
		var v T
		switch k {
		case binAdd:
			v = x + y
		case binSub:
			v = x - y
		case binMul:
			v = x * y
		case binDiv:
			v = x / y
		}
		for i := range dst {
			dst[i] = v
		}
	}
	return true
}

// divOK reports whether v may be a divisor: any float, a non-zero integer.
func divOK[T numeric](v T) bool {
	var z T
	switch any(z).(type) {
	case float32:
		return true
	}
	return v != 0
}

// parallelMin is the output size from which elementwise loops are split
// over the session's pool.
const parallelMin = 1 << 16

func binApply[T numeric](n *ir.Node, k binKind, p *bcast, pool *kernels.Pool, dst, a, b []T) error {
	rows := p.rows()
	var failed atomic.Bool
	switch {
	case p.total < parallelMin || pool.Threads() == 1:
		failed.Store(!p.runRows(0, rows, func(o, oa, ob int) bool {
			return binRow(k, dst[o:o+p.inner], a[oa:], b[ob:], p.ia, p.ib)
		}))
	case rows >= pool.Threads():
		pool.Parallel(rows, func(lo, hi int) {
			if !p.runRows(lo, hi, func(o, oa, ob int) bool {
				return binRow(k, dst[o:o+p.inner], a[oa:], b[ob:], p.ia, p.ib)
			}) {
				failed.Store(true)
			}
		})
	default: // few long rows: split each row
		p.runRows(0, rows, func(o, oa, ob int) bool {
			pool.Parallel(p.inner, func(lo, hi int) {
				if !binRow(k, dst[o+lo:o+hi], a[oa+lo*p.ia:], b[ob+lo*p.ib:], p.ia, p.ib) {
					failed.Store(true)
				}
			})
			return true
		})
	}
	if failed.Load() {
		return nodeErrf(n, "integer division by zero")
	}
	return nil
}

// binaryRun computes out = a op b for any numeric dtype.
func binaryRun(n *ir.Node, k binKind, p *bcast, pool *kernels.Pool, out, a, b *ir.Tensor) error {
	switch out.DType {
	case ir.Float32:
		return binApply(n, k, p, pool, out.F32, a.F32, b.F32)
	case ir.Int64:
		return binApply(n, k, p, pool, out.I64, a.I64, b.I64)
	case ir.Int32:
		return binApply(n, k, p, pool, out.I32, a.I32, b.I32)
	}
	return unsupportedf(n, "dtype %v", out.DType)
}

type binaryOp struct {
	node    *ir.Node
	kind    binKind
	p       bcast
	act     kernels.Activation // fused Relu/Clip (Add only)
	add     *kernels.AddAct    // float32 Add of equal shapes, act fused
	planned bool
}

// KernelName names the add kernel of a float32 Add of equal shapes ("" for
// the other cases, which run the generic broadcasting loops).
func (b *binaryOp) KernelName() string {
	if b.add == nil {
		return ""
	}
	return b.add.Kernel()
}

// FuseActivation makes a following Relu or Clip part of an Add (the
// residual Add + Relu of ResNets: one pass instead of two). It must be
// called before Plan; other binary operators do not fuse.
func (b *binaryOp) FuseActivation(a kernels.Activation) bool {
	return b.kind == binAdd && fuseAct(&b.act, b.planned, a)
}

func newBinary(k binKind) Factory {
	return func(n *ir.Node, opset int) (Op, error) {
		if n.Has("broadcast") || n.Has("axis") {
			return nil, unsupportedf(n, "the legacy broadcast/axis attributes (opset < 7) are not supported; re-export with opset ≥ 7")
		}
		return &binaryOp{node: n, kind: k}, nil
	}
}

func (b *binaryOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := b.node
	if err := needInputs(n, in, 2); err != nil {
		return nil, err
	}
	if err := needDType(n, in, 0, ir.Float32, ir.Int64, ir.Int32); err != nil {
		return nil, err
	}
	if in[1].DType != in[0].DType {
		return nil, nodeErrf(n, "input dtypes differ: %v and %v", in[0].DType, in[1].DType)
	}
	out, err := broadcastShapes(n, in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	if b.act.Kind == kernels.ActClip && in[0].DType != ir.Float32 {
		return nil, nodeErrf(n, "a fused Clip needs float32 inputs, got %v", in[0].DType)
	}
	b.p = planBcast(out, in[0].Shape, in[1].Shape)
	b.add = nil
	if b.kind == binAdd && in[0].DType == ir.Float32 && b.p.sameShapes {
		b.add = kernels.NewAddAct(env.Kernels, b.act)
	}
	b.planned = true
	return []Value{{DType: in[0].DType, Shape: out}}, nil
}

func (b *binaryOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(b.node, in, 2, out, 1); err != nil {
		return err
	}
	pool := ctxPool(ctx)
	y := out[0]
	if b.add != nil {
		b.add.Run(pool, y.F32, in[0].F32, in[1].F32)
		return nil
	}
	if err := binaryRun(b.node, b.kind, &b.p, pool, y, in[0], in[1]); err != nil {
		return err
	}
	switch {
	case b.act.Kind == kernels.ActNone:
	case y.DType == ir.Float32:
		b.act.ApplySlice(y.F32)
	case y.DType == ir.Int64: // Relu (Clip fuses only on float32)
		clampInts(y.I64, y.I64, 0, math.MaxInt64)
	case y.DType == ir.Int32:
		clampInts(y.I32, y.I32, 0, math.MaxInt32)
	}
	return nil
}

// sumOp adds one or more inputs; from the second input on it accumulates
// into the output in place.
type sumOp struct {
	node  *ir.Node
	first bcast   // in0 + in1 (or in0 broadcast when alone)
	rest  []bcast // out + in[i], i ≥ 2
}

func newSum(n *ir.Node, opset int) (Op, error) {
	if len(n.Inputs) == 0 {
		return nil, nodeErrf(n, "needs at least one input")
	}
	return &sumOp{node: n}, nil
}

func (s *sumOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := s.node
	if len(in) == 0 {
		return nil, nodeErrf(n, "needs at least one input")
	}
	if err := needInputs(n, in, len(in)); err != nil {
		return nil, err
	}
	if err := needDType(n, in, 0, ir.Float32, ir.Int64, ir.Int32); err != nil {
		return nil, err
	}
	shapes := make([]ir.Shape, len(in))
	for i, v := range in {
		if v.DType != in[0].DType {
			return nil, nodeErrf(n, "input %d has dtype %v, input 0 %v", i, v.DType, in[0].DType)
		}
		shapes[i] = v.Shape
	}
	out, err := broadcastShapes(n, shapes...)
	if err != nil {
		return nil, err
	}
	if len(in) == 1 {
		s.first = planBcast(out, in[0].Shape, ir.Shape{})
	} else {
		s.first = planBcast(out, in[0].Shape, in[1].Shape)
	}
	s.rest = nil
	for i := 2; i < len(in); i++ {
		s.rest = append(s.rest, planBcast(out, out, in[i].Shape))
	}
	return []Value{{DType: in[0].DType, Shape: out}}, nil
}

func (s *sumOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	nin := 1
	if len(in) > 1 {
		nin = len(s.rest) + 2
	}
	if err := checkRun(s.node, in, nin, out, 1); err != nil {
		return err
	}
	y := out[0]
	if len(in) == 1 {
		zero := ir.NewTensor(y.DType, ir.Shape{})
		return binaryRun(s.node, binAdd, &s.first, ctxPool(ctx), y, in[0], zero)
	}
	if err := binaryRun(s.node, binAdd, &s.first, ctxPool(ctx), y, in[0], in[1]); err != nil {
		return err
	}
	for i := range s.rest {
		if err := binaryRun(s.node, binAdd, &s.rest[i], ctxPool(ctx), y, y, in[i+2]); err != nil {
			return err
		}
	}
	return nil
}
