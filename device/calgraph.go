package device

import (
	"fmt"
	"sync"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

// graphRun prepares a calibration workload that runs an ONNX operator
// through the runtime (planner, executor and the operator's own code),
// for the operators whose cost is not a single kernel call: a chain of
// s.chain nodes on [1, C, H, W] tensors (Relu: x → Relu → Relu …; Add:
// y ← Add(y, b) …; Concat: one node joining two inputs on channels).
func graphRun(cfg kernels.Config, s calShape) (calRun, error) {
	shape := []int{1, s.fcM, s.hw, s.hw}
	elems := int64(s.fcM * s.hw * s.hw)
	g := &ir.Graph{Name: s.name, Opset: 13, Initializers: map[string]*ir.Tensor{}}
	g.Inputs = []ir.ValueInfo{{Name: "x", DType: ir.Float32, Shape: shape}}
	r := calRun{shape: s, per: max(s.chain, 1)}
	prev := "x"
	switch s.op {
	case "Relu":
		for i := 0; i < s.chain; i++ {
			out := fmt.Sprintf("y%d", i)
			g.Nodes = append(g.Nodes, &ir.Node{Name: out, OpType: "Relu", Inputs: []string{prev}, Outputs: []string{out}})
			prev = out
		}
		r.bytes = 8 * elems
	case "Add":
		g.Inputs = append(g.Inputs, ir.ValueInfo{Name: "b", DType: ir.Float32, Shape: shape})
		for i := 0; i < s.chain; i++ {
			out := fmt.Sprintf("y%d", i)
			g.Nodes = append(g.Nodes, &ir.Node{Name: out, OpType: "Add", Inputs: []string{prev, "b"}, Outputs: []string{out}})
			prev = out
		}
		r.bytes = 12 * elems
	case "Concat":
		g.Inputs = append(g.Inputs, ir.ValueInfo{Name: "b", DType: ir.Float32, Shape: shape})
		g.Nodes = append(g.Nodes, &ir.Node{Name: "cat", OpType: "Concat", Inputs: []string{"x", "b"}, Outputs: []string{"cat"},
			Attrs: map[string]*ir.Attr{"axis": {Type: ir.AttrInt, I: 1}}})
		prev = "cat"
		r.bytes = 16 * elems
		r.cloneBytes = 8 * elems
	default:
		return calRun{}, fmt.Errorf("no graph workload for %s", s.op)
	}
	outShape := shape
	if s.op == "Concat" {
		outShape = []int{1, 2 * s.fcM, s.hw, s.hw}
	}
	g.Outputs = []ir.ValueInfo{{Name: prev, DType: ir.Float32, Shape: outShape}}
	m, err := runtime.FromGraph(g)
	if err != nil {
		return calRun{}, err
	}
	// Random signs, as real activations have: branchy kernels pay
	// their mispredictions here as they do in a model.
	feeds := map[string]*ir.Tensor{}
	rng := uint32(2463534242)
	for _, in := range g.Inputs {
		t := ir.NewTensor(ir.Float32, in.Shape)
		for i := range t.F32 {
			rng ^= rng << 13
			rng ^= rng >> 17
			rng ^= rng << 5
			t.F32[i] = float32(rng>>8)/float32(1<<24) - 0.5
		}
		feeds[in.Name] = t
	}
	var mu sync.Mutex
	sessions := map[int]*runtime.Session{}
	r.run = func(pool *kernels.Pool) {
		mu.Lock()
		sess := sessions[pool.Threads()]
		if sess == nil {
			sess, err = m.NewSession(runtime.Options{Threads: pool.Threads(), Kernels: cfg})
			if err != nil {
				mu.Unlock()
				return
			}
			sessions[pool.Threads()] = sess
		}
		mu.Unlock()
		_, _ = sess.RunIR(feeds)
	}
	r.close = func() {
		for _, s := range sessions {
			s.Close()
		}
	}
	return r, nil
}
