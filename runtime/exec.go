package runtime

import (
	"fmt"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
	"github.com/edgeml/edge/runtime/ops"
)

// Session runs a Model. It owns its activation arena, its worker pool
// and its scratch memory; one Session serves one inference at a time
// (concurrent calls are serialized), while any number of Sessions of the
// same Model run concurrently.
type Session struct {
	m    *Model
	opts Options

	mu     sync.Mutex
	closed bool
	pool   *kernels.Pool
	ctx    *ops.Ctx
	ws     []float32
	wsMade int // scratch allocations (tests)

	f32  []float32
	i64  []int64
	i32  []int32
	bl   []bool
	bind *binding

	// last is the plan of the previous run with the input shapes and
	// requested names it was looked up for: a run with the same ones
	// (and no integer inputs) skips building the plan key.
	last struct {
		p      *plan
		shapes []ir.Shape
		want   []string
	}
	feeds []*ir.Tensor

	// Per-step times of prof.p (Options.Profile).
	prof struct {
		p     *plan
		runs  int
		total []time.Duration
	}
}

// binding is a plan's buffers inside one session's arena.
type binding struct {
	p       *plan
	ws      int // largest scratch request of the plan's runs
	noted   int // ws as last recorded on the Model
	tensors []*ir.Tensor
	ins     [][]*ir.Tensor
	outs    [][]*ir.Tensor
	views   []ir.Tensor // the headers of view steps' outputs, per step
}

// NewSession creates a session with its own worker pool.
func (m *Model) NewSession(opts Options) (*Session, error) {
	threads := opts.Threads
	if threads <= 0 {
		threads = goruntime.NumCPU()
	}
	s := &Session{m: m, opts: opts, pool: kernels.NewPool(threads)}
	s.ctx = &ops.Ctx{Pool: s.pool, Scratch: s.scratch}
	return s, nil
}

// Close stops the session's workers and releases its memory. Run after
// Close returns ErrClosed.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.pool.Close()
	s.f32, s.i64, s.i32, s.bl, s.ws, s.bind = nil, nil, nil, nil, nil, nil
}

// Profile returns the per-layer times recorded by the runs of the most
// recently run plan (input shapes) since the last ResetProfile; it is
// empty unless the session was created with Options.Profile.
func (s *Session) Profile() []LayerProfile {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.prof.p
	if p == nil {
		return nil
	}
	var out []LayerProfile
	for si := range p.steps {
		st := &p.steps[si]
		if st.view {
			continue
		}
		out = append(out, LayerProfile{Name: st.node.Name, OpType: st.node.OpType, Kernel: st.kernel, Fused: st.fused,
			MACs: st.macs, Runs: s.prof.runs, Total: s.prof.total[si]})
	}
	return out
}

// ResetProfile discards the recorded layer times.
func (s *Session) ResetProfile() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prof.p, s.prof.runs, s.prof.total = nil, 0, nil
}

// Threads is the number of goroutines one inference uses.
func (s *Session) Threads() int { return s.pool.Threads() }

// scratch is ops.Ctx.Scratch: one buffer per session, shared by the
// steps in turn. bindPlan sizes it once per plan, from the operators'
// WorkspaceLen and the largest request a run of the plan made before,
// so that it does not grow in steps (each leaving garbage) during the
// first run.
func (s *Session) scratch(n int) []float32 {
	if cap(s.ws) < n {
		s.ws = nil
		s.ws = make([]float32, n)
		s.wsMade++
	}
	if s.bind != nil {
		s.bind.ws = max(s.bind.ws, n)
	}
	return s.ws[:n]
}

// workspacer is implemented by operators that know, once planned, the
// scratch length (float32 elements) their Run asks of ops.Ctx.Scratch.
type workspacer interface {
	WorkspaceLen() int
}

// planWorkspace is the scratch length a plan's steps ask for, as far as
// known before running it: the operators' WorkspaceLen and the largest
// request a run of the plan made (Model.workspace).
func (m *Model) planWorkspace(p *plan) int {
	n := m.workspace(p)
	for i := range p.steps {
		if w, ok := p.steps[i].op.(workspacer); ok && !p.steps[i].view {
			n = max(n, w.WorkspaceLen())
		}
	}
	return n
}

// RunIR runs the model on IR tensors. want names the values to return —
// graph outputs, inputs or any intermediate value of the optimized graph
// (Model.Graph()); with no names, the graph outputs are returned. Input
// tensors are only read; returned tensors belong to the caller.
func (s *Session) RunIR(in map[string]*ir.Tensor, want ...string) (map[string]*ir.Tensor, error) {
	return s.RunIRTo(nil, in, want...)
}

