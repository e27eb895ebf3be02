package compress

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file adapts the netOps to gorgonia: every operator of the
// calibration network is a custom gorgonia Op (an SDOp) whose forward and
// backward call the float32 kernels; gorgonia builds the reverse-mode
// graph (Grad), sums gradients of shared values and schedules the tape.

// fwdOp is a netOp as a gorgonia differentiable op.
type fwdOp struct {
	op   netOp
	id   int
	pool *kernels.Pool
}

func gtype(s ir.Shape) hm.Type {
	if len(s) == 0 {
		return hm.TypeVariable('a')
	}
	return G.TensorType{Dims: len(s), Of: hm.TypeVariable('a')}
}

func tshape(s ir.Shape) tensor.Shape {
	if len(s) == 0 {
		return tensor.ScalarShape()
	}
	return tensor.Shape(append([]int(nil), s...))
}

func f32data(v G.Value) ([]float32, error) {
	switch t := v.(type) {
	case *G.F32:
		return []float32{float32(*t)}, nil
	case *tensor.Dense:
		switch d := t.Data().(type) {
		case []float32:
			return d, nil
		case float32:
			return []float32{d}, nil
		}
	}
	return nil, fmt.Errorf("compress: internal: value %T is not float32", v)
}

func newValue(s ir.Shape, data []float32) G.Value {
	if len(s) == 0 {
		return G.NewF32(data[0])
	}
	return tensor.New(tensor.WithShape(tshape(s)...), tensor.WithBacking(data))
}

