package ops

import (
	"github.com/edgeml/edge/runtime/ir"
)

// Reshape, Flatten, Squeeze, Unsqueeze, Identity and Dropout (inference)
// change only the shape: they implement Aliaser, and their Run copies for
// callers that do not alias (constant folding, tests). Shape returns its
// output as a Const at plan time.

func init() {
	Register(Registration{OpType: "Reshape", MinOpset: 5, New: newReshape})
	Register(Registration{OpType: "Flatten", MinOpset: 1, New: newFlatten})
	Register(Registration{OpType: "Squeeze", MinOpset: 1, New: newSqueeze})
	Register(Registration{OpType: "Unsqueeze", MinOpset: 1, New: newUnsqueeze})
	Register(Registration{OpType: "Identity", MinOpset: 1, New: newIdentity})
	Register(Registration{OpType: "Dropout", New: newDropout})
	Register(Registration{OpType: "Shape", MinOpset: 1, New: newShape})
}

var executable = []ir.DType{ir.Float32, ir.Int64, ir.Int32, ir.Bool}

// viewOp is an operator whose output 0 is input 0 under another shape;
// plan computes that shape.
type viewOp struct {
	node *ir.Node
	plan func(in []Value) (ir.Shape, error)
}

// AliasInput reports that output 0 may share input 0's buffer.
func (v *viewOp) AliasInput() bool { return true }

func (v *viewOp) Plan(env *Env, in []Value) ([]Value, error) {
	if err := needInputs(v.node, in, 1); err != nil {
		return nil, err
	}
	if err := needDType(v.node, in, 0, executable...); err != nil {
		return nil, err
	}
	s, err := v.plan(in)
	if err != nil {
		return nil, err
	}
	if s.Size() != in[0].Shape.Size() {
		return nil, nodeErrf(v.node, "internal: output shape %v does not hold the %d input elements", s, in[0].Shape.Size())
	}
	out := Value{DType: in[0].DType, Shape: s}
	if c := in[0].Const; c != nil {
		out.Const = c.View(s)
	}
	return []Value{out}, nil
}

func (v *viewOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(v.node, in, 1, out, 1); err != nil {
		return err
	}
	return copyTensor(out[0], in[0])
}

func newReshape(n *ir.Node, opset int) (Op, error) {
	allowZero := opset >= 14 && n.AttrInt("allowzero", 0) != 0
	v := &viewOp{node: n}
	v.plan = func(in []Value) (ir.Shape, error) {
		spec, err := constInts(n, in, 1, "shape")
		if err != nil {
			return nil, err
		}
		src := in[0].Shape
		out := make(ir.Shape, len(spec))
		infer := -1
		known := 1
		for i, d := range spec {
			switch {
			case d == -1:
				if infer >= 0 {
					return nil, nodeErrf(n, "shape %v has more than one -1", spec)
				}
				infer = i
				continue
			case d == 0 && !allowZero:
				if i >= len(src) {
					return nil, nodeErrf(n, "shape %v copies dimension %d (0) but the input %v has rank %d", spec, i, src, len(src))
				}
				out[i] = src[i]
			case d < 0:
				return nil, nodeErrf(n, "shape %v has invalid dimension %d", spec, d)
			default:
				out[i] = int(d)
			}
			known *= out[i]
		}
		explicit := out.Clone()
		if infer >= 0 {
			explicit[infer] = 1
		}
		if err := sizeOK(n, explicit); err != nil {
			return nil, err
		}
		total := src.Size()
		if infer >= 0 {
			if known == 0 {
				return nil, nodeErrf(n, "shape %v: cannot infer the -1 dimension next to a zero dimension", spec)
			}
			if total%known != 0 {
				return nil, nodeErrf(n, "cannot reshape %v (%d elements) to %v", src, total, spec)
			}
			out[infer] = total / known
		}
		if out.Size() != total {
			return nil, nodeErrf(n, "cannot reshape %v (%d elements) to %v (%d elements)", src, total, out, out.Size())
		}
		return out, nil
	}
	return v, nil
}

func newFlatten(n *ir.Node, opset int) (Op, error) {
	axis := n.AttrInt("axis", 1)
	v := &viewOp{node: n}
	v.plan = func(in []Value) (ir.Shape, error) {
		src := in[0].Shape
		r := int64(len(src))
		if axis < -r || axis > r {
			return nil, nodeErrf(n, "axis %d out of range for rank %d", axis, r)
		}
		a := int(axis)
		if a < 0 {
			a += int(r)
		}
		return ir.Shape{src[:a].Size(), src[a:].Size()}, nil
	}
	return v, nil
}

