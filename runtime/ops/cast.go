package ops

import (
	"github.com/edgeml/edge/runtime/ir"
)

// Cast between float32, int64, int32 and bool. Float to integer truncates
// toward zero (NaN and out-of-range values are undefined by the spec);
// anything to bool is v != 0; bool to a number is 0 or 1.

func init() {
	Register(Registration{OpType: "Cast", MinOpset: 6, New: newCast})
}

type castOp struct {
	node *ir.Node
	to   ir.DType
}

func newCast(n *ir.Node, opset int) (Op, error) {
	if !n.Has("to") {
		return nil, nodeErrf(n, "attribute to is required")
	}
	to := ir.DType(n.AttrInt("to", 0))
	if !to.Supported() {
		return nil, unsupportedf(n, "cast to %v (supported: float32, int64, int32, bool)", to)
	}
	return &castOp{node: n, to: to}, nil
}

func (c *castOp) Plan(env *Env, in []Value) ([]Value, error) {
	if err := needInputs(c.node, in, 1); err != nil {
		return nil, err
	}
	if err := needDType(c.node, in, 0, executable...); err != nil {
		return nil, err
	}
	return []Value{{DType: c.to, Shape: in[0].Shape.Clone()}}, nil
}

func castNum[D, S float32 | int64 | int32](dst []D, src []S) {
	for i, v := range src {
		dst[i] = D(v)
	}
}

func castToBool[S float32 | int64 | int32](dst []bool, src []S) {
	for i, v := range src {
		dst[i] = v != 0
	}
}

func castFromBool[D float32 | int64 | int32](dst []D, src []bool) {
	for i, v := range src {
		if v {
			dst[i] = 1
		} else {
			dst[i] = 0
		}
	}
}

func castInto[D float32 | int64 | int32](dst []D, x *ir.Tensor) {
	switch x.DType {
	case ir.Float32:
		castNum(dst, x.F32)
	case ir.Int64:
		castNum(dst, x.I64)
	case ir.Int32:
		castNum(dst, x.I32)
	case ir.Bool:
		castFromBool(dst, x.Bool)
	}
}

func (c *castOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(c.node, in, 1, out, 1); err != nil {
		return err
	}
	x, y := in[0], out[0]
	switch y.DType {
	case ir.Float32:
		castInto(y.F32, x)
	case ir.Int64:
		castInto(y.I64, x)
	case ir.Int32:
		castInto(y.I32, x)
	case ir.Bool:
		switch x.DType {
		case ir.Float32:
			castToBool(y.Bool, x.F32)
		case ir.Int64:
			castToBool(y.Bool, x.I64)
		case ir.Int32:
			castToBool(y.Bool, x.I32)
		case ir.Bool:
			copy(y.Bool, x.Bool)
		}
	default:
		return unsupportedf(c.node, "run: cast to %v", y.DType)
	}
	return nil
}
