package runtime

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
	"github.com/edgeml/edge/runtime/ops"
)

// value is one named tensor of a plan.
type value struct {
	name  string
	dtype ir.DType
	shape ir.Shape
	konst *ir.Tensor // known at plan time and bound as is
	input int        // index into plan.inputs, or -1
	// Buffers: a value computed at run time either owns an arena region
	// (offset in elements of its dtype's arena) or is a view of root.
	root   int // value id whose buffer this one shares (itself when owning)
	offset int
	def    int // step that writes it (-1 for constants and inputs)
	last   int // last step reading it (through views too)
	want   bool
	// host, when placed, is the value whose buffer holds this one at
	// element offset at (a Concat input written in place, placeInputs);
	// offset then follows from the host's.
	placed   bool
	host, at int
}

// step is one executed (or view) operator.
type step struct {
	node   *ir.Node
	op     ops.Op
	in     []int // value ids; -1 for omitted inputs
	out    []int // value ids; -1 for omitted outputs
	view   bool  // output 0 shares input 0's buffer; Run is not called
	fused  string
	act    kernels.Activation
	macs   int64
	kernel string
	params int64
	snap   []int // wanted values to copy after this step
}

// plan is an immutable execution plan for one set of input shapes; any
// number of sessions use it concurrently.
type plan struct {
	vals     []value
	steps    []step
	inputs   []int // value id per graph input (in Graph.Inputs order)
	want     []int // value ids of the requested values, in request order
	preSnap  []int // wanted constants and inputs
	arenaLen [4]int
	peak     int64
	weights  int64
	params   int64
	macs     int64
}

// arena slots by dtype.
func arenaIndex(d ir.DType) int {
	switch d {
	case ir.Float32:
		return 0
	case ir.Int64:
		return 1
	case ir.Int32:
		return 2
	case ir.Bool:
		return 3
	}
	return -1
}

// planRequest is what a plan depends on.
type planRequest struct {
	shapes []ir.Shape     // per graph input
	consts []*ir.Tensor   // per graph input: value for integer inputs, else nil
	want   []string       // requested values (graph outputs when empty)
	cfg    kernels.Config // kernel restrictions
	// release, when set, is called with each constant whose every use
	// was absorbed by an operator (ops.Absorber), as soon as the last of
	// them is planned; it is not part of the key.
	release func(t *ir.Tensor)
}

func (r *planRequest) key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "isa%d|", r.cfg.Disabled)
	for i, s := range r.shapes {
		b.WriteString(s.String())
		if c := r.consts[i]; c != nil {
			v, _ := c.Ints()
			fmt.Fprint(&b, "=", c.DType, v)
		}
		b.WriteByte('|')
	}
	for _, w := range r.want {
		b.WriteString(w)
		b.WriteByte(0)
	}
	return b.String()
}

// activationOf returns the activation a Relu or Clip node computes when
// it is fusable with what is known at plan time.
func activationOf(n *ir.Node, opset int, constOf func(string) *ir.Tensor) (kernels.Activation, string, bool) {
	if n.Domain != "" && n.Domain != "ai.onnx" || len(n.Outputs) != 1 {
		return kernels.Activation{}, "", false
	}
	switch n.OpType {
	case "Relu":
		return kernels.Activation{Kind: kernels.ActRelu}, "Relu", true
	case "Clip":
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if opset < 11 {
			lo = n.AttrFloat("min", -math.MaxFloat32)
			hi = n.AttrFloat("max", math.MaxFloat32)
		} else {
			for i, dst := range []*float32{&lo, &hi} {
				name := n.Input(i + 1)
				if name == "" {
					continue
				}
				c := constOf(name)
				if c == nil || c.DType != ir.Float32 || c.Len() != 1 {
					return kernels.Activation{}, "", false
				}
				*dst = c.F32[0]
			}
		}
		return kernels.Activation{Kind: kernels.ActClip, Min: lo, Max: hi}, "Clip", true
	}
	return kernels.Activation{}, "", false
}

// nodeError formats a planning error about node n.
func nodeError(n *ir.Node, opset int, cause, def error) error {
	return classify(fmt.Sprintf("runtime: node %q (%s, opset %d): %v", n.Name, n.OpType, opset, cause), cause, def)
}

