package runtime

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

func opTypes(g *ir.Graph) map[string]int {
	h := map[string]int{}
	for _, n := range g.Nodes {
		h[n.OpType]++
	}
	return h
}

// checkAgainstReference runs m on x and compares every graph output with
// the reference interpretation of the source graph.
func checkAgainstReference(t *testing.T, m *Model, in map[string]*ir.Tensor, tol float64) {
	t.Helper()
	s, err := m.NewSession(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.RunIR(in)
	if err != nil {
		t.Fatal(err)
	}
	want := reference(t, m.Source(), in)
	for name, w := range want {
		if err := closeTo(got[name], w, tol); err != nil {
			t.Errorf("output %q: %v", name, err)
		}
	}
}

func TestOptimizeBatchNormConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, shared := range []bool{false, true} {
		g := convBNGraph(rng, shared)
		m, err := FromGraph(g)
		if err != nil {
			t.Fatal(err)
		}
		h := opTypes(m.Graph())
		if shared != (h["BatchNormalization"] == 1) {
			t.Errorf("shared=%v: optimized ops %v", shared, h)
		}
		if len(g.Nodes) != 3 || g.Nodes[1].OpType != "BatchNormalization" {
			t.Error("Optimize modified its input graph")
		}
		checkAgainstReference(t, m, map[string]*ir.Tensor{"x": randTensor(rng, 2, 3, 8, 8)}, 1e-5)
	}
}

func TestOptimizeBatchNormGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name   string
		transB int
		c      *ir.Tensor
	}{
		{"transB-bias", 1, randTensor(rng, 5)},
		{"noTrans-bias2d", 0, randTensor(rng, 1, 5)},
		{"noTrans-scalar", 0, randTensor(rng)},
		{"noBias", 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := randTensor(rng, 6, 5)
			if tc.transB == 1 {
				w = randTensor(rng, 5, 6)
			}
			g := &ir.Graph{
				Opset:  13,
				Inputs: []ir.ValueInfo{fvi("x", -1, 6)},
				Initializers: map[string]*ir.Tensor{"w": w,
					"scale": positive(rng, 5), "bias": randTensor(rng, 5), "mean": randTensor(rng, 5), "var": positive(rng, 5)},
				Nodes: []*ir.Node{
					nd("Gemm", "gemm", []string{"x", "w", "c"}, []string{"g"}, "transB", tc.transB, "beta", float32(0.5), "alpha", float32(2)),
					nd("BatchNormalization", "bn", []string{"g", "scale", "bias", "mean", "var"}, []string{"y"}),
				},
				Outputs: []ir.ValueInfo{fvi("y", -1, 5)},
			}
			if tc.c != nil {
				g.Initializers["c"] = tc.c
			} else {
				g.Nodes[0].Inputs = g.Nodes[0].Inputs[:2]
			}
			m, err := FromGraph(g)
			if err != nil {
				t.Fatal(err)
			}
			if h := opTypes(m.Graph()); h["BatchNormalization"] != 0 {
				t.Errorf("BatchNormalization not folded: %v", h)
			}
			checkAgainstReference(t, m, map[string]*ir.Tensor{"x": randTensor(rng, 3, 6)}, 1e-5)
		})
	}
}

func TestOptimizeIdentityAndConstants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 3))
	g := &ir.Graph{
		Opset:        13,
		Inputs:       []ir.ValueInfo{fvi("x", -1, 4)},
		Initializers: map[string]*ir.Tensor{"k": randTensor(rng, 4)},
		Nodes: []*ir.Node{
			nd("Identity", "id0", []string{"x"}, []string{"x1"}),
			nd("Constant", "c", nil, []string{"two"}, "value", &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{}, F32: []float32{2}}),
			nd("Mul", "scaled", []string{"k", "two"}, []string{"k2"}),
			nd("Dropout", "drop", []string{"x1"}, []string{"x2"}, "ratio", float32(0.5)),
			nd("Add", "add", []string{"x2", "k2"}, []string{"a"}),
			nd("Identity", "id1", []string{"a"}, []string{"y"}),
			nd("Identity", "passthrough", []string{"x"}, []string{"z"}),
			nd("Relu", "dead", []string{"x"}, []string{"unused"}),
		},
		Outputs: []ir.ValueInfo{fvi("y", -1, 4), fvi("z", -1, 4), fvi("k2", 4)},
	}
	m, err := FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	og := m.Graph()
	h := opTypes(og)
	// Left: Add (now writing y) and the Identity from input to output.
	if h["Add"] != 1 || h["Identity"] != 1 || h["Dropout"] != 0 || h["Constant"] != 0 || h["Mul"] != 0 || h["Relu"] != 0 || len(og.Nodes) != 2 {
		t.Errorf("optimized ops %v", h)
	}
	if _, ok := og.Initializers["k2"]; !ok {
		t.Error("folded constant k2 is not an initializer")
	}
	if _, ok := og.Initializers["k"]; ok {
		t.Error("unused initializer k was kept")
	}
	checkAgainstReference(t, m, map[string]*ir.Tensor{"x": randTensor(rng, 2, 4)}, 1e-6)
}

