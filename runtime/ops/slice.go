package ops

import (
	"math"

	"github.com/edgeml/edge/runtime/ir"
)

// Slice on any executable dtype. Before opset 10 starts, ends and axes are
// attributes; from 10 they are inputs (with optional axes and steps) that
// must be known at plan time. Out-of-range starts and ends (INT64_MAX,
// INT64_MIN) are clamped as the spec describes; steps may be negative.

func init() {
	Register(Registration{OpType: "Slice", MinOpset: 1, New: newSlice})
}

type sliceOp struct {
	node  *ir.Node
	opset int
	// Plan results.
	dims  []int // output shape
	st    []int // source stride per output dimension (step · stride)
	base  int   // source offset of the first element
	ready bool
}

func newSlice(n *ir.Node, opset int) (Op, error) {
	if opset < 10 && (!n.Has("starts") || !n.Has("ends")) {
		return nil, nodeErrf(n, "attributes starts and ends are required before opset 10")
	}
	return &sliceOp{node: n, opset: opset}, nil
}

func (s *sliceOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := s.node
	if err := needInputs(n, in, 1); err != nil {
		return nil, err
	}
	if err := needDType(n, in, 0, executable...); err != nil {
		return nil, err
	}
	src := in[0].Shape
	r := len(src)
	var starts, ends, axes, steps []int64
	var err error
	if s.opset < 10 {
		starts, ends = n.AttrInts("starts"), n.AttrInts("ends")
		if n.Has("axes") {
			axes = n.AttrInts("axes")
		}
	} else {
		if starts, err = constInts(n, in, 1, "starts"); err != nil {
			return nil, err
		}
		if ends, err = constInts(n, in, 2, "ends"); err != nil {
			return nil, err
		}
		if present(in, 3) {
			if axes, err = constInts(n, in, 3, "axes"); err != nil {
				return nil, err
			}
		}
		if present(in, 4) {
			if steps, err = constInts(n, in, 4, "steps"); err != nil {
				return nil, err
			}
		}
	}
	if len(ends) != len(starts) {
		return nil, nodeErrf(n, "starts %v and ends %v differ in length", starts, ends)
	}
	if axes == nil {
		if len(starts) > r {
			return nil, nodeErrf(n, "%d starts for rank %d", len(starts), r)
		}
		axes = make([]int64, len(starts))
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	if len(axes) != len(starts) {
		return nil, nodeErrf(n, "axes %v and starts %v differ in length", axes, starts)
	}
	if steps == nil {
		steps = make([]int64, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(steps) != len(starts) {
		return nil, nodeErrf(n, "steps %v and starts %v differ in length", steps, starts)
	}
	first := make([]int64, r)
	step := make([]int64, r)
	s.dims = make([]int, r)
	for k := range src {
		s.dims[k], step[k] = src[k], 1
	}
	seen := make([]bool, r)
	for i, a := range axes {
		k, err := normAxis(n, "axis", a, r)
		if err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, nodeErrf(n, "axes %v repeat axis %d", axes, a)
		}
		seen[k] = true
		d, st := int64(src[k]), steps[i]
		if st == 0 {
			return nil, nodeErrf(n, "step 0 on axis %d", a)
		}
		b, e := starts[i], ends[i]
		if b < 0 {
			b = satAdd(b, d)
		}
		if e < 0 {
			e = satAdd(e, d)
		}
		var cnt int64
		if st > 0 {
			b, e = min(max(b, 0), d), min(max(e, 0), d)
			if e > b {
				cnt = (e - b + st - 1) / st
			}
		} else {
			b, e = min(max(b, 0), d-1), min(max(e, -1), d-1)
			if b > e {
				cnt = (b - e - st - 1) / -st
			}
		}
		first[k], step[k], s.dims[k] = b, st, int(cnt)
	}
	sst := strides(src)
	s.st = make([]int, r)
	s.base = 0
	empty := ir.Shape(s.dims).Size() == 0
	for k := range s.dims {
		s.st[k] = int(step[k]) * sst[k]
		if !empty {
			s.base += int(first[k]) * sst[k]
		}
	}
	s.ready = true
	return []Value{{DType: in[0].DType, Shape: ir.Shape(s.dims).Clone()}}, nil
}

// satAdd returns a+b saturated to the int64 range.
func satAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	if b < 0 && a < math.MinInt64-b {
		return math.MinInt64
	}
	return a + b
}

func (s *sliceOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(s.node, in, 1, out, 1); err != nil {
		return err
	}
	if !s.ready {
		return nodeErrf(s.node, "run before plan")
	}
	x, y := in[0], out[0]
	switch y.DType {
	case ir.Float32:
		permute(y.F32, x.F32, s.base, s.dims, s.st)
	case ir.Int64:
		permute(y.I64, x.I64, s.base, s.dims, s.st)
	case ir.Int32:
		permute(y.I32, x.I32, s.base, s.dims, s.st)
	case ir.Bool:
		permute(y.Bool, x.Bool, s.base, s.dims, s.st)
	}
	return nil
}