// newOp creates the operator for n with the runtime's message for
// unknown operators.
func newOp(n *ir.Node, opset int) (ops.Op, error) {
	if n.Domain == "" || n.Domain == "ai.onnx" {
		if _, ok := ops.Lookup(n.OpType); !ok {
			return nil, tagged(fmt.Sprintf("runtime: node %q (%s, opset %d): unsupported operator; supported: %s", n.Name, n.OpType, opset, strings.Join(ops.Supported(), ", ")), ErrUnsupported)
		}
	}
	op, err := ops.New(n, opset)
	if err != nil {
		return nil, nodeError(n, opset, err, ErrInvalidModel)
	}
	return op, nil
}

// buildPlan plans graph g (optimized, topologically sorted). Errors are
// tagged with def (ErrInvalidModel at load, ErrInput for run-time shapes)
// unless they are ErrUnsupported.
func buildPlan(g *ir.Graph, req *planRequest, def error) (*plan, error) {
	p := &plan{}
	ids := map[string]int{}
	add := func(v value) int {
		v.root = len(p.vals)
		p.vals = append(p.vals, v)
		ids[v.name] = len(p.vals) - 1
		return len(p.vals) - 1
	}
	for i, in := range g.Inputs {
		v := value{name: in.Name, dtype: in.DType, shape: req.shapes[i].Clone(), input: i, def: -1, last: -1}
		if c := req.consts[i]; c != nil {
			v.konst, v.input = c, -1
		}
		p.inputs = append(p.inputs, add(v))
	}
	lookup := func(name string) (int, bool) {
		if id, ok := ids[name]; ok {
			return id, true
		}
		if t, ok := g.Initializers[name]; ok {
			return add(value{name: name, dtype: t.DType, shape: t.Shape, konst: t, input: -1, def: -1, last: -1}), true
		}
		return -1, false
	}
	constOf := func(name string) *ir.Tensor {
		if id, ok := lookup(name); ok {
			return p.vals[id].konst
		}
		return nil
	}
	wanted := map[string]bool{}
	for _, w := range req.want {
		wanted[w] = true
	}
	outs := outputSet(g)
	used := consumers(g)
	fusedInto := map[*ir.Node]bool{}
	consumer := map[string]*ir.Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			consumer[in] = n
		}
	}
	var left map[string]int // uses not yet absorbed, per constant
	if req.release != nil {
		left = maps.Clone(used)
	}
	env := &ops.Env{Kernels: req.cfg, Opset: g.Opset}
	for _, n := range g.Nodes {
		if fusedInto[n] {
			continue
		}
		op, err := newOp(n, g.Opset)
		if err != nil {
			return nil, err
		}
		in := make([]ops.Value, len(n.Inputs))
		inIDs := make([]int, len(n.Inputs))
		allConst := true
		for i, name := range n.Inputs {
			inIDs[i] = -1
			if name == "" {
				continue
			}
			id, ok := lookup(name)
			if !ok {
				return nil, tagged(fmt.Sprintf("runtime: node %q (%s) reads %q, which is not defined before it", n.Name, n.OpType, name), ErrInvalidModel)
			}
			inIDs[i] = id
			v := &p.vals[id]
			in[i] = ops.Value{DType: v.dtype, Shape: v.shape, Const: v.konst}
			if v.konst == nil {
				allConst = false
			}
		}
		// Fuse a following Relu/Clip into the epilogue.
		var fused *ir.Node
		var act kernels.Activation
		var actName string
		if f, ok := op.(ops.Fuser); ok && !allConst && len(n.Outputs) == 1 {
			o := n.Outputs[0]
			if c := consumer[o]; c != nil && used[o] == 1 && !outs[o] && !wanted[o] && c.Input(0) == o {
				if a, name, ok := activationOf(c, g.Opset, constOf); ok && f.FuseActivation(a) {
					fused, act, actName = c, a, name
				}
			}
		}
		var lent []loan
		if !allConst {
			lent = lendWeights(g, p, req, inIDs, left, outs, wanted)
		}
		outv, err := op.Plan(env, in)
		endLoans(lent, req.release)
		if err != nil {
			return nil, nodeError(n, g.Opset, err, def)
		}
		for i, v := range outv {
			if err := checkSize(v.Shape, maxActivationElements); err != nil {
				return nil, tagged(fmt.Sprintf("runtime: node %q (%s) output %d: %v", n.Name, n.OpType, i, err), def)
			}
		}
		nOut := len(n.Outputs)
		for i := len(outv); i < nOut; i++ {
			if n.Outputs[i] != "" && (used[n.Outputs[i]] > 0 || outs[n.Outputs[i]] || wanted[n.Outputs[i]]) {
				return nil, tagged(fmt.Sprintf("runtime: node %q (%s) declares %d outputs but edge computes %d", n.Name, n.OpType, nOut, len(outv)), ErrUnsupported)
			}
		}
		outNames := slices.Clone(n.Outputs)
		if fused != nil {
			fusedInto[fused] = true
			outNames[0] = fused.Outputs[0]
		}
		if !allConst && fused == nil && len(outv) > 0 {
			// Outputs that follow from shapes alone (Shape) fold too.
			allConst = true
			for i, v := range outv {
				if v.Const == nil && i < nOut && n.Outputs[i] != "" {
					allConst = false
				}
			}
		}
		if allConst {
			res, err := evalPlanned(op, in, outv)
			if err != nil {
				return nil, nodeError(n, g.Opset, err, def)
			}
			for i, name := range outNames {
				if name == "" || i >= len(res) {
					continue
				}
				add(value{name: name, dtype: res[i].DType, shape: res[i].Shape, konst: res[i], input: -1, def: -1, last: -1})
			}
			continue
		}
		s := step{node: n, op: op, in: inIDs, fused: actName, act: act}
		if a, ok := op.(ops.Aliaser); ok && a.AliasInput() && len(inIDs) > 0 && inIDs[0] >= 0 {
			s.view = true
		}
		si := len(p.steps)
		for i, name := range outNames {
			if name == "" || i >= len(outv) {
				s.out = append(s.out, -1)
				continue
			}
			// A Const the operator reports for an output it also computes
			// is visible to later plans but the buffer is still written.
			v := value{name: name, dtype: outv[i].DType, shape: outv[i].Shape.Clone(), konst: outv[i].Const, input: -1, def: si, last: si}
			if arenaIndex(v.dtype) < 0 {
				return nil, tagged(fmt.Sprintf("runtime: node %q (%s) output %q has element type %v; edge executes float32, int64, int32 and bool", n.Name, n.OpType, name, v.dtype), ErrUnsupported)
			}
			id := add(v)
			if i == 0 && s.view {
				src := &p.vals[inIDs[0]]
				if src.dtype != v.dtype || src.shape.Size() != v.shape.Size() {
					return nil, tagged(fmt.Sprintf("runtime: node %q (%s): view of %v %v as %v %v", n.Name, n.OpType, src.dtype, src.shape, v.dtype, v.shape), ErrInvalidModel)
				}
				p.vals[id].root = src.root
			}
			s.out = append(s.out, id)
		}
		for _, id := range inIDs {
			if id >= 0 {
				r := p.vals[id].root
				p.vals[r].last = max(p.vals[r].last, si)
			}
		}
		if c, ok := op.(ops.Coster); ok {
			s.macs = c.MACs()
		}
		if k, ok := op.(ops.Kerneler); ok {
			s.kernel = k.KernelName()
		}
		for _, id := range inIDs {
			if id >= 0 && isParam(&p.vals[id]) {
				s.params += int64(p.vals[id].shape.Size())
			}
		}
		p.steps = append(p.steps, s)
		if a, ok := op.(ops.Absorber); ok && left != nil {
			for i, id := range inIDs {
				if id < 0 || !a.Absorbs(i) {
					continue
				}
				v := &p.vals[id]
				if left[v.name]--; left[v.name] == 0 && v.def < 0 && v.input < 0 && v.konst != nil && v.konst.DType == ir.Float32 && v.konst.F32 != nil && !outs[v.name] && !wanted[v.name] {
					req.release(v.konst)
				}
			}
		}
	}
	// Requested values.
	want := req.want
	if len(want) == 0 {
		for _, o := range g.Outputs {
			want = append(want, o.Name)
		}
	}
	for _, w := range want {
		id, ok := lookup(w)
		if !ok {
			return nil, tagged(fmt.Sprintf("runtime: no value named %q in the optimized graph (Model.Graph()); values removed by optimization (folded BatchNormalization inputs, Identity outputs) cannot be requested", w), ErrInput)
		}
		p.want = append(p.want, id)
		v := &p.vals[id]
		if v.want {
			continue
		}
		v.want = true
		if v.def < 0 {
			p.preSnap = append(p.preSnap, id)
		} else {
			p.steps[v.def].snap = append(p.steps[v.def].snap, id)
		}
	}
	p.placeInputs()
	p.assignMemory()
	p.resolvePlaced()
	p.summarize()
	return p, nil
}

