package ops

import (
	"github.com/edgeml/edge/runtime/ir"
)

// Constant and ConstantOfShape. Both return their output as a Const at
// plan time; Run copies it for callers that execute them anyway.

func init() {
	Register(Registration{OpType: "Constant", MinOpset: 1, New: newConstant})
	Register(Registration{OpType: "ConstantOfShape", MinOpset: 9, New: newConstantOfShape})
}

type constantOp struct {
	node  *ir.Node
	value *ir.Tensor
}

func newConstant(n *ir.Node, opset int) (Op, error) {
	var set []string
	for name := range n.Attrs {
		switch name {
		case "value", "value_float", "value_floats", "value_int", "value_ints", "sparse_value", "value_string", "value_strings":
			set = append(set, name)
		}
	}
	if len(set) != 1 {
		return nil, nodeErrf(n, "exactly one value attribute must be set, found %v", set)
	}
	var t *ir.Tensor
	switch set[0] {
	case "value":
		a := n.Attrs["value"]
		if a.T == nil {
			return nil, nodeErrf(n, "attribute value holds no tensor")
		}
		if !a.T.DType.Supported() {
			return nil, unsupportedf(n, "constant of dtype %v", a.T.DType)
		}
		if a.T.Len() != a.T.Shape.Size() {
			return nil, nodeErrf(n, "value tensor holds %d elements for shape %v", a.T.Len(), a.T.Shape)
		}
		t = a.T.Clone()
	case "value_float":
		t = ir.NewTensor(ir.Float32, ir.Shape{})
		t.F32[0] = n.AttrFloat("value_float", 0)
	case "value_floats":
		v := n.AttrFloats("value_floats")
		t = ir.NewTensor(ir.Float32, ir.Shape{len(v)})
		copy(t.F32, v)
	case "value_int":
		t = ir.NewTensor(ir.Int64, ir.Shape{})
		t.I64[0] = n.AttrInt("value_int", 0)
	case "value_ints":
		v := n.AttrInts("value_ints")
		t = ir.NewTensor(ir.Int64, ir.Shape{len(v)})
		copy(t.I64, v)
	default:
		return nil, unsupportedf(n, "attribute %s (sparse and string constants are not supported)", set[0])
	}
	return &constantOp{node: n, value: t}, nil
}

func (c *constantOp) Plan(env *Env, in []Value) ([]Value, error) {
	return []Value{{DType: c.value.DType, Shape: c.value.Shape.Clone(), Const: c.value}}, nil
}

func (c *constantOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(c.node, in, 0, out, 1); err != nil {
		return err
	}
	return copyTensor(out[0], c.value)
}

type constantOfShapeOp struct {
	node  *ir.Node
	fill  *ir.Tensor // one element
	value *ir.Tensor // planned output
}

func newConstantOfShape(n *ir.Node, opset int) (Op, error) {
	c := &constantOfShapeOp{node: n}
	if a, ok := n.Attrs["value"]; ok {
		if a.T == nil {
			return nil, nodeErrf(n, "attribute value holds no tensor")
		}
		if !a.T.DType.Supported() {
			return nil, unsupportedf(n, "value of dtype %v", a.T.DType)
		}
		if a.T.Len() != 1 {
			return nil, nodeErrf(n, "attribute value must hold one element, has %d", a.T.Len())
		}
		c.fill = a.T
	} else {
		c.fill = ir.NewTensor(ir.Float32, ir.Shape{1})
	}
	return c, nil
}

func fillAll[T elem](dst []T, v T) {
	for i := range dst {
		dst[i] = v
	}
}

func fillWith(dst, one *ir.Tensor) {
	switch one.DType {
	case ir.Float32:
		fillAll(dst.F32, one.F32[0])
	case ir.Int64:
		fillAll(dst.I64, one.I64[0])
	case ir.Int32:
		fillAll(dst.I32, one.I32[0])
	case ir.Bool:
		fillAll(dst.Bool, one.Bool[0])
	}
}

func (c *constantOfShapeOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := c.node
	dims, err := constInts(n, in, 0, "shape")
	if err != nil {
		return nil, err
	}
	if len(in[0].Shape) != 1 {
		return nil, nodeErrf(n, "shape input has shape %v, want 1-D", in[0].Shape)
	}
	shape := make(ir.Shape, len(dims))
	for i, d := range dims {
		if d < 0 || d > maxElements {
			return nil, nodeErrf(n, "shape %v has invalid dimension %d", dims, d)
		}
		shape[i] = int(d)
	}
	if err := sizeOK(n, shape); err != nil {
		return nil, err
	}
	t := ir.NewTensor(c.fill.DType, shape)
	fillWith(t, c.fill)
	c.value = t
	return []Value{{DType: t.DType, Shape: shape.Clone(), Const: t}}, nil
}

func (c *constantOfShapeOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(c.node, in, 0, out, 1); err != nil {
		return err
	}
	if out[0].DType != c.fill.DType {
		return nodeErrf(c.node, "run: output dtype %v, want %v", out[0].DType, c.fill.DType)
	}
	fillWith(out[0], c.fill)
	return nil
}
