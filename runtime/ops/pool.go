package ops

import (
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// MaxPool, AveragePool (1-D, 2-D, 3-D and beyond; rank ≤ 3 uses a direct
// loop nest), GlobalAveragePool and GlobalMaxPool (any rank ≥ 3).

func init() {
	Register(Registration{OpType: "MaxPool", MinOpset: 1, New: newPool(kernels.PoolMax)})
	Register(Registration{OpType: "AveragePool", MinOpset: 7, New: newPool(kernels.PoolAvg)})
	Register(Registration{OpType: "GlobalAveragePool", MinOpset: 1, New: newGlobalPool(kernels.PoolAvg)})
	Register(Registration{OpType: "GlobalMaxPool", MinOpset: 1, New: newGlobalPool(kernels.PoolMax)})
}

type poolOp struct {
	node         *ir.Node
	kind         kernels.PoolKind
	win          *window
	includePad   bool
	colMajor     bool // MaxPool storage_order 1: Indices in column-major order
	withIndices  bool
	planned      bool
	planes       int
	in, out      []int // spatial dimensions
	kernel       *kernels.Pooling
	inSize, outN int
}

func newPool(kind kernels.PoolKind) Factory {
	return func(n *ir.Node, opset int) (Op, error) {
		w, err := parseWindow(n, true)
		if err != nil {
			return nil, err
		}
		p := &poolOp{node: n, kind: kind, win: w}
		if kind == kernels.PoolAvg {
			switch v := n.AttrInt("count_include_pad", 0); v {
			case 0:
			case 1:
				p.includePad = true
			default:
				return nil, nodeErrf(n, "count_include_pad %d must be 0 or 1", v)
			}
			if len(n.Outputs) != 1 {
				return nil, nodeErrf(n, "has %d outputs, want 1", len(n.Outputs))
			}
		} else {
			switch v := n.AttrInt("storage_order", 0); v {
			case 0:
			case 1:
				p.colMajor = true
			default:
				return nil, nodeErrf(n, "storage_order %d must be 0 (row major) or 1 (column major)", v)
			}
			if len(n.Outputs) < 1 || len(n.Outputs) > 2 {
				return nil, nodeErrf(n, "has %d outputs, want 1 or 2 (Y, Indices)", len(n.Outputs))
			}
			p.withIndices = len(n.Outputs) == 2 && n.Outputs[1] != ""
		}
		return p, nil
	}
}

// KernelName names the pooling kernel.
func (p *poolOp) KernelName() string {
	if p.kernel == nil {
		return ""
	}
	return p.kernel.Kernel()
}

func (p *poolOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := p.node
	if err := needInputs(n, in, 1); err != nil {
		return nil, err
	}
	if err := needDType(n, in, 0, ir.Float32); err != nil {
		return nil, err
	}
	xs := in[0].Shape
	if len(xs) < 3 {
		return nil, nodeErrf(n, "input X has shape %v; want N×C×D1×… with at least one spatial dimension", xs)
	}
	for _, d := range xs[2:] {
		if d <= 0 {
			return nil, nodeErrf(n, "input X has shape %v; spatial dimensions must be positive", xs)
		}
	}
	p.in = append([]int(nil), xs[2:]...)
	geom, err := p.win.resolve(n, p.in, p.win.kernel)
	if err != nil {
		return nil, err
	}
	for d, k := range geom.kernel {
		// ONNX requires pads smaller than the kernel; a larger pad would
		// make windows that see only padding.
		if eff := geom.dilations[d]*(k-1) + 1; geom.padsBegin[d] >= eff || geom.padsEnd[d] >= eff {
			return nil, nodeErrf(n, "pads %v must be smaller than the window (%d taps) in spatial dimension %d", p.win.pads, eff, d)
		}
	}
	p.out = geom.out
	outShape := append(ir.Shape{xs[0], xs[1]}, geom.out...)
	if err := sizeOK(n, outShape); err != nil {
		return nil, err
	}
	k, err := kernels.NewPooling(env.Kernels, kernels.PoolParams{
		Kind: p.kind, In: p.in, Out: geom.out, Kernel: geom.kernel, Strides: geom.strides,
		Dilations: geom.dilations, PadsBegin: geom.padsBegin, PadsEnd: geom.padsEnd,
		CountIncludePad: p.includePad,
	})
	if err != nil {
		return nil, nodeErrf(n, "%v", err)
	}
	p.kernel = k
	p.planes = xs[0] * xs[1]
	p.inSize = ir.Shape(p.in).Size()
	p.outN = ir.Shape(p.out).Size()
	p.planned = true
	outs := []Value{{DType: ir.Float32, Shape: outShape}}
	if len(n.Outputs) == 2 {
		outs = append(outs, Value{DType: ir.Int64, Shape: outShape.Clone()})
	}
	return outs, nil
}

func (p *poolOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	nout := 1
	if p.withIndices {
		nout = 2
	}
	if err := checkRun(p.node, in, 1, out, nout); err != nil {
		return err
	}
	if !p.planned {
		return nodeErrf(p.node, "run before plan")
	}
	x, y := in[0].F32, out[0].F32
	if len(x) != p.planes*p.inSize || len(y) != p.planes*p.outN {
		return nodeErrf(p.node, "run: X has %d elements and Y %d, planned %d and %d", len(x), len(y), p.planes*p.inSize, p.planes*p.outN)
	}
	var idx []int64
	if p.withIndices && out[1] != nil {
		idx = out[1].I64
		if len(idx) != len(y) {
			return nodeErrf(p.node, "run: Indices has %d elements, want %d", len(idx), len(y))
		}
	}
	p.kernel.Run(ctxPool(ctx), p.planes, x, y, idx)
	if idx != nil {
		p.globalIndices(idx)
	}
	return nil
}

// globalIndices turns per-plane row-major offsets into the ONNX Indices:
// offsets into the whole flattened input tensor, with the spatial part in
// column-major order when storage_order is 1.
func (p *poolOp) globalIndices(idx []int64) {
	nd := len(p.in)
	col := make([]int64, nd) // column-major strides
	s := int64(1)
	for d := 0; d < nd; d++ {
		col[d] = s
		s *= int64(p.in[d])
	}
	for c := 0; c < p.planes; c++ {
		base := int64(c) * int64(p.inSize)
		for i := c * p.outN; i < (c+1)*p.outN; i++ {
			v := idx[i]
			if v < 0 {
				continue
			}
			if p.colMajor {
				r, cm := v, int64(0)
				for d := nd - 1; d >= 0; d-- {
					cm += (r % int64(p.in[d])) * col[d]
					r /= int64(p.in[d])
				}
				v = cm
			}
			idx[i] = base + v
		}
	}
}

type globalPoolOp struct {
	node    *ir.Node
	kind    kernels.PoolKind
	planned bool
	planes  int
	size    int
	kernel  *kernels.GlobalPooling // nil when planes are empty
}

func newGlobalPool(kind kernels.PoolKind) Factory {
	return func(n *ir.Node, opset int) (Op, error) {
		if len(n.Outputs) != 1 {
			return nil, nodeErrf(n, "has %d outputs, want 1", len(n.Outputs))
		}
		return &globalPoolOp{node: n, kind: kind}, nil
	}
}

// KernelName names the reduction kernel.
func (g *globalPoolOp) KernelName() string {
	if g.kernel == nil {
		return ""
	}
	return g.kernel.Kernel()
}

func (g *globalPoolOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := g.node
	if err := needInputs(n, in, 1); err != nil {
		return nil, err
	}
	if err := needDType(n, in, 0, ir.Float32); err != nil {
		return nil, err
	}
	xs := in[0].Shape
	if len(xs) < 3 {
		return nil, nodeErrf(n, "input X has shape %v; want N×C×D1×… with at least one spatial dimension", xs)
	}
	g.planes = xs[0] * xs[1]
	g.size = xs[2:].Size()
	if g.size == 0 && g.planes > 0 {
		return nil, nodeErrf(n, "input X has shape %v; spatial dimensions must be positive", xs)
	}
	out := make(ir.Shape, len(xs))
	out[0], out[1] = xs[0], xs[1]
	for i := 2; i < len(out); i++ {
		out[i] = 1
	}
	g.kernel = nil
	if g.size > 0 {
		k, err := kernels.NewGlobalPooling(env.Kernels, g.kind, g.size)
		if err != nil {
			return nil, nodeErrf(n, "%v", err)
		}
		g.kernel = k
	}
	g.planned = true
	return []Value{{DType: ir.Float32, Shape: out}}, nil
}

func (g *globalPoolOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(g.node, in, 1, out, 1); err != nil {
		return err
	}
	if !g.planned {
		return nodeErrf(g.node, "run before plan")
	}
	x, y := in[0].F32, out[0].F32
	if len(x) != g.planes*g.size || len(y) != g.planes {
		return nodeErrf(g.node, "run: X has %d elements and Y %d, planned %d and %d", len(x), len(y), g.planes*g.size, g.planes)
	}
	if g.planes == 0 || g.kernel == nil {
		return nil
	}
	g.kernel.Run(ctxPool(ctx), g.planes, x, y)
	return nil
}