func TestPlaceBestFit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 4))
	for trial := range 200 {
		n := 1 + rng.IntN(30)
		list := make([]interval, n)
		for i := range list {
			d := rng.IntN(40)
			list[i] = interval{id: i, size: rng.IntN(100), def: d, last: d + rng.IntN(8)}
		}
		off := make([]int, n)
		total := placeBestFit(list, func(id, o int) { off[id] = o })
		sum, peakLive := 0, 0
		for _, a := range list {
			sum += a.size
		}
		for step := range 48 {
			live := 0
			for _, a := range list {
				if a.def <= step && step <= a.last {
					live += a.size
				}
			}
			peakLive = max(peakLive, live)
		}
		if total > sum || total < peakLive {
			t.Fatalf("trial %d: arena %d outside [peak live %d, sum %d]", trial, total, peakLive, sum)
		}
		for i, a := range list {
			if off[i]+a.size > total {
				t.Fatalf("trial %d: buffer %d exceeds the arena", trial, i)
			}
			for j, b := range list[:i] {
				timeOverlap := a.def <= b.last && b.def <= a.last
				spaceOverlap := off[i] < off[j]+b.size && off[j] < off[i]+a.size
				if timeOverlap && spaceOverlap && a.size > 0 && b.size > 0 {
					t.Fatalf("trial %d: buffers %d and %d overlap in time and space", trial, i, j)
				}
			}
		}
	}
}

// TestPlanBuffers checks the fixture's plan: live buffers never share
// memory, views share their source's buffer.
func TestPlanBuffers(t *testing.T) {
	m, err := Load("testdata/fmnist-small.onnx")
	if err != nil {
		t.Fatal(err)
	}
	req, err := m.batchRequest(3, Options{}.Kernels)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.planFor(req, ErrInput)
	if err != nil {
		t.Fatal(err)
	}
	views := 0
	for _, s := range p.steps {
		if s.view {
			views++
			if p.vals[s.out[0]].root != p.vals[s.in[0]].root {
				t.Errorf("view %s does not share its input's buffer", s.node.Name)
			}
		}
	}
	if views != 1 {
		t.Errorf("%d views, want 1 (Flatten)", views)
	}
	for i := range p.vals {
		a := &p.vals[i]
		if a.def < 0 || a.root != i {
			continue
		}
		for j := range i {
			b := &p.vals[j]
			if b.def < 0 || b.root != j || a.dtype != b.dtype {
				continue
			}
			if a.def <= b.last && b.def <= a.last && a.offset < b.offset+b.shape.Size() && b.offset < a.offset+a.shape.Size() {
				t.Errorf("%s and %s are live together and overlap", a.name, b.name)
			}
		}
	}
}

func TestUnnamedNodes(t *testing.T) {
	g := &ir.Graph{Opset: 13, Inputs: []ir.ValueInfo{fvi("x", 2)}, Outputs: []ir.ValueInfo{fvi("y", 2)},
		Nodes: []*ir.Node{nd("Relu", "", []string{"x"}, []string{"t"}), nd("FooOp", "", []string{"t"}, []string{"y"})}}
	_, err := FromGraph(g)
	if err == nil || !strings.Contains(err.Error(), `node "FooOp_1" (FooOp, opset 13): unsupported operator`) {
		t.Errorf("error %v", err)
	}
	o, err := Optimize(&ir.Graph{Opset: 13, Inputs: g.Inputs, Outputs: g.Outputs, Nodes: []*ir.Node{nd("Relu", "", []string{"x"}, []string{"y"})}})
	if err != nil || o.Nodes[0].Name != "Relu_0" {
		t.Errorf("Optimize named the node %q (%v)", o.Nodes[0].Name, err)
	}
}

