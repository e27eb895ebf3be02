package compress

import (
	"errors"
	"fmt"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// ErrUnsupported is returned (wrapped) when a graph holds an operator the
// calibration network cannot differentiate; the baselines (greedy,
// uniform) still work on such graphs as long as they need no data.
var ErrUnsupported = errors.New("compress: operator not supported")

// wlayer is one Conv, Gemm or MatMul node with a constant weight, in
// canonical form: W is N×C×KH×KW for Conv and N×K (Gemm/MatMul, output ×
// input) otherwise. Geometry is for one image.
type wlayer struct {
	node   *ir.Node
	index  int // node index in the graph
	kind   string
	p      kernels.ConvParams // Conv geometry; Gemm: InC=K, OutC=N, sizes 1
	w      []float32
	bias   []float32 // len N or nil (Gemm: already scaled by beta)
	alpha  float32   // Gemm alpha (folded into w already)
	rows   int       // Gemm/MatMul batch rows per image (1)
	macs   int64     // dense MACs per image
	params int64     // dense weight + bias elements
	group  int
}

// step is one operator application of the calibration network.
type step struct {
	node  *ir.Node
	op    netOp
	ins   []string // activation inputs; "" marks the weight slot
	out   string
	layer int // index into net.layers for Conv/Gemm/MatMul, else -1
}

// net is the differentiable form of an optimized graph for one batch size.
type net struct {
	batch   int
	input   string
	inShape ir.Shape // batch × per-image input dims
	steps   []*step
	logits  string
	classes int
	layers  []*wlayer
	shapes  map[string]ir.Shape
}

func constOf(g *ir.Graph, name string) *ir.Tensor {
	if name == "" {
		return nil
	}
	return g.Initializers[name]
}

// findLayers lists the weight layers of g (Conv, Gemm and MatMul with a
// constant weight) with their geometry, propagating shapes from the graph
// input at batch 1. It fails with ErrUnsupported for shapes it cannot
// follow.
func findLayers(g *ir.Graph) ([]*wlayer, error) {
	n, err := buildNet(g, 1, kernels.Config{}, nil)
	if err != nil {
		return nil, err
	}
	return n.layers, nil
}

// buildNet analyses g for batch images. needW[i] tells whether the
// gradient of layer i's weight is needed (nil: none).
func buildNet(g *ir.Graph, batch int, cfg kernels.Config, needW []bool) (*net, error) {
	if len(g.Inputs) != 1 || len(g.Outputs) < 1 {
		return nil, fmt.Errorf("%w: the graph must have one input and an output (has %d inputs, %d outputs)", ErrUnsupported, len(g.Inputs), len(g.Outputs))
	}
	in := g.Inputs[0]
	if len(in.Shape) != 4 {
		return nil, fmt.Errorf("%w: input %q must be NCHW (shape %v)", ErrUnsupported, in.Name, in.Shape)
	}
	nt := &net{batch: batch, input: in.Name, shapes: map[string]ir.Shape{}}
	s := ir.Shape{batch, in.Shape[1], in.Shape[2], in.Shape[3]}
	for _, d := range s[1:] {
		if d <= 0 {
			return nil, fmt.Errorf("%w: input %q has a dynamic non-batch dimension %v", ErrUnsupported, in.Name, in.Shape)
		}
	}
	nt.inShape = s
	nt.shapes[in.Name] = s
	grad := map[string]bool{in.Name: false}
	out := g.Outputs[0].Name
	// A final Softmax is dropped: the objectives are defined on logits.
	for _, nd := range g.Nodes {
		if nd.OpType == "Softmax" && len(nd.Outputs) == 1 && nd.Outputs[0] == out {
			out = nd.Inputs[0]
		}
	}
	for idx, nd := range g.Nodes {
		if len(nd.Outputs) == 0 {
			continue
		}
		if nd.OpType == "Softmax" && nd.Inputs[0] == out {
			continue
		}
		acts := []string{}
		for _, name := range nd.Inputs {
			if name == "" || g.Initializers[name] != nil {
				continue
			}
			if _, ok := nt.shapes[name]; !ok {
				return nil, fmt.Errorf("%w: node %q (%s) reads %q whose shape is unknown", ErrUnsupported, nd.Name, nd.OpType, name)
			}
			acts = append(acts, name)
		}
		anyGrad := false
		for _, a := range acts {
			anyGrad = anyGrad || grad[a]
		}
		st := &step{node: nd, out: nd.Outputs[0], layer: -1}
		var op netOp
		var err error
		switch nd.OpType {
		case "Conv", "Gemm", "MatMul":
			var l *wlayer
			l, err = newLayer(g, nd, idx, nt.shapes)
			if err != nil {
				return nil, err
			}
			li := len(nt.layers)
			nt.layers = append(nt.layers, l)
			st.layer = li
			dw := needW != nil && li < len(needW) && needW[li]
			x := nt.shapes[nd.Inputs[0]]
			if l.kind == "Conv" {
				if l.group != 1 {
					return nil, fmt.Errorf("%w: node %q: grouped Conv (group %d) in the calibration network", ErrUnsupported, nd.Name, l.group)
				}
				p := l.p
				var c *convOp
				c, err = newConvOp(cfg, batch, p, l.bias, grad[nd.Inputs[0]])
				if c != nil {
					c.needDW = dw
					op = c
				}
			} else {
				m := batch
				if len(x) != 2 || x[0] != batch {
					return nil, fmt.Errorf("%w: node %q (%s): input shape %v is not [batch, features]", ErrUnsupported, nd.Name, nd.OpType, x)
				}
				op = &gemmOp{m: m, n: l.p.OutC, k: l.p.InC, bias: l.bias, needDX: grad[nd.Inputs[0]], needDW: dw, gemm: kernels.SelectGemm(cfg)}
			}
			st.ins = []string{nd.Inputs[0], ""}
			grad[st.out] = anyGrad || dw
		case "Relu":
			op = &reluOp{s: nt.shapes[nd.Inputs[0]]}
		case "Add", "Sum":
			if len(acts) != 2 || len(nd.Inputs) != 2 || !nt.shapes[acts[0]].Equal(nt.shapes[acts[1]]) {
				return nil, fmt.Errorf("%w: node %q (%s): only the sum of two activations of equal shape", ErrUnsupported, nd.Name, nd.OpType)
			}
			op = &addOp{s: nt.shapes[acts[0]]}
		case "MaxPool":
			op, err = newPool(nd, nt.shapes[nd.Inputs[0]])
		case "GlobalAveragePool":
			x := nt.shapes[nd.Inputs[0]]
			if len(x) != 4 {
				return nil, fmt.Errorf("%w: node %q: GlobalAveragePool of a %d-D tensor", ErrUnsupported, nd.Name, len(x))
			}
			op = &poolOp{n: x[0], c: x[1], h: x[2], w: x[3], kh: x[2], kw: x[3], sh: 1, sw: 1, dh: 1, dw: 1, oh: 1, ow: 1, avg: true}
		case "Flatten":
			x := nt.shapes[nd.Inputs[0]]
			ax := int(nd.AttrInt("axis", 1))
			if ax < 0 {
				ax += len(x)
			}
			if ax < 0 || ax > len(x) {
				return nil, fmt.Errorf("%w: node %q: Flatten axis %d out of range", ErrUnsupported, nd.Name, ax)
			}
			op = &reshapeOp{from: x, to: ir.Shape{x[:ax].Size(), x[ax:].Size()}}
		case "Reshape":
			op, err = newReshape(g, nd, nt.shapes[nd.Inputs[0]])
		case "Identity", "Dropout":
			x := nt.shapes[nd.Inputs[0]]
			op = &reshapeOp{from: x, to: x}
		case "Concat":
			op, err = newConcat(nd, acts, nt.shapes)
		case "Pad":
			op, err = newPad(g, nd, nt.shapes[nd.Inputs[0]])
		default:
			return nil, fmt.Errorf("%w: node %q: %s (the calibration network supports Conv, Gemm, MatMul, Relu, Add, MaxPool, GlobalAveragePool, Flatten, Reshape, Concat, Pad)", ErrUnsupported, nd.Name, nd.OpType)
		}
		if err != nil {
			return nil, err
		}
		if st.ins == nil {
			st.ins = acts
			grad[st.out] = anyGrad
		}
		if len(st.ins) != len(op.inShapes()) {
			return nil, fmt.Errorf("%w: node %q (%s): %d activation inputs, want %d", ErrUnsupported, nd.Name, nd.OpType, len(st.ins), len(op.inShapes()))
		}
		st.op = op
		nt.shapes[st.out] = op.outShape()
		nt.steps = append(nt.steps, st)
	}
	ls, ok := nt.shapes[out]
	if !ok || len(ls) != 2 || ls[0] != batch {
		return nil, fmt.Errorf("%w: output %q must be [batch, classes] logits (shape %v)", ErrUnsupported, out, ls)
	}
	nt.logits, nt.classes = out, ls[1]
	return nt, nil
}

func intsOr(v []int64, n int, def int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = def
		if i < len(v) {
			out[i] = int(v[i])
		}
	}
	return out
}

