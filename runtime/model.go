package runtime

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
	"github.com/edgeml/edge/runtime/onnx"
)

// maxPlans bounds a Model's plan cache; it is emptied when full.
const maxPlans = 64

// Model is a loaded, optimized and validated graph. It is immutable apart
// from its plan cache and safe for concurrent use.
type Model struct {
	src  *ir.Graph // as loaded
	g    *ir.Graph // optimized
	info Info

	mu    sync.Mutex
	plans map[string]*plan
	// ws is the largest scratch request seen per cached plan
	// (Session.scratch), so that later sessions allocate it at once.
	ws map[*plan]int

	// Released weights (see Load): the float32 constants absorbed by the
	// operators of the batch-1 plan and the loaded tensors the optimized
	// graph no longer uses have no data until restore reads them again
	// from file.
	wmu      sync.Mutex
	released bool
	file     *os.File // the model file, kept open to restore the weights
	fileInfo os.FileInfo
	dir      string
}

// Load reads an ONNX model file (external tensor data is read relative to
// its directory), optimizes it and plans it for batch 1.
//
// To hold one copy of the weights, Load drops the float32 constants that
// the operators of the batch-1 plan copied into packed form, and the
// loaded tensors the optimization replaced (BatchNormalization folded
// into convolutions); the model keeps the file open. Graph, Source and
// plans for other shapes or kernel restrictions read them back from the
// file first (once); this fails when the file was modified in place
// since Load (replacing it by a rename or removing it is fine). A fully
// connected weight read by one layer only is lent to its packing
// (kernels.LendWeight), which gives each packed row panel's memory back
// to the operating system at once (on Linux), so the raw weight and its
// packed copy are never both held whole (imagenet-vgg16: peak RSS 978 →
// 635 MB).
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, importError(fmt.Errorf("onnx: %w", err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, importError(fmt.Errorf("onnx: %w", err))
	}
	dir := filepath.Dir(path)
	g, err := onnx.DecodeAt(f, st.Size(), dir)
	if err != nil {
		f.Close()
		return nil, importError(fmt.Errorf("%s: %w", path, err))
	}
	m, err := fromGraph(g, true)
	if err != nil || !m.released {
		f.Close()
		return m, err
	}
	m.file, m.fileInfo, m.dir = f, st, dir
	return m, nil
}

// LoadBytes parses an ONNX model held in memory.
func LoadBytes(data []byte) (*Model, error) {
	g, err := onnx.Decode(data)
	if err != nil {
		return nil, importError(err)
	}
	return FromGraph(g)
}

func importError(err error) error {
	msg := "runtime: " + err.Error()
	if errors.Is(err, onnx.ErrUnsupportedType) {
		return tagged(msg, ErrUnsupported, err)
	}
	return tagged(msg, ErrInvalidModel, err)
}

// FromGraph builds a Model from an IR graph, which it does not modify. It
// fails when the graph is inconsistent (ErrInvalidModel) or uses an
// operator, operator version or element type edge does not support
// (ErrUnsupported). When all input dimensions but the first are known and
// no input is an integer tensor, the model is planned for batch 1 and
// planning errors are reported here.
func FromGraph(src *ir.Graph) (*Model, error) {
	return fromGraph(src, false)
}

// fromGraph is FromGraph; with own (the graph was decoded by Load and is
// not shared) it releases the weights the batch-1 plan absorbed and the
// loaded float32 tensors the optimized graph does not use.
func fromGraph(src *ir.Graph, own bool) (*Model, error) {
	if src == nil {
		return nil, tagged("runtime: FromGraph of a nil graph", ErrInvalidModel)
	}
	if len(src.Nodes) > 0 && src.Opset <= 0 {
		return nil, tagged("runtime: the model imports no version of the default ONNX opset", ErrInvalidModel)
	}
	if len(src.Outputs) == 0 {
		return nil, tagged("runtime: the graph has no outputs", ErrInvalidModel)
	}
	for _, vi := range src.Inputs {
		if vi.DType != ir.Undefined && !vi.DType.Supported() {
			return nil, tagged(fmt.Sprintf("runtime: input %q has element type %v; edge accepts float32, int64, int32 and bool inputs", vi.Name, vi.DType), ErrUnsupported)
		}
	}
	g, err := Optimize(src)
	if err != nil {
		return nil, err
	}
	for _, n := range g.Nodes {
		if _, err := newOp(n, g.Opset); err != nil {
			return nil, err
		}
	}
	m := &Model{src: src, g: g, plans: map[string]*plan{}}
	m.info = Info{
		Inputs:      cloneInfos(src.Inputs),
		Outputs:     cloneInfos(src.Outputs),
		Metadata:    maps.Clone(src.Metadata),
		Opset:       src.Opset,
		IRVersion:   src.IRVersion,
		Producer:    src.Producer,
		OpHistogram: map[string]int{},
	}
	if m.info.Metadata == nil {
		m.info.Metadata = map[string]string{}
	}
	for _, n := range src.Nodes {
		m.info.OpHistogram[n.OpType]++
	}
	if req, err := m.batchRequest(1, kernels.Config{}); err == nil {
		if own {
			req.release = m.releaser()
		}
		p, err := m.planFor(req, ErrInvalidModel)
		if err != nil {
			return nil, err
		}
		m.info.MACs = p.macs
		m.info.Params = p.params
		m.info.WeightBytes = p.weights
		m.info.PeakActivationBytes = p.peak
	}
	if own {
		m.releaseReplaced()
	}
	return m, nil
}