// TestOptimizePadConv checks that a zero Pad of the spatial axes read
// only by a Conv is folded into the Conv's pads (same outputs as the
// source graph) and that other Pads are kept.
func TestOptimizePadConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 3))
	i64 := func(v ...int64) *ir.Tensor {
		t := ir.NewTensor(ir.Int64, ir.Shape{len(v)})
		copy(t.I64, v)
		return t
	}
	spatial := []int64{0, 0, 1, 2, 0, 0, 2, 1}
	for _, tc := range []struct {
		name   string
		opset  int
		pad    *ir.Node
		inits  map[string]*ir.Tensor
		shared bool
		fold   bool
	}{
		{"fold", 13, nd("Pad", "pad", []string{"x", "pads"}, []string{"p"}), map[string]*ir.Tensor{"pads": i64(spatial...)}, false, true},
		{"fold-zero-value", 13, nd("Pad", "pad", []string{"x", "pads", "zero"}, []string{"p"}), map[string]*ir.Tensor{"pads": i64(spatial...), "zero": ir.NewTensor(ir.Float32, ir.Shape{})}, false, true},
		{"fold-attrs", 10, nd("Pad", "pad", []string{"x"}, []string{"p"}, "pads", spatial), nil, false, true},
		{"value", 13, nd("Pad", "pad", []string{"x", "pads", "half"}, []string{"p"}), map[string]*ir.Tensor{"pads": i64(spatial...), "half": {DType: ir.Float32, Shape: ir.Shape{}, F32: []float32{0.5}}}, false, false},
		{"batch", 13, nd("Pad", "pad", []string{"x", "pads"}, []string{"p"}), map[string]*ir.Tensor{"pads": i64(1, 0, 1, 1, 0, 0, 1, 1)}, false, false},
		{"negative", 13, nd("Pad", "pad", []string{"x", "pads"}, []string{"p"}), map[string]*ir.Tensor{"pads": i64(0, 0, -1, 1, 0, 0, 1, 1)}, false, false},
		{"reflect", 13, nd("Pad", "pad", []string{"x", "pads"}, []string{"p"}, "mode", "reflect"), map[string]*ir.Tensor{"pads": i64(spatial...)}, false, false},
		{"shared", 13, nd("Pad", "pad", []string{"x", "pads"}, []string{"p"}), map[string]*ir.Tensor{"pads": i64(spatial...)}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &ir.Graph{
				Opset:        tc.opset,
				Inputs:       []ir.ValueInfo{fvi("x", -1, 3, 8, 7)},
				Initializers: map[string]*ir.Tensor{"w": randTensor(rng, 4, 3, 3, 3), "b": randTensor(rng, 4)},
				Nodes: []*ir.Node{tc.pad,
					nd("Conv", "conv", []string{"p", "w", "b"}, []string{"y"}, "pads", []int64{1, 0, 0, 2})},
				Outputs: []ir.ValueInfo{{Name: "y", DType: ir.Float32}},
			}
			for k, v := range tc.inits {
				g.Initializers[k] = v
			}
			if tc.shared {
				g.Outputs = append(g.Outputs, ir.ValueInfo{Name: "p", DType: ir.Float32})
			}
			m, err := FromGraph(g)
			if err != nil {
				t.Fatal(err)
			}
			if folded := opTypes(m.Graph())["Pad"] == 0; folded != tc.fold {
				t.Errorf("Pad folded = %v, want %v", folded, tc.fold)
			}
			for _, n := range m.Graph().Nodes {
				if want := []int64{2, 2, 2, 3}; tc.fold && n.OpType == "Conv" && !slices.Equal(n.AttrInts("pads"), want) {
					t.Errorf("Conv pads %v, want %v", n.AttrInts("pads"), want)
				}
			}
			if g.Nodes[0] != tc.pad || !slices.Equal(g.Nodes[1].AttrInts("pads"), []int64{1, 0, 0, 2}) {
				t.Error("Optimize modified its input graph")
			}
			checkAgainstReference(t, m, map[string]*ir.Tensor{"x": randTensor(rng, 2, 3, 8, 7)}, 1e-5)
		})
	}
}