func newLayer(g *ir.Graph, nd *ir.Node, idx int, shapes map[string]ir.Shape) (*wlayer, error) {
	x := shapes[nd.Inputs[0]]
	w := constOf(g, nd.Input(1))
	if w == nil || w.DType != ir.Float32 {
		return nil, fmt.Errorf("%w: node %q (%s): the weight must be a float32 constant", ErrUnsupported, nd.Name, nd.OpType)
	}
	if x == nil {
		return nil, fmt.Errorf("%w: node %q (%s): the data input must be an activation", ErrUnsupported, nd.Name, nd.OpType)
	}
	l := &wlayer{node: nd, index: idx, kind: nd.OpType, alpha: 1, rows: 1, group: 1}
	switch nd.OpType {
	case "Conv":
		if len(x) != 4 || len(w.Shape) != 4 {
			return nil, fmt.Errorf("%w: node %q: only 2-D convolutions (input %v, weight %v)", ErrUnsupported, nd.Name, x, w.Shape)
		}
		if ap := nd.AttrString("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "" && ap != "VALID" {
			return nil, fmt.Errorf("%w: node %q: Conv auto_pad %s; re-export with explicit pads", ErrUnsupported, nd.Name, ap)
		}
		st := intsOr(nd.AttrInts("strides"), 2, 1)
		dl := intsOr(nd.AttrInts("dilations"), 2, 1)
		pd := intsOr(nd.AttrInts("pads"), 4, 0)
		grp := int(nd.AttrInt("group", 1))
		l.group = grp
		l.p = kernels.ConvParams{InC: x[1], InH: x[2], InW: x[3], OutC: w.Shape[0], KH: w.Shape[2], KW: w.Shape[3],
			StrideH: st[0], StrideW: st[1], DilH: dl[0], DilW: dl[1], PadTop: pd[0], PadLeft: pd[1], PadBottom: pd[2], PadRight: pd[3], Group: grp}
		if err := l.p.Validate(); err != nil {
			return nil, fmt.Errorf("%w: node %q: %v", ErrUnsupported, nd.Name, err)
		}
		if w.Shape[1]*grp != x[1] {
			return nil, fmt.Errorf("%w: node %q: weight %v does not match input channels %d", ErrUnsupported, nd.Name, w.Shape, x[1])
		}
		l.w = w.F32
		if b := constOf(g, nd.Input(2)); b != nil {
			if b.Len() != l.p.OutC || b.DType != ir.Float32 {
				return nil, fmt.Errorf("%w: node %q: bias has %d elements, want %d", ErrUnsupported, nd.Name, b.Len(), l.p.OutC)
			}
			l.bias = b.F32
		} else if nd.Input(2) != "" {
			return nil, fmt.Errorf("%w: node %q: the bias must be constant", ErrUnsupported, nd.Name)
		}
		l.macs = l.p.MACs()
	case "Gemm", "MatMul":
		if len(x) != 2 || len(w.Shape) != 2 {
			return nil, fmt.Errorf("%w: node %q (%s): only 2-D operands (input %v, weight %v)", ErrUnsupported, nd.Name, nd.OpType, x, w.Shape)
		}
		transB := nd.OpType == "Gemm" && nd.AttrInt("transB", 0) != 0
		if nd.OpType == "Gemm" && nd.AttrInt("transA", 0) != 0 {
			return nil, fmt.Errorf("%w: node %q: Gemm with transA", ErrUnsupported, nd.Name)
		}
		var nOut, kIn int
		if transB {
			nOut, kIn = w.Shape[0], w.Shape[1]
		} else {
			kIn, nOut = w.Shape[0], w.Shape[1]
		}
		if x[1] != kIn {
			return nil, fmt.Errorf("%w: node %q: input %v does not match weight %v", ErrUnsupported, nd.Name, x, w.Shape)
		}
		alpha := float32(1)
		if nd.OpType == "Gemm" {
			alpha = nd.AttrFloat("alpha", 1)
		}
		cw := make([]float32, nOut*kIn)
		for o := 0; o < nOut; o++ {
			for k := 0; k < kIn; k++ {
				if transB {
					cw[o*kIn+k] = alpha * w.F32[o*kIn+k]
				} else {
					cw[o*kIn+k] = alpha * w.F32[k*nOut+o]
				}
			}
		}
		l.w, l.alpha = cw, alpha
		l.p = kernels.ConvParams{InC: kIn, OutC: nOut, InH: 1, InW: 1, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}
		if c := constOf(g, nd.Input(2)); c != nil && nd.OpType == "Gemm" {
			beta := nd.AttrFloat("beta", 1)
			b := make([]float32, nOut)
			switch c.Len() {
			case 1:
				for i := range b {
					b[i] = beta * c.F32[0]
				}
			case nOut:
				for i := range b {
					b[i] = beta * c.F32[i]
				}
			default:
				return nil, fmt.Errorf("%w: node %q: Gemm bias of shape %v (want [%d])", ErrUnsupported, nd.Name, c.Shape, nOut)
			}
			l.bias = b
		} else if nd.OpType == "Gemm" && nd.Input(2) != "" {
			return nil, fmt.Errorf("%w: node %q: the Gemm bias must be constant", ErrUnsupported, nd.Name)
		}
		l.macs = int64(nOut) * int64(kIn)
	}
	l.params = int64(len(l.w))
	if l.bias != nil {
		l.params += int64(len(l.bias))
	}
	return l, nil
}