func (o *fwdOp) Arity() int { return len(o.op.inShapes()) }
func (o *fwdOp) Type() hm.Type {
	ts := []hm.Type{}
	for _, s := range o.op.inShapes() {
		ts = append(ts, gtype(s))
	}
	ts = append(ts, gtype(o.op.outShape()))
	return hm.NewFnType(ts...)
}
func (o *fwdOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tshape(o.op.outShape()), nil }
func (o *fwdOp) Do(vs ...G.Value) (G.Value, error) {
	in := make([][]float32, len(vs))
	for i, v := range vs {
		d, err := f32data(v)
		if err != nil {
			return nil, err
		}
		in[i] = d
	}
	out := make([]float32, max(1, o.op.outShape().Size()))
	o.op.forward(o.pool, in, out)
	return newValue(o.op.outShape(), out), nil
}
func (o *fwdOp) ReturnsPtr() bool      { return false }
func (o *fwdOp) CallsExtern() bool     { return false }
func (o *fwdOp) OverwritesInput() int  { return -1 }
func (o *fwdOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "edge.%s#%d", o.op.kind(), o.id) }
func (o *fwdOp) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}
func (o *fwdOp) String() string { return fmt.Sprintf("%s#%d", o.op.kind(), o.id) }
func (o *fwdOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = o.op.diff(i)
	}
	return d
}
func (o *fwdOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	out := make(G.Nodes, len(inputs))
	args := append(append(G.Nodes{}, inputs...), output, grad)
	for i := range inputs {
		if !o.op.diff(i) {
			continue
		}
		n, err := G.ApplyOp(&bwdOp{fwd: o, i: i}, args...)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// bwdOp computes the gradient of a fwdOp with respect to input i from
// (inputs..., output, gradOutput).
type bwdOp struct {
	fwd *fwdOp
	i   int
}

func (b *bwdOp) Arity() int { return len(b.fwd.op.inShapes()) + 2 }
func (b *bwdOp) Type() hm.Type {
	ts := []hm.Type{}
	for _, s := range b.fwd.op.inShapes() {
		ts = append(ts, gtype(s))
	}
	o := gtype(b.fwd.op.outShape())
	ts = append(ts, o, o, gtype(b.fwd.op.inShapes()[b.i]))
	return hm.NewFnType(ts...)
}
func (b *bwdOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tshape(b.fwd.op.inShapes()[b.i]), nil
}
func (b *bwdOp) Do(vs ...G.Value) (G.Value, error) {
	data := make([][]float32, len(vs))
	for i, v := range vs {
		d, err := f32data(v)
		if err != nil {
			return nil, err
		}
		data[i] = d
	}
	n := len(vs) - 2
	s := b.fwd.op.inShapes()[b.i]
	gin := make([]float32, max(1, s.Size()))
	b.fwd.op.backward(b.fwd.pool, b.i, data[:n], data[n], data[n+1], gin)
	return newValue(s, gin), nil
}
func (b *bwdOp) ReturnsPtr() bool     { return false }
func (b *bwdOp) CallsExtern() bool    { return false }
func (b *bwdOp) OverwritesInput() int { return -1 }
func (b *bwdOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "edge.d%s#%d/d%d", b.fwd.op.kind(), b.fwd.id, b.i)
}
func (b *bwdOp) Hashcode() uint32 {
	h := fnv.New32a()
	b.WriteHash(h)
	return h.Sum32()
}
func (b *bwdOp) String() string { return fmt.Sprintf("d%s#%d/d%d", b.fwd.op.kind(), b.fwd.id, b.i) }

// evaluator runs the calibration network for one batch with gorgonia:
// the loss, and optionally the gradients of the chosen layers' weights.
type evaluator struct {
	nt      *net
	g       *G.ExprGraph
	x       *G.Node
	tgt     *G.Node
	wts     *G.Node
	weights []*G.Node // per layer
	loss    *G.Node
	logits  *G.Node
	grads   []*G.Node // per layer; nil when not wanted
	vmGrad  G.VM
	vmFwd   G.VM
	pool    *kernels.Pool
}

// newEvaluator builds the gorgonia graph of nt. needW selects the layers
// whose weight gradients are computed by grad.
func newEvaluator(nt *net, needW []bool, pool *kernels.Pool) (*evaluator, error) {
	e := &evaluator{nt: nt, g: G.NewGraph(), pool: pool}
	g := e.g
	vals := map[string]*G.Node{}
	e.x = G.NewTensor(g, tensor.Float32, 4, G.WithShape(tshape(nt.inShape)...), G.WithName("x"))
	vals[nt.input] = e.x
	e.weights = make([]*G.Node, len(nt.layers))
	for i, l := range nt.layers {
		s := ir.Shape{l.p.OutC, l.p.InC, l.p.KH, l.p.KW}
		if l.kind != "Conv" {
			s = ir.Shape{l.p.OutC, l.p.InC}
		}
		e.weights[i] = G.NewTensor(g, tensor.Float32, len(s), G.WithShape(tshape(s)...), G.WithName(fmt.Sprintf("w%d", i)))
	}
	for id, st := range nt.steps {
		args := G.Nodes{}
		for _, in := range st.ins {
			if in == "" {
				args = append(args, e.weights[st.layer])
				continue
			}
			v, ok := vals[in]
			if !ok {
				return nil, fmt.Errorf("compress: internal: value %q has no node", in)
			}
			args = append(args, v)
		}
		n, err := G.ApplyOp(&fwdOp{op: st.op, id: id, pool: pool}, args...)
		if err != nil {
			return nil, fmt.Errorf("compress: building the gradient graph at node %q (%s): %v", st.node.Name, st.node.OpType, err)
		}
		vals[st.out] = n
	}
	e.logits = vals[nt.logits]
	b, k := nt.batch, nt.classes
	e.tgt = G.NewTensor(g, tensor.Float32, 2, G.WithShape(b, k), G.WithName("targets"))
	e.wts = G.NewTensor(g, tensor.Float32, 1, G.WithShape(b), G.WithName("sampleweights"))
	loss, err := G.ApplyOp(&fwdOp{op: &lossOp{b: b, k: k}, id: len(nt.steps), pool: pool}, e.logits, e.tgt, e.wts)
	if err != nil {
		return nil, fmt.Errorf("compress: building the loss: %v", err)
	}
	e.loss = loss
	e.vmFwd = G.NewTapeMachine(g.SubgraphRoots(loss))
	wrt := G.Nodes{}
	idx := []int{}
	for i, w := range needW {
		if w {
			wrt = append(wrt, e.weights[i])
			idx = append(idx, i)
		}
	}
	e.grads = make([]*G.Node, len(nt.layers))
	if len(wrt) > 0 {
		gs, err := G.Grad(loss, wrt...)
		if err != nil {
			return nil, fmt.Errorf("compress: differentiating the network: %v", err)
		}
		for j, i := range idx {
			e.grads[i] = gs[j]
		}
		e.vmGrad = G.NewTapeMachine(g)
	}
	return e, nil
}

// run evaluates one batch: x is batch×C×H×W, targets batch×classes
// (probabilities), sw per-sample weights. weights[i] is layer i's
// canonical weight. With grad, the weight gradients of the selected
// layers are added (times 1) into gsum[i]. logits, when not nil, receives
// a copy of the logits. It returns the weighted loss.
func (e *evaluator) run(weights [][]float32, x, targets, sw []float32, grad bool, gsum [][]float32, logits []float32) (float64, error) {
	nt := e.nt
	if err := G.Let(e.x, tensor.New(tensor.WithShape(tshape(nt.inShape)...), tensor.WithBacking(x))); err != nil {
		return 0, err
	}
	if err := G.Let(e.tgt, tensor.New(tensor.WithShape(nt.batch, nt.classes), tensor.WithBacking(targets))); err != nil {
		return 0, err
	}
	if err := G.Let(e.wts, tensor.New(tensor.WithShape(nt.batch), tensor.WithBacking(sw))); err != nil {
		return 0, err
	}
	for i, w := range e.weights {
		if err := G.Let(w, tensor.New(tensor.WithShape(w.Shape()...), tensor.WithBacking(weights[i]))); err != nil {
			return 0, err
		}
	}
	vm := e.vmFwd
	if grad && e.vmGrad != nil {
		vm = e.vmGrad
	}
	defer vm.Reset()
	if err := vm.RunAll(); err != nil {
		return 0, fmt.Errorf("compress: running the calibration network: %v", err)
	}
	lv, err := f32data(e.loss.Value())
	if err != nil {
		return 0, err
	}
	if logits != nil {
		d, err := f32data(e.logits.Value())
		if err != nil {
			return 0, err
		}
		copy(logits, d)
	}
	if grad {
		for i, gn := range e.grads {
			if gn == nil || gsum[i] == nil {
				continue
			}
			d, err := f32data(gn.Value())
			if err != nil {
				return 0, err
			}
			for j, v := range d {
				gsum[i][j] += v
			}
		}
	}
	return float64(lv[0]), nil
}