// batchRequest builds a plan request for the declared input shapes with
// dynamic leading dimensions set to batch.
func (m *Model) batchRequest(batch int, cfg kernels.Config) (*planRequest, error) {
	req := &planRequest{shapes: make([]ir.Shape, len(m.g.Inputs)), consts: make([]*ir.Tensor, len(m.g.Inputs)), cfg: cfg}
	for i, vi := range m.g.Inputs {
		if vi.DType == ir.Int64 || vi.DType == ir.Int32 {
			return nil, tagged(fmt.Sprintf("runtime: input %q is an integer tensor whose values shape the plan; run the model to plan it", vi.Name), ErrInput)
		}
		if vi.Shape == nil {
			return nil, tagged(fmt.Sprintf("runtime: input %q has no declared shape; run the model with concrete inputs to plan it", vi.Name), ErrInput)
		}
		s := make(ir.Shape, len(vi.Shape))
		for k, d := range vi.Shape {
			switch {
			case d >= 0:
				s[k] = d
			case k == 0:
				s[k] = batch
			default:
				return nil, tagged(fmt.Sprintf("runtime: input %q dimension %d (%s) is dynamic; only the batch dimension may be", vi.Name, k, shapeText(vi)), ErrInput)
			}
		}
		req.shapes[i] = s
	}
	return req, nil
}

// planFor returns the cached plan for req, building it when needed.
func (m *Model) planFor(req *planRequest, def error) (*plan, error) {
	key := req.key()
	m.mu.Lock()
	p := m.plans[key]
	m.mu.Unlock()
	if p != nil {
		return p, nil
	}
	if err := m.restore(); err != nil {
		return nil, err
	}
	p, err := buildPlan(m.g, req, def)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if q := m.plans[key]; q != nil {
		return q, nil
	}
	if len(m.plans) >= maxPlans {
		clear(m.plans)
		clear(m.ws)
	}
	m.plans[key] = p
	return p, nil
}

// Info summarises the model; the figures are for batch 1 (zero when the
// model cannot be planned without its inputs' values).
func (m *Model) Info() Info {
	in := m.info
	in.Inputs = cloneInfos(m.info.Inputs)
	in.Outputs = cloneInfos(m.info.Outputs)
	in.Metadata = maps.Clone(m.info.Metadata)
	in.OpHistogram = maps.Clone(m.info.OpHistogram)
	return in
}

// Graph returns the optimized graph the plans execute (constants folded,
// BatchNormalization folded, Identity/Dropout removed). Do not modify it.
//
// For a model from Load, the first call reads the released weights back
// from the file (see Load); if that fails the graph returned lacks them,
// so that using it reports missing initializers.
func (m *Model) Graph() *ir.Graph {
	if m.restore() != nil {
		return withoutReleased(m.g)
	}
	return m.g
}

// Source returns the graph as loaded. Do not modify it. Released weights
// are read back as by Graph.
func (m *Model) Source() *ir.Graph {
	if m.restore() != nil {
		return withoutReleased(m.src)
	}
	return m.src
}