func newPool(nd *ir.Node, x ir.Shape) (netOp, error) {
	if len(x) != 4 {
		return nil, fmt.Errorf("%w: node %q: MaxPool of a %d-D tensor", ErrUnsupported, nd.Name, len(x))
	}
	k := intsOr(nd.AttrInts("kernel_shape"), 2, 1)
	st := intsOr(nd.AttrInts("strides"), 2, 1)
	dl := intsOr(nd.AttrInts("dilations"), 2, 1)
	pd := intsOr(nd.AttrInts("pads"), 4, 0)
	if ap := nd.AttrString("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "" && ap != "VALID" {
		return nil, fmt.Errorf("%w: node %q: MaxPool auto_pad %s", ErrUnsupported, nd.Name, ap)
	}
	ceil := nd.AttrInt("ceil_mode", 0) != 0
	outDim := func(in, k, s, d, pb, pe int) int {
		span := in + pb + pe - d*(k-1) - 1
		if ceil {
			o := (span+s-1)/s + 1
			if (o-1)*s >= in+pb { // the last window must start inside the input
				o--
			}
			return o
		}
		return span/s + 1
	}
	p := &poolOp{n: x[0], c: x[1], h: x[2], w: x[3], kh: k[0], kw: k[1], sh: st[0], sw: st[1], dh: dl[0], dw: dl[1], pt: pd[0], pl: pd[1]}
	p.oh = outDim(x[2], k[0], st[0], dl[0], pd[0], pd[2])
	p.ow = outDim(x[3], k[1], st[1], dl[1], pd[1], pd[3])
	if p.oh <= 0 || p.ow <= 0 || p.sh <= 0 || p.sw <= 0 {
		return nil, fmt.Errorf("%w: node %q: MaxPool output would be empty", ErrUnsupported, nd.Name)
	}
	return p, nil
}

