package ops

import (
	"github.com/edgeml/edge/runtime/ir"
)

// Concat, Transpose and Gather: data movement on any executable dtype.

func init() {
	Register(Registration{OpType: "Concat", MinOpset: 4, New: newConcat})
	Register(Registration{OpType: "Transpose", MinOpset: 1, New: newTranspose})
	Register(Registration{OpType: "Gather", MinOpset: 1, New: newGather})
}

type concatOp struct {
	node   *ir.Node
	axis   int64
	outer  int
	rows   []int  // elements per outer index for each input
	placed []bool // inputs written in place by their producers (Placer)
}

func newConcat(n *ir.Node, opset int) (Op, error) {
	if !n.Has("axis") {
		return nil, nodeErrf(n, "attribute axis is required")
	}
	if len(n.Inputs) == 0 {
		return nil, nodeErrf(n, "needs at least one input")
	}
	return &concatOp{node: n, axis: n.AttrInt("axis", 0)}, nil
}

func (c *concatOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := c.node
	if len(in) == 0 {
		return nil, nodeErrf(n, "needs at least one input")
	}
	if err := needInputs(n, in, len(in)); err != nil {
		return nil, err
	}
	if err := needDType(n, in, 0, executable...); err != nil {
		return nil, err
	}
	first := in[0].Shape
	r := len(first)
	axis, err := normAxis(n, "axis", c.axis, r)
	if err != nil {
		return nil, err
	}
	out := first.Clone()
	out[axis] = 0
	c.rows = c.rows[:0]
	c.placed = make([]bool, len(in))
	inner := first[axis+1:].Size()
	for i, v := range in {
		if v.DType != in[0].DType {
			return nil, nodeErrf(n, "input %d has dtype %v, input 0 %v", i, v.DType, in[0].DType)
		}
		if len(v.Shape) != r {
			return nil, nodeErrf(n, "input %d has rank %d, input 0 rank %d", i, len(v.Shape), r)
		}
		for k, d := range v.Shape {
			if k != axis && d != first[k] {
				return nil, nodeErrf(n, "input %d of shape %v does not match input 0 of shape %v outside axis %d", i, v.Shape, first, axis)
			}
		}
		out[axis] += v.Shape[axis]
		c.rows = append(c.rows, v.Shape[axis]*inner)
	}
	c.outer = first[:axis].Size()
	return []Value{{DType: in[0].DType, Shape: out}}, nil
}

// Regions implements Placer: with one outer index (every dimension
// before the axis is 1), input i is the contiguous run of output 0 that
// starts at the sum of the sizes of inputs 0..i-1.
func (c *concatOp) Regions() []int {
	if c.outer != 1 {
		return nil
	}
	offs := make([]int, len(c.rows))
	off := 0
	for i, r := range c.rows {
		offs[i] = off
		off += r
	}
	return offs
}

// Place implements Placer: input i's producer writes it into output 0.
func (c *concatOp) Place(i int) {
	if c.outer == 1 && i >= 0 && i < len(c.placed) {
		c.placed[i] = true
	}
}

// KernelName reports how the inputs reach the output: "concat-copy"
// (every input copied), "concat-in-place" (every producer writes its
// region of the output; Run does nothing) or "concat-partial".
func (c *concatOp) KernelName() string {
	n := 0
	for _, p := range c.placed {
		if p {
			n++
		}
	}
	switch {
	case n == 0:
		return "concat-copy"
	case n == len(c.placed):
		return "concat-in-place"
	}
	return "concat-partial"
}

func concatRun[T elem](c *concatOp, in []*ir.Tensor, out *ir.Tensor) {
	dst := dataOf[T](out)
	total := 0
	for _, r := range c.rows {
		total += r
	}
	off := 0
	for i, r := range c.rows {
		if c.placed[i] {
			off += r
			continue
		}
		src := dataOf[T](in[i])
		for o := 0; o < c.outer; o++ {
			copy(dst[o*total+off:o*total+off+r], src[o*r:(o+1)*r])
		}
		off += r
	}
}

func (c *concatOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(c.node, in, len(c.rows), out, 1); err != nil {
		return err
	}
	switch out[0].DType {
	case ir.Float32:
		concatRun[float32](c, in, out[0])
	case ir.Int64:
		concatRun[int64](c, in, out[0])
	case ir.Int32:
		concatRun[int32](c, in, out[0])
	case ir.Bool:
		concatRun[bool](c, in, out[0])
	}
	return nil
}

type transposeOp struct {
	node  *ir.Node
	perm  []int64
	dims  []int // output shape
	strid []int // input stride of each output dimension
}

func newTranspose(n *ir.Node, opset int) (Op, error) {
	t := &transposeOp{node: n}
	if n.Has("perm") {
		t.perm = append([]int64{}, n.AttrInts("perm")...)
	}
	return t, nil
}