// RunIRTo is RunIR writing the results into out (made when nil), which
// it returns: a result whose tensor in out has its element type and
// shape is copied into that tensor's memory, the others are new tensors;
// entries of out the run does not produce are left alone (after an
// error, some may hold this run's values). Passing the map a previous
// run returned, a steady-state run allocates nothing (edge bench).
func (s *Session) RunIRTo(out, in map[string]*ir.Tensor, want ...string) (map[string]*ir.Tensor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if p := s.samePlan(in, want); p != nil {
		return s.execute(p, s.feeds, out)
	}
	req, feeds, err := s.m.request(in, want, s.opts.Kernels)
	if err != nil {
		return nil, err
	}
	p, err := s.m.planFor(req, ErrInput)
	if err != nil {
		return nil, err
	}
	s.last.p, s.last.shapes, s.last.want = nil, s.last.shapes[:0], append(s.last.want[:0], want...)
	for i, sh := range req.shapes {
		if req.consts[i] != nil {
			return s.execute(p, feeds, out)
		}
		s.last.shapes = append(s.last.shapes, slices.Clone(sh))
	}
	s.last.p = p
	return s.execute(p, feeds, out)
}

// samePlan returns the previous run's plan when in and want ask for
// it again (same input shapes, float or bool inputs, same requested
// names) and the inputs are valid, filling s.feeds; otherwise nil, and
// the run looks its plan up (and reports any input error).
func (s *Session) samePlan(in map[string]*ir.Tensor, want []string) *plan {
	g := s.m.g
	if s.last.p == nil || len(in) != len(g.Inputs) || !slices.Equal(want, s.last.want) {
		return nil
	}
	s.feeds = s.feeds[:0]
	for i, vi := range g.Inputs {
		t := in[vi.Name]
		if t == nil || t.DType == ir.Int64 || t.DType == ir.Int32 || !slices.Equal(t.Shape, s.last.shapes[i]) || checkInput(vi, t) != nil {
			return nil
		}
		s.feeds = append(s.feeds, t)
	}
	return s.last.p
}