func newReshape(g *ir.Graph, nd *ir.Node, x ir.Shape) (netOp, error) {
	sh := constOf(g, nd.Input(1))
	if sh == nil {
		return nil, fmt.Errorf("%w: node %q: Reshape needs a constant shape", ErrUnsupported, nd.Name)
	}
	v, ok := sh.Ints()
	if !ok {
		return nil, fmt.Errorf("%w: node %q: Reshape shape is not an integer tensor", ErrUnsupported, nd.Name)
	}
	out := make(ir.Shape, len(v))
	neg := -1
	known := 1
	for i, d := range v {
		switch {
		case d == 0 && i < len(x):
			out[i] = x[i]
		case d == -1 && neg < 0:
			neg = i
			continue
		case d > 0:
			out[i] = int(d)
		default:
			return nil, fmt.Errorf("%w: node %q: Reshape to %v", ErrUnsupported, nd.Name, v)
		}
		known *= out[i]
	}
	if neg >= 0 {
		if known == 0 || x.Size()%known != 0 {
			return nil, fmt.Errorf("%w: node %q: Reshape %v to %v", ErrUnsupported, nd.Name, x, v)
		}
		out[neg] = x.Size() / known
	}
	if out.Size() != x.Size() {
		return nil, fmt.Errorf("%w: node %q: Reshape %v to %v changes the size", ErrUnsupported, nd.Name, x, out)
	}
	// Reshapes written for batch 1 keep the batch dimension in front.
	return &reshapeOp{from: x, to: out}, nil
}