// axesOf reads the axes of Squeeze/Unsqueeze: an attribute before opset
// 13, an optional constant input from 13.
func axesOf(n *ir.Node, opset int, in []Value) ([]int64, bool, error) {
	if opset < 13 {
		if !n.Has("axes") {
			return nil, false, nil
		}
		return n.AttrInts("axes"), true, nil
	}
	if !present(in, 1) {
		return nil, false, nil
	}
	a, err := constInts(n, in, 1, "axes")
	return a, true, err
}

func newSqueeze(n *ir.Node, opset int) (Op, error) {
	v := &viewOp{node: n}
	v.plan = func(in []Value) (ir.Shape, error) {
		src := in[0].Shape
		axes, given, err := axesOf(n, opset, in)
		if err != nil {
			return nil, err
		}
		drop := make([]bool, len(src))
		if !given || len(axes) == 0 { // an empty axes input squeezes all 1s too
			for i, d := range src {
				drop[i] = d == 1
			}
		}
		for _, a := range axes {
			i, err := normAxis(n, "axis", a, len(src))
			if err != nil {
				return nil, err
			}
			if src[i] != 1 {
				return nil, nodeErrf(n, "cannot squeeze axis %d of shape %v: its size is %d, not 1", a, src, src[i])
			}
			drop[i] = true
		}
		out := ir.Shape{}
		for i, d := range src {
			if !drop[i] {
				out = append(out, d)
			}
		}
		return out, nil
	}
	return v, nil
}

func newUnsqueeze(n *ir.Node, opset int) (Op, error) {
	v := &viewOp{node: n}
	v.plan = func(in []Value) (ir.Shape, error) {
		src := in[0].Shape
		axes, given, err := axesOf(n, opset, in)
		if err != nil {
			return nil, err
		}
		if !given || len(axes) == 0 {
			return nil, nodeErrf(n, "axes are required")
		}
		r := len(src) + len(axes)
		ins := make([]bool, r)
		for _, a := range axes {
			i, err := normAxis(n, "axis", a, r)
			if err != nil {
				return nil, err
			}
			if ins[i] {
				return nil, nodeErrf(n, "axes %v repeat axis %d", axes, a)
			}
			ins[i] = true
		}
		out := make(ir.Shape, r)
		j := 0
		for i := range out {
			if ins[i] {
				out[i] = 1
			} else {
				out[i] = src[j]
				j++
			}
		}
		return out, nil
	}
	return v, nil
}

func newIdentity(n *ir.Node, opset int) (Op, error) {
	return &viewOp{node: n, plan: func(in []Value) (ir.Shape, error) { return in[0].Shape.Clone(), nil }}, nil
}

// dropoutOp is Dropout in inference: output = input, mask all true.
// From opset 12 training_mode may be true only with ratio 0 (a
// deterministic identity); random dropout is not supported. When
// training_mode or ratio are known only at run time, Run checks them.
type dropoutOp struct {
	viewOp
	opset      int
	withMask   bool
	checkAtRun bool // training_mode is a run-time input
}

func newDropout(n *ir.Node, opset int) (Op, error) {
	d := &dropoutOp{opset: opset, withMask: len(n.Outputs) > 1 && n.Outputs[1] != ""}
	if r := n.AttrFloat("ratio", 0.5); r < 0 || r >= 1 {
		return nil, nodeErrf(n, "ratio %g outside [0, 1)", r)
	}
	d.viewOp = viewOp{node: n, plan: func(in []Value) (ir.Shape, error) { return in[0].Shape.Clone(), nil }}
	return d, nil
}

// AliasInput is true unless the mask output is used (the executor aliases
// only output 0 and would not fill the mask) or Run must check a run-time
// training_mode.
func (d *dropoutOp) AliasInput() bool { return !d.withMask && !d.checkAtRun }