func (t *transposeOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := t.node
	if err := needInputs(n, in, 1); err != nil {
		return nil, err
	}
	if err := needDType(n, in, 0, executable...); err != nil {
		return nil, err
	}
	src := in[0].Shape
	r := len(src)
	perm := t.perm
	if perm == nil {
		perm = make([]int64, r)
		for i := range perm {
			perm[i] = int64(r - 1 - i)
		}
	}
	if len(perm) != r {
		return nil, nodeErrf(n, "perm %v has %d entries for rank %d", perm, len(perm), r)
	}
	seen := make([]bool, r)
	st := strides(src)
	t.dims, t.strid = make([]int, r), make([]int, r)
	for i, p := range perm {
		if p < 0 || p >= int64(r) || seen[p] {
			return nil, nodeErrf(n, "perm %v is not a permutation of 0..%d", perm, r-1)
		}
		seen[p] = true
		t.dims[i], t.strid[i] = src[p], st[p]
	}
	return []Value{{DType: in[0].DType, Shape: ir.Shape(t.dims).Clone()}}, nil
}

// permute copies src into dst, where dst is row-major with dimensions dims
// and the element at output index idx is src[base + Σ idx[k]·st[k]];
// strides may be negative (Slice with negative steps).
func permute[T elem](dst, src []T, base int, dims, st []int) {
	r := len(dims)
	if len(dst) == 0 {
		return
	}
	if r == 0 {
		dst[0] = src[base]
		return
	}
	inner, is := dims[r-1], st[r-1]
	idx := make([]int, r-1)
	off := base
	for o := 0; o < len(dst); o += inner {
		row := dst[o : o+inner]
		if is == 1 {
			copy(row, src[off:off+inner])
		} else {
			for j := range row {
				row[j] = src[off+j*is]
			}
		}
		for k := r - 2; k >= 0; k-- {
			idx[k]++
			off += st[k]
			if idx[k] < dims[k] {
				break
			}
			off -= st[k] * dims[k]
			idx[k] = 0
		}
	}
}

func (t *transposeOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(t.node, in, 1, out, 1); err != nil {
		return err
	}
	switch out[0].DType {
	case ir.Float32:
		permute(out[0].F32, in[0].F32, 0, t.dims, t.strid)
	case ir.Int64:
		permute(out[0].I64, in[0].I64, 0, t.dims, t.strid)
	case ir.Int32:
		permute(out[0].I32, in[0].I32, 0, t.dims, t.strid)
	case ir.Bool:
		permute(out[0].Bool, in[0].Bool, 0, t.dims, t.strid)
	}
	return nil
}

type gatherOp struct {
	node              *ir.Node
	axis              int64
	outer, dim, inner int
}

func newGather(n *ir.Node, opset int) (Op, error) {
	return &gatherOp{node: n, axis: n.AttrInt("axis", 0)}, nil
}

func (g *gatherOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := g.node
	if err := needInputs(n, in, 2); err != nil {
		return nil, err
	}
	if err := needDType(n, in, 0, executable...); err != nil {
		return nil, err
	}
	if in[1].DType != ir.Int64 && in[1].DType != ir.Int32 {
		return nil, nodeErrf(n, "indices have dtype %v, want int64 or int32", in[1].DType)
	}
	src := in[0].Shape
	if len(src) == 0 {
		return nil, nodeErrf(n, "data is a scalar; Gather needs rank ≥ 1")
	}
	axis, err := normAxis(n, "axis", g.axis, len(src))
	if err != nil {
		return nil, err
	}
	g.outer, g.dim, g.inner = src[:axis].Size(), src[axis], src[axis+1:].Size()
	if c := in[1].Const; c != nil {
		idx, _ := c.Ints()
		for _, i := range idx {
			if i < -int64(g.dim) || i >= int64(g.dim) {
				return nil, nodeErrf(n, "index %d out of range for axis %d of size %d", i, axis, g.dim)
			}
		}
	}
	out := append(append(src[:axis].Clone(), in[1].Shape...), src[axis+1:]...)
	return []Value{{DType: in[0].DType, Shape: out}}, nil
}

func gatherRun[T elem](g *gatherOp, dst, src []T, idx []int64) error {
	inner, dim := g.inner, g.dim
	for _, i := range idx {
		if i < -int64(dim) || i >= int64(dim) {
			return nodeErrf(g.node, "run: index %d out of range for an axis of size %d", i, dim)
		}
	}
	o := 0
	for a := 0; a < g.outer; a++ {
		base := a * dim * inner
		for _, i := range idx {
			if i < 0 {
				i += int64(dim)
			}
			s := base + int(i)*inner
			copy(dst[o:o+inner], src[s:s+inner])
			o += inner
		}
	}
	return nil
}

func (g *gatherOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(g.node, in, 2, out, 1); err != nil {
		return err
	}
	idx, ok := in[1].Ints()
	if !ok {
		return nodeErrf(g.node, "run: indices have dtype %v", in[1].DType)
	}
	switch out[0].DType {
	case ir.Float32:
		return gatherRun(g, out[0].F32, in[0].F32, idx)
	case ir.Int64:
		return gatherRun(g, out[0].I64, in[0].I64, idx)
	case ir.Int32:
		return gatherRun(g, out[0].I32, in[0].I32, idx)
	case ir.Bool:
		return gatherRun(g, out[0].Bool, in[0].Bool, idx)
	}
	return nil
}
