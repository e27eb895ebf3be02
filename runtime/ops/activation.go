package ops

import (
	"math"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// Relu, LeakyRelu, Sigmoid, Tanh and Clip: elementwise activations.

func init() {
	Register(Registration{OpType: "Relu", MinOpset: 6, New: newUnary(kernels.UnaryRelu)})
	Register(Registration{OpType: "LeakyRelu", MinOpset: 6, New: newUnary(kernels.UnaryLeakyRelu)})
	Register(Registration{OpType: "Sigmoid", MinOpset: 6, New: newUnary(kernels.UnarySigmoid)})
	Register(Registration{OpType: "Tanh", MinOpset: 6, New: newUnary(kernels.UnaryTanh)})
	Register(Registration{OpType: "Clip", MinOpset: 6, New: newUnary(kernels.UnaryClip)})
}

type unaryOp struct {
	node   *ir.Node
	opset  int
	kind   kernels.UnaryKind
	p      kernels.UnaryParams
	kernel *kernels.UnaryKernel
	// Clip from opset 11 reads its bounds from inputs 1 and 2; constBounds
	// is true when both are absent or known at plan time.
	boundsInputs bool
	constBounds  bool
}

func newUnary(kind kernels.UnaryKind) Factory {
	return func(n *ir.Node, opset int) (Op, error) {
		u := &unaryOp{node: n, opset: opset, kind: kind}
		switch kind {
		case kernels.UnaryLeakyRelu:
			u.p.Alpha = n.AttrFloat("alpha", 0.01)
		case kernels.UnaryClip:
			if opset < 11 {
				u.p.Min = n.AttrFloat("min", -math.MaxFloat32)
				u.p.Max = n.AttrFloat("max", math.MaxFloat32)
			} else {
				u.boundsInputs = true
				u.p.Min, u.p.Max = float32(math.Inf(-1)), float32(math.Inf(1))
			}
		}
		if len(n.Outputs) != 1 {
			return nil, nodeErrf(n, "has %d outputs, want 1", len(n.Outputs))
		}
		return u, nil
	}
}

func (u *unaryOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := u.node
	if err := needInputs(n, in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	intOK := (u.kind == kernels.UnaryClip && u.opset >= 12) || (u.kind == kernels.UnaryRelu && u.opset >= 14)
	if intOK {
		if err := needDType(n, in, 0, ir.Float32, ir.Int64, ir.Int32); err != nil {
			return nil, err
		}
	} else if err := needDType(n, in, 0, ir.Float32); err != nil {
		return nil, err
	}
	u.constBounds = true
	if u.boundsInputs {
		for i := 1; i <= 2; i++ {
			if !present(in, i) {
				continue
			}
			b := in[i]
			if b.DType != x.DType {
				return nil, nodeErrf(n, "bound input %d has dtype %v, want %v like the input", i, b.DType, x.DType)
			}
			if b.Shape.Size() != 1 {
				return nil, nodeErrf(n, "bound input %d has shape %v, want a scalar", i, b.Shape)
			}
			if b.Const == nil {
				u.constBounds = false
			} else if x.DType == ir.Float32 {
				if i == 1 {
					u.p.Min = b.Const.F32[0]
				} else {
					u.p.Max = b.Const.F32[0]
				}
			}
		}
	}
	u.kernel = kernels.SelectUnary(env.Kernels, u.kind)
	return []Value{{DType: x.DType, Shape: x.Shape.Clone()}}, nil
}

// KernelName reports the chosen kernel.
func (u *unaryOp) KernelName() string {
	if u.kernel == nil {
		return ""
	}
	return u.kernel.Name
}

// FusedActivation returns the activation as a Conv/Gemm epilogue: Relu,
// and float32 Clip whose bounds are known at plan time. Call after Plan.
func (u *unaryOp) FusedActivation() (kernels.Activation, bool) {
	switch u.kind {
	case kernels.UnaryRelu:
		return kernels.Activation{Kind: kernels.ActRelu}, true
	case kernels.UnaryClip:
		if u.constBounds {
			return kernels.Activation{Kind: kernels.ActClip, Min: u.p.Min, Max: u.p.Max}, true
		}
	}
	return kernels.Activation{}, false
}

func (u *unaryOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(u.node, in, 1, out, 1); err != nil {
		return err
	}
	x, y := in[0], out[0]
	switch x.DType {
	case ir.Float32:
		p := u.p
		if u.boundsInputs {
			if presentT(in, 1) {
				p.Min = in[1].F32[0]
			}
			if presentT(in, 2) {
				p.Max = in[2].F32[0]
			}
		}
		k := u.kernel
		if k == nil {
			k = kernels.SelectUnary(kernels.Generic, u.kind)
		}
		k.Run(ctxPool(ctx), y.F32, x.F32, p)
	case ir.Int64:
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if u.kind == kernels.UnaryRelu {
			lo = 0
		}
		if u.boundsInputs && presentT(in, 1) {
			lo = in[1].I64[0]
		}
		if u.boundsInputs && presentT(in, 2) {
			hi = in[2].I64[0]
		}
		clampInts(y.I64, x.I64, lo, hi)
	case ir.Int32:
		lo, hi := int32(math.MinInt32), int32(math.MaxInt32)
		if u.kind == kernels.UnaryRelu {
			lo = 0
		}
		if u.boundsInputs && presentT(in, 1) {
			lo = in[1].I32[0]
		}
		if u.boundsInputs && presentT(in, 2) {
			hi = in[2].I32[0]
		}
		clampInts(y.I32, x.I32, lo, hi)
	default:
		return unsupportedf(u.node, "run: dtype %v", x.DType)
	}
	return nil
}

func clampInts[T int64 | int32](dst, src []T, lo, hi T) {
	for i, v := range src {
		dst[i] = min(max(v, lo), hi)
	}
}

// fuseAct implements Fuser.FuseActivation for an operator whose fused
// activation is *dst: it takes a Relu or Clip when nothing is fused yet
// and the operator is not planned.
func fuseAct(dst *kernels.Activation, planned bool, a kernels.Activation) bool {
	if planned || dst.Kind != kernels.ActNone {
		return false
	}
	switch a.Kind {
	case kernels.ActRelu, kernels.ActClip:
		*dst = a
		return true
	}
	return false
}