// trainingRatio checks a training_mode/ratio pair; training is allowed
// only with ratio 0.
func (d *dropoutOp) trainingRatio(training *ir.Tensor, ratio *ir.Tensor) error {
	n := d.node
	if training == nil || training.DType != ir.Bool || len(training.Bool) != 1 {
		return nodeErrf(n, "training_mode must be a bool scalar")
	}
	if !training.Bool[0] {
		return nil
	}
	r := float32(0.5)
	if ratio != nil {
		if ratio.DType != ir.Float32 || len(ratio.F32) != 1 {
			return nodeErrf(n, "ratio must be a float32 scalar")
		}
		r = ratio.F32[0]
	}
	if r != 0 {
		return unsupportedf(n, "training_mode is true with ratio %g: random dropout is not supported (edge runs inference)", r)
	}
	return nil
}

func (d *dropoutOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := d.node
	d.checkAtRun = false
	if d.opset >= 12 {
		if present(in, 1) {
			if in[1].DType != ir.Float32 || in[1].Shape.Size() != 1 {
				return nil, nodeErrf(n, "ratio must be a float scalar, got %v%v", in[1].DType, in[1].Shape)
			}
		}
		if present(in, 2) {
			t := in[2]
			if t.DType != ir.Bool || t.Shape.Size() != 1 {
				return nil, nodeErrf(n, "training_mode must be a bool scalar, got %v%v", t.DType, t.Shape)
			}
			ratioKnown := !present(in, 1) || in[1].Const != nil
			switch {
			case t.Const != nil && !t.Const.Bool[0]:
			case t.Const != nil && ratioKnown:
				var ratio *ir.Tensor
				if present(in, 1) {
					ratio = in[1].Const
				}
				if err := d.trainingRatio(t.Const, ratio); err != nil {
					return nil, err
				}
			default:
				d.checkAtRun = true
			}
		}
	}
	outs, err := d.viewOp.Plan(env, in)
	if err != nil {
		return nil, err
	}
	if d.withMask {
		mask := Value{DType: ir.Bool, Shape: outs[0].Shape.Clone()}
		if d.opset < 10 {
			mask.DType = in[0].DType
		}
		outs = append(outs, mask)
	}
	return outs, nil
}

func (d *dropoutOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if d.opset >= 12 && presentT(in, 2) {
		var ratio *ir.Tensor
		if presentT(in, 1) {
			ratio = in[1]
		}
		if err := d.trainingRatio(in[2], ratio); err != nil {
			return err
		}
	}
	if err := d.viewOp.Run(ctx, in, out); err != nil {
		return err
	}
	if d.withMask && len(out) > 1 {
		m := out[1]
		switch m.DType {
		case ir.Bool:
			fillAll(m.Bool, true)
		case ir.Float32:
			fillAll(m.F32, 1)
		case ir.Int64:
			fillAll(m.I64, 1)
		case ir.Int32:
			fillAll(m.I32, 1)
		}
	}
	return nil
}

// shapeOp outputs the (sliced) input shape as int64; Plan returns it as a
// Const.
type shapeOp struct {
	node       *ir.Node
	start, end int64
	hasEnd     bool
}

func newShape(n *ir.Node, opset int) (Op, error) {
	s := &shapeOp{node: n}
	if opset >= 15 {
		s.start = n.AttrInt("start", 0)
		s.hasEnd = n.Has("end")
		s.end = n.AttrInt("end", 0)
	}
	return s, nil
}

// slice returns the selected dimensions of src.
func (s *shapeOp) slice(src ir.Shape) []int64 {
	r := int64(len(src))
	clamp := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	start, end := clamp(s.start), r
	if s.hasEnd {
		end = clamp(s.end)
	}
	var dims []int64
	for i := start; i < end; i++ {
		dims = append(dims, int64(src[i]))
	}
	return dims
}

func (s *shapeOp) Plan(env *Env, in []Value) ([]Value, error) {
	if err := needInputs(s.node, in, 1); err != nil {
		return nil, err
	}
	dims := s.slice(in[0].Shape)
	t := ir.NewTensor(ir.Int64, ir.Shape{len(dims)})
	copy(t.I64, dims)
	return []Value{{DType: ir.Int64, Shape: t.Shape.Clone(), Const: t}}, nil
}

func (s *shapeOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(s.node, in, 1, out, 1); err != nil {
		return err
	}
	dims := s.slice(in[0].Shape)
	if len(out[0].I64) != len(dims) {
		return nodeErrf(s.node, "run: output holds %d values for %d dimensions", len(out[0].I64), len(dims))
	}
	copy(out[0].I64, dims)
	return nil
}