// Layers describes the operators the plan for the given batch executes,
// in order; views (Reshape, Flatten, ...) and folded nodes are left out.
func (m *Model) Layers(batch int, opts Options) ([]Layer, error) {
	if batch < 1 {
		return nil, tagged(fmt.Sprintf("runtime: batch %d must be at least 1", batch), ErrInput)
	}
	req, err := m.batchRequest(batch, opts.Kernels)
	if err != nil {
		return nil, err
	}
	p, err := m.planFor(req, ErrInput)
	if err != nil {
		return nil, err
	}
	var out []Layer
	for _, s := range p.steps {
		if s.view {
			continue
		}
		l := Layer{Name: s.node.Name, OpType: s.node.OpType, Kernel: s.kernel, Fused: s.fused, MACs: s.macs, Params: s.params}
		for _, id := range s.in {
			if id >= 0 {
				l.Inputs = append(l.Inputs, p.vals[id].shape.Clone())
			}
		}
		for _, id := range s.out {
			if id >= 0 {
				l.Outputs = append(l.Outputs, p.vals[id].shape.Clone())
			}
		}
		l.Conv = geometry(&s, p)
		out = append(out, l)
	}
	return out, nil
}

// convParamser is implemented by convolution operators that expose their
// planned geometry.
type convParamser interface {
	ConvParams() kernels.ConvParams
}

// geometry returns the convolution (or matrix product) geometry of a step.
func geometry(s *step, p *plan) kernels.ConvParams {
	if c, ok := s.op.(convParamser); ok {
		return c.ConvParams()
	}
	shape := func(i int) ir.Shape {
		if i < len(s.in) && s.in[i] >= 0 {
			return p.vals[s.in[i]].shape
		}
		return nil
	}
	out := func() ir.Shape {
		if len(s.out) > 0 && s.out[0] >= 0 {
			return p.vals[s.out[0]].shape
		}
		return nil
	}()
	n := s.node
	switch n.OpType {
	case "Conv":
		x, w := shape(0), shape(1)
		if len(x) != 4 || len(w) != 4 || len(out) != 4 {
			return kernels.ConvParams{}
		}
		cp := kernels.ConvParams{InC: x[1], InH: x[2], InW: x[3], OutC: w[0], KH: w[2], KW: w[3], StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: int(n.AttrInt("group", 1)), Act: s.act}
		if st := n.AttrInts("strides"); len(st) == 2 {
			cp.StrideH, cp.StrideW = int(st[0]), int(st[1])
		}
		if d := n.AttrInts("dilations"); len(d) == 2 {
			cp.DilH, cp.DilW = int(d[0]), int(d[1])
		}
		if pd := n.AttrInts("pads"); len(pd) == 4 {
			cp.PadTop, cp.PadLeft, cp.PadBottom, cp.PadRight = int(pd[0]), int(pd[1]), int(pd[2]), int(pd[3])
		}
		if ap := n.AttrString("auto_pad", "NOTSET"); ap == "SAME_UPPER" || ap == "SAME_LOWER" {
			th := max(0, (out[2]-1)*cp.StrideH+cp.DilH*(cp.KH-1)+1-cp.InH)
			tw := max(0, (out[3]-1)*cp.StrideW+cp.DilW*(cp.KW-1)+1-cp.InW)
			cp.PadTop, cp.PadLeft = th/2, tw/2
			if ap == "SAME_LOWER" {
				cp.PadTop, cp.PadLeft = th-th/2, tw-tw/2
			}
			cp.PadBottom, cp.PadRight = th-cp.PadTop, tw-cp.PadLeft
		}
		return cp
	case "Gemm", "MatMul":
		w := shape(1)
		if len(w) < 2 || len(out) < 1 {
			return kernels.ConvParams{}
		}
		k := w[len(w)-2]
		if n.OpType == "Gemm" && n.AttrInt("transB", 0) != 0 {
			k = w[1]
		}
		return kernels.ConvParams{InC: k, InH: 1, InW: 1, OutC: out[len(out)-1], KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1, Act: s.act}
	}
	return kernels.ConvParams{}
}

// Inputs lists the graph inputs a Run needs.
func (m *Model) Inputs() []ir.ValueInfo { return cloneInfos(m.g.Inputs) }

// Outputs lists the graph outputs Run returns by default.
func (m *Model) Outputs() []ir.ValueInfo { return cloneInfos(m.g.Outputs) }

// workspace returns the largest scratch request recorded for p.
func (m *Model) workspace(p *plan) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ws[p]
}

// noteWorkspace records a run's largest scratch request for p.
func (m *Model) noteWorkspace(p *plan, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n > m.ws[p] {
		if m.ws == nil {
			m.ws = map[*plan]int{}
		}
		m.ws[p] = n
	}
}
