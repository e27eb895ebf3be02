package ops

import (
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// Softmax. Before opset 13 the input is coerced to 2-D at axis (default 1)
// and softmax runs over the flattened trailing dimensions; from opset 13 it
// runs along the single dimension axis (default -1).

func init() {
	Register(Registration{OpType: "Softmax", MinOpset: 1, New: newSoftmax})
}

type softmaxOp struct {
	node              *ir.Node
	axis              int64
	coerce2D          bool
	outer, mid, inner int
	kernel            *kernels.SoftmaxKernel
}

func newSoftmax(n *ir.Node, opset int) (Op, error) {
	s := &softmaxOp{node: n, coerce2D: opset < 13}
	if s.coerce2D {
		s.axis = n.AttrInt("axis", 1)
	} else {
		s.axis = n.AttrInt("axis", -1)
	}
	return s, nil
}

func (s *softmaxOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := s.node
	if err := needInputs(n, in, 1); err != nil {
		return nil, err
	}
	if err := needDType(n, in, 0, ir.Float32); err != nil {
		return nil, err
	}
	shape := in[0].Shape
	r := len(shape)
	if r == 0 {
		return nil, nodeErrf(n, "input is a scalar; softmax needs rank ≥ 1")
	}
	var axis int
	var err error
	if s.coerce2D {
		// Flatten-style axis: [-r, r].
		if s.axis < -int64(r) || s.axis > int64(r) {
			return nil, nodeErrf(n, "axis %d out of range for rank %d", s.axis, r)
		}
		axis = int(s.axis)
		if axis < 0 {
			axis += r
		}
		s.outer, s.mid, s.inner = shape[:axis].Size(), shape[axis:].Size(), 1
	} else {
		if axis, err = normAxis(n, "axis", s.axis, r); err != nil {
			return nil, err
		}
		s.outer, s.mid, s.inner = shape[:axis].Size(), shape[axis], shape[axis+1:].Size()
	}
	s.kernel = kernels.SelectSoftmax(env.Kernels)
	return []Value{{DType: ir.Float32, Shape: shape.Clone()}}, nil
}

// KernelName reports the chosen kernel.
func (s *softmaxOp) KernelName() string {
	if s.kernel == nil {
		return ""
	}
	return s.kernel.Name
}

func (s *softmaxOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(s.node, in, 1, out, 1); err != nil {
		return err
	}
	if s.kernel == nil {
		return nodeErrf(s.node, "run before plan")
	}
	s.kernel.Run(ctxPool(ctx), out[0].F32, in[0].F32, s.outer, s.mid, s.inner)
	return nil
}