// placeConcat enables placeInputs; tests switch it off to compare.
var placeConcat = true

// placeInputs lets producers write Concat inputs straight into their
// region of the Concat's output (ops.Placer), so the Concat copies
// nothing. An input is placed when it is computed at run time, owns its
// buffer, has no views and is read exactly once, by that Concat, and
// the Concat's layout has contiguous regions (batch 1 along channels).
// A graph input, a constant, an input also read elsewhere or twice by
// the Concat keeps its own buffer and is copied. A requested input is
// fine: it is copied out right after the step that writes it. Concats
// are visited last first, so a Concat that feeds another is placed
// inside it together with its own inputs.
func (p *plan) placeInputs() {
	if !placeConcat {
		return
	}
	reads := make([]int, len(p.vals))
	for id := range p.vals {
		if r := p.vals[id].root; r != id {
			reads[r] = -1 << 30 // has views
		}
	}
	for si := range p.steps {
		for _, id := range p.steps[si].in {
			if id >= 0 {
				reads[id]++
			}
		}
	}
	for si := len(p.steps) - 1; si >= 0; si-- {
		st := &p.steps[si]
		pl, ok := st.op.(ops.Placer)
		if !ok || st.view || len(st.out) != 1 || st.out[0] < 0 {
			continue
		}
		regions := pl.Regions()
		if len(regions) != len(st.in) {
			continue
		}
		host := st.out[0]
		done := false
		for i, id := range st.in {
			if id < 0 {
				continue
			}
			v := &p.vals[id]
			if v.def < 0 || v.def >= si || v.root != id || v.placed || reads[id] != 1 || v.last != si || v.dtype != p.vals[host].dtype {
				continue
			}
			v.placed, v.host, v.at = true, host, regions[i]
			pl.Place(i)
			done = true
		}
		if k, ok := st.op.(ops.Kerneler); ok && done {
			st.kernel = k.KernelName()
		}
	}
}