// request validates the inputs and builds the plan request.
func (m *Model) request(in map[string]*ir.Tensor, want []string, cfg kernels.Config) (*planRequest, []*ir.Tensor, error) {
	g := m.g
	req := &planRequest{shapes: make([]ir.Shape, len(g.Inputs)), consts: make([]*ir.Tensor, len(g.Inputs)), want: want, cfg: cfg}
	feeds := make([]*ir.Tensor, len(g.Inputs))
	for i, vi := range g.Inputs {
		t, ok := in[vi.Name]
		if !ok || t == nil {
			return nil, nil, tagged(fmt.Sprintf("runtime: missing input %q (%v %s); the model's inputs are %s", vi.Name, vi.DType, shapeText(vi), inputList(g)), ErrInput)
		}
		if err := checkInput(vi, t); err != nil {
			return nil, nil, err
		}
		req.shapes[i] = t.Shape
		feeds[i] = t
		if t.DType == ir.Int64 || t.DType == ir.Int32 {
			req.consts[i] = t
		}
	}
	if len(in) > len(g.Inputs) {
		known := map[string]bool{}
		for _, vi := range g.Inputs {
			known[vi.Name] = true
		}
		var extra []string
		for name := range in {
			if !known[name] {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		return nil, nil, tagged(fmt.Sprintf("runtime: unknown input %q; the model's inputs are %s", extra[0], inputList(g)), ErrInput)
	}
	return req, feeds, nil
}

func inputList(g *ir.Graph) string {
	parts := make([]string, len(g.Inputs))
	for i, vi := range g.Inputs {
		parts[i] = fmt.Sprintf("%q %v %s", vi.Name, vi.DType, shapeText(vi))
	}
	return strings.Join(parts, ", ")
}

// shapeText formats a declared shape with dynamic dimensions by name.
func shapeText(vi ir.ValueInfo) string {
	if vi.Shape == nil {
		return "[any shape]"
	}
	parts := make([]string, len(vi.Shape))
	for i, d := range vi.Shape {
		switch {
		case d >= 0:
			parts[i] = fmt.Sprint(d)
		case i < len(vi.DimNames) && vi.DimNames[i] != "":
			parts[i] = vi.DimNames[i]
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, "×") + "]"
}

// checkInput validates one input tensor against its declaration.
func checkInput(vi ir.ValueInfo, t *ir.Tensor) error {
	if !t.DType.Supported() {
		return tagged(fmt.Sprintf("runtime: input %q has element type %v; edge accepts float32, int64, int32 and bool", vi.Name, t.DType), ErrInput)
	}
	if vi.DType != ir.Undefined && t.DType != vi.DType {
		return tagged(fmt.Sprintf("runtime: input %q has element type %v, the model expects %v %s", vi.Name, t.DType, vi.DType, shapeText(vi)), ErrInput)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return tagged(fmt.Sprintf("runtime: input %q has negative dimension in shape %v", vi.Name, t.Shape), ErrInput)
		}
	}
	if t.Len() != t.Shape.Size() {
		return tagged(fmt.Sprintf("runtime: input %q holds %d %v elements but its shape %v needs %d", vi.Name, t.Len(), t.DType, t.Shape, t.Shape.Size()), ErrInput)
	}
	if vi.Shape == nil {
		return nil
	}
	ok := len(vi.Shape) == len(t.Shape)
	for i := 0; ok && i < len(vi.Shape); i++ {
		if vi.Shape[i] >= 0 && vi.Shape[i] != t.Shape[i] {
			ok = false
		}
	}
	if !ok {
		return tagged(fmt.Sprintf("runtime: input %q has shape %v, the model expects %s", vi.Name, t.Shape, shapeText(vi)), ErrInput)
	}
	return nil
}

// bindPlan lays the plan's buffers over the session arena.
func (s *Session) bindPlan(p *plan) *binding {
	if s.bind != nil && s.bind.p == p {
		return s.bind
	}
	if len(s.f32) < p.arenaLen[0] {
		s.f32 = make([]float32, p.arenaLen[0])
	}
	if len(s.i64) < p.arenaLen[1] {
		s.i64 = make([]int64, p.arenaLen[1])
	}
	if len(s.i32) < p.arenaLen[2] {
		s.i32 = make([]int32, p.arenaLen[2])
	}
	if len(s.bl) < p.arenaLen[3] {
		s.bl = make([]bool, p.arenaLen[3])
	}
	if n := s.m.planWorkspace(p); cap(s.ws) < n {
		s.ws = nil
		s.ws = make([]float32, n)
		s.wsMade++
	}
	b := &binding{p: p, tensors: make([]*ir.Tensor, len(p.vals)), ins: make([][]*ir.Tensor, len(p.steps)), outs: make([][]*ir.Tensor, len(p.steps)), views: make([]ir.Tensor, len(p.steps))}
	for id := range p.vals {
		v := &p.vals[id]
		switch {
		case v.konst != nil && v.def < 0:
			b.tensors[id] = v.konst
		case v.def >= 0 && v.root == id:
			t := &ir.Tensor{DType: v.dtype, Shape: v.shape}
			n := v.shape.Size()
			switch v.dtype {
			case ir.Float32:
				t.F32 = s.f32[v.offset : v.offset+n : v.offset+n]
			case ir.Int64:
				t.I64 = s.i64[v.offset : v.offset+n : v.offset+n]
			case ir.Int32:
				t.I32 = s.i32[v.offset : v.offset+n : v.offset+n]
			case ir.Bool:
				t.Bool = s.bl[v.offset : v.offset+n : v.offset+n]
			}
			b.tensors[id] = t
		}
	}
	for i := range p.steps {
		b.ins[i] = make([]*ir.Tensor, len(p.steps[i].in))
		b.outs[i] = make([]*ir.Tensor, len(p.steps[i].out))
	}
	s.bind = b
	return b
}

// execute runs a plan with the given graph inputs, writing the results
// into result (RunIRTo).
func (s *Session) execute(p *plan, feeds []*ir.Tensor, result map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	b := s.bindPlan(p)
	t := b.tensors
	for i, id := range p.inputs {
		if p.vals[id].konst == nil {
			t[id] = feeds[i]
		}
	}
	if result == nil {
		result = make(map[string]*ir.Tensor, len(p.want))
	}
	for _, id := range p.preSnap {
		name := p.vals[id].name
		result[name] = copyTensor(result[name], t[id])
	}
	prof := s.opts.Profile
	if prof && s.prof.p != p {
		s.prof.p, s.prof.runs, s.prof.total = p, 0, make([]time.Duration, len(p.steps))
	}
	var t0 time.Time
	for si := range p.steps {
		st := &p.steps[si]
		if st.view {
			view := &b.views[si]
			*view = *t[st.in[0]]
			view.Shape = p.vals[st.out[0]].shape
			t[st.out[0]] = view
		} else {
			ins, outs := b.ins[si], b.outs[si]
			for k, id := range st.in {
				if id >= 0 {
					ins[k] = t[id]
				} else {
					ins[k] = nil
				}
			}
			for k, id := range st.out {
				if id >= 0 {
					outs[k] = t[id]
				} else {
					outs[k] = nil
				}
			}
			if prof {
				t0 = time.Now()
			}
			if err := st.op.Run(s.ctx, ins, outs); err != nil {
				return nil, tagged(fmt.Sprintf("runtime: node %q (%s): %v", st.node.Name, st.node.OpType, err), err)
			}
			if prof {
				s.prof.total[si] += time.Since(t0)
			}
		}
		for _, id := range st.snap {
			name := p.vals[id].name
			result[name] = copyTensor(result[name], t[id])
		}
	}
	if prof {
		s.prof.runs++
	}
	if b.ws > b.noted {
		s.m.noteWorkspace(p, b.ws)
		b.noted = b.ws
	}
	return result, nil
}

// copyTensor copies src into dst when dst has its element type, shape
// and lengths, and returns dst; otherwise it returns a copy of src.
func copyTensor(dst, src *ir.Tensor) *ir.Tensor {
	if dst == nil || dst == src || dst.DType != src.DType || !slices.Equal(dst.Shape, src.Shape) ||
		len(dst.F32) != len(src.F32) || len(dst.I64) != len(src.I64) || len(dst.I32) != len(src.I32) || len(dst.Bool) != len(src.Bool) {
		return src.Clone()
	}
	copy(dst.F32, src.F32)
	copy(dst.I64, src.I64)
	copy(dst.I32, src.I32)
	copy(dst.Bool, src.Bool)
	return dst
}