func newConcat(nd *ir.Node, acts []string, shapes map[string]ir.Shape) (netOp, error) {
	if len(acts) != len(nd.Inputs) || len(acts) == 0 {
		return nil, fmt.Errorf("%w: node %q: Concat of constants", ErrUnsupported, nd.Name)
	}
	first := shapes[acts[0]]
	ax := int(nd.AttrInt("axis", 1))
	if ax < 0 {
		ax += len(first)
	}
	if ax < 0 || ax >= len(first) {
		return nil, fmt.Errorf("%w: node %q: Concat axis out of range", ErrUnsupported, nd.Name)
	}
	c := &concatOp{outer: first[:ax].Size()}
	out := first.Clone()
	out[ax] = 0
	for _, a := range acts {
		s := shapes[a]
		if len(s) != len(first) {
			return nil, fmt.Errorf("%w: node %q: Concat of ranks %d and %d", ErrUnsupported, nd.Name, len(first), len(s))
		}
		for i := range s {
			if i != ax && s[i] != first[i] {
				return nil, fmt.Errorf("%w: node %q: Concat of shapes %v and %v", ErrUnsupported, nd.Name, first, s)
			}
		}
		out[ax] += s[ax]
		c.ins = append(c.ins, s)
		c.inner = append(c.inner, s[ax:].Size())
	}
	c.out = out
	return c, nil
}

func newPad(g *ir.Graph, nd *ir.Node, x ir.Shape) (netOp, error) {
	if m := nd.AttrString("mode", "constant"); m != "constant" {
		return nil, fmt.Errorf("%w: node %q: Pad mode %s", ErrUnsupported, nd.Name, m)
	}
	var pads []int64
	var val float32
	if nd.Has("pads") {
		pads = nd.AttrInts("pads")
		val = nd.AttrFloat("value", 0)
	} else {
		t := constOf(g, nd.Input(1))
		if t == nil {
			return nil, fmt.Errorf("%w: node %q: Pad needs constant pads", ErrUnsupported, nd.Name)
		}
		pads, _ = t.Ints()
		if v := constOf(g, nd.Input(2)); v != nil && v.DType == ir.Float32 && len(v.F32) == 1 {
			val = v.F32[0]
		}
		if nd.Input(3) != "" {
			return nil, fmt.Errorf("%w: node %q: Pad with axes", ErrUnsupported, nd.Name)
		}
	}
	if len(x) != 4 || len(pads) != 8 {
		return nil, fmt.Errorf("%w: node %q: only 4-D Pad (input %v, pads %v)", ErrUnsupported, nd.Name, x, pads)
	}
	p := &padOp{in: x, value: val}
	out := x.Clone()
	for i := 0; i < 8; i++ {
		if pads[i] < 0 {
			return nil, fmt.Errorf("%w: node %q: negative pads", ErrUnsupported, nd.Name)
		}
		p.pads[i] = int(pads[i])
		out[i%4] += int(pads[i])
	}
	p.out = out
	return p, nil
}