// placedStart returns, per owning value, the first step writing its
// buffer: its own def or an earlier one of a value placed inside it.
func (p *plan) placedStart() map[int]int {
	start := map[int]int{}
	for id := range p.vals {
		v := &p.vals[id]
		if !v.placed {
			continue
		}
		top := v.host
		for p.vals[top].placed {
			top = p.vals[top].host
		}
		if s, ok := start[top]; !ok || v.def < s {
			start[top] = v.def
		}
	}
	return start
}

// resolvePlaced sets the offsets of placed values from their hosts'
// (hosts are later values: higher ids).
func (p *plan) resolvePlaced() {
	for id := len(p.vals) - 1; id >= 0; id-- {
		if v := &p.vals[id]; v.placed {
			v.offset = p.vals[v.host].offset + v.at
		}
	}
}

// summarize computes the plan's totals.
func (p *plan) summarize() {
	seen := map[int]bool{}
	for _, s := range p.steps {
		p.macs += s.macs
		for _, id := range s.in {
			if id < 0 || seen[id] || p.vals[id].konst == nil || p.vals[id].def >= 0 {
				continue
			}
			seen[id] = true
			// From the shape: released constants (planRequest.release)
			// have no data.
			v := &p.vals[id]
			n := int64(v.shape.Size())
			p.weights += n * int64(v.dtype.Size())
			if isParam(v) {
				p.params += n
			}
		}
	}
}

// isParam reports whether a value counts as model parameters: a constant
// float32 tensor of rank ≥ 1 (weights, biases, scales). Scalars such as a
// Pad value or Clip bounds are operator arguments, not parameters.
func isParam(v *value) bool {
	return v.konst != nil && v.def < 0 && v.dtype == ir.Float32 && len(v.shape) > 0
}

// Size limits: an activation of more than 2^31 elements or a folded
// constant of more than 2^28 (1 GiB of float32) is refused rather than
// allocated.
const (
	maxActivationElements int64 = 1 << 31
	maxFoldedElements     int64 = 1 << 28
)

// checkSize validates a planned shape: dimensions non-negative and the
// element count, computed without overflow, at most limit.
func checkSize(s ir.Shape, limit int64) error {
	n := int64(1)
	for _, d := range s {
		if d < 0 {
			return fmt.Errorf("shape %v has a negative dimension", s)
		}
		if d > 0 && n > limit/int64(d) {
			return fmt.Errorf("shape %v has more than %d elements", s, limit)
		}
		n *= int64(d)
	}
	return nil
}
