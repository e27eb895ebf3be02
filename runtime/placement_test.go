package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

// placementGraph builds a graph with input x [N,3,6,6] from nodes, with
// conv weights w<k> (k output channels from 3) as initializers.
type placementCase struct {
	name    string
	nodes   []*ir.Node
	outputs []string
	want    []string          // extra requested values
	batch   int               // input batch
	kernels map[string]string // Concat node → kernel at this batch
}

func placementCases() []placementCase {
	conv := func(name, in, out string, k int) *ir.Node {
		n := nd("Conv", name, []string{in, fmt.Sprintf("w%d", k)}, []string{out})
		if k == 4 {
			n.Attrs["pads"] = &ir.Attr{Type: ir.AttrInts, Ints: []int64{1, 1, 1, 1}}
		}
		return n
	}
	relu := func(name, in, out string) *ir.Node { return nd("Relu", name, []string{in}, []string{out}) }
	cat := func(name, out string, axis int, in ...string) *ir.Node {
		return nd("Concat", name, in, []string{out}, "axis", axis)
	}
	fire := []*ir.Node{
		// sx is read by both producers: the Concat's buffer must not
		// reuse its memory although the Concat step comes later.
		nd("Sigmoid", "sig", []string{"x"}, []string{"sx"}),
		conv("e1", "sx", "a", 2), relu("r1", "a", "ar"), conv("e3", "sx", "b", 4), relu("r3", "b", "br"),
		cat("cat", "c", 1, "ar", "br"),
		nd("MaxPool", "pool", []string{"c"}, []string{"y"}, "kernel_shape", []int64{3, 3}, "strides", []int64{2, 2}, "ceil_mode", 1),
	}
	return []placementCase{
		{name: "fire", nodes: fire, outputs: []string{"y"}, batch: 1, kernels: map[string]string{"cat": "concat-in-place"}},
		{name: "fire-batch3", nodes: fire, outputs: []string{"y"}, batch: 3, kernels: map[string]string{"cat": "concat-copy"}},
		{name: "fire-requested-input", nodes: fire, outputs: []string{"y"}, want: []string{"y", "ar", "c"}, batch: 1, kernels: map[string]string{"cat": "concat-in-place"}},
		{name: "input-used-elsewhere", batch: 1, nodes: []*ir.Node{
			conv("e1", "x", "a", 2), conv("e2", "x", "b", 4),
			cat("cat", "c", 1, "a", "b"), nd("Sigmoid", "s", []string{"a"}, []string{"z"}),
		}, outputs: []string{"c", "z"}, kernels: map[string]string{"cat": "concat-partial"}},
		{name: "graph-input-and-constant", batch: 1, nodes: []*ir.Node{
			conv("e1", "x", "a", 2), cat("cat", "c", 1, "x", "a", "k"), relu("r", "c", "y"),
		}, outputs: []string{"y"}, kernels: map[string]string{"cat": "concat-partial"}},
		{name: "used-twice", batch: 1, nodes: []*ir.Node{
			conv("e1", "x", "a", 2), conv("e2", "x", "b", 4), cat("cat", "c", 1, "a", "b", "a"), relu("r", "c", "y"),
		}, outputs: []string{"y"}, kernels: map[string]string{"cat": "concat-partial"}},
		{name: "graph-output-input", batch: 1, nodes: []*ir.Node{
			conv("e1", "x", "a", 2), conv("e2", "x", "b", 4), cat("cat", "c", 1, "a", "b"), relu("r", "c", "y"),
		}, outputs: []string{"y", "a"}, kernels: map[string]string{"cat": "concat-in-place"}},
		{name: "nested", batch: 1, nodes: []*ir.Node{
			conv("e1", "x", "a", 2), conv("e2", "x", "b", 4), cat("cat1", "c", 1, "a", "b"),
			conv("e3", "x", "d", 2), cat("cat2", "e", 1, "d", "c"), relu("r", "e", "y"),
		}, outputs: []string{"y"}, kernels: map[string]string{"cat1": "concat-in-place", "cat2": "concat-in-place"}},
		{name: "views", batch: 1, nodes: []*ir.Node{
			// Inputs that are views (af, bf) and an input with a view (d).
			conv("e1", "x", "a", 2), nd("Flatten", "fa", []string{"a"}, []string{"af"}, "axis", 1),
			conv("e2", "x", "b", 4), nd("Flatten", "fb", []string{"b"}, []string{"bf"}, "axis", 1),
			cat("cat", "c", 1, "af", "bf"),
			conv("e3", "x", "d", 2), nd("Flatten", "fd", []string{"d"}, []string{"df"}, "axis", 1),
			conv("e4", "x", "e", 2), cat("cat2", "h", 1, "d", "e"),
		}, outputs: []string{"c", "df", "h"}, kernels: map[string]string{"cat": "concat-copy", "cat2": "concat-partial"}},
		{name: "spatial-axis", batch: 1, nodes: []*ir.Node{
			conv("e1", "x", "a", 2), conv("e2", "x", "b", 2), cat("cat", "c", 3, "a", "b"), relu("r", "c", "y"),
		}, outputs: []string{"y"}, kernels: map[string]string{"cat": "concat-copy"}},
	}
}

func placementGraph(rng *rand.Rand, c placementCase) *ir.Graph {
	g := &ir.Graph{Opset: 13, Inputs: []ir.ValueInfo{fvi("x", -1, 3, 6, 6)}, Nodes: c.nodes,
		Initializers: map[string]*ir.Tensor{"w2": randTensor(rng, 2, 3, 1, 1), "w4": randTensor(rng, 4, 3, 3, 3)}}
	for _, n := range c.nodes {
		for _, in := range n.Inputs {
			if in == "k" {
				g.Initializers["k"] = randTensor(rng, 1, 2, 6, 6)
			}
		}
	}
	for _, o := range c.outputs {
		g.Outputs = append(g.Outputs, ir.ValueInfo{Name: o, DType: ir.Float32})
	}
	return g
}

// TestConcatPlacement checks that Concat inputs are written in place
// exactly when that is safe: results bit-identical to copying Concats and
// close to the reference interpreter, kernels reporting the placement,
// and no two live buffers sharing memory unless one holds the other.
func TestConcatPlacement(t *testing.T) {
	for _, c := range placementCases() {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 1))
			g := placementGraph(rng, c)
			x := randomInput(rng, ir.Shape{c.batch, 3, 6, 6})
			in := map[string]*ir.Tensor{"x": x}
			run := func(place bool) (map[string]*ir.Tensor, *plan) {
				defer func(old bool) { placeConcat = old }(placeConcat)
				placeConcat = place
				m, err := FromGraph(g)
				if err != nil {
					t.Fatal(err)
				}
				s, err := m.NewSession(Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				got, err := s.RunIR(in, c.want...)
				if err != nil {
					t.Fatal(err)
				}
				req, _, err := m.request(in, c.want, Options{}.Kernels)
				if err != nil {
					t.Fatal(err)
				}
				p, err := m.planFor(req, ErrInput)
				if err != nil {
					t.Fatal(err)
				}
				return got, p
			}
			got, p := run(true)
			base, _ := run(false)
			names := c.want
			if len(names) == 0 {
				names = c.outputs
			}
			ref := reference(t, g, in, names...)
			for _, n := range names {
				if err := closeTo(got[n], base[n], 0); err != nil {
					t.Errorf("%s: placed vs copied: %v", n, err)
				}
				if err := closeTo(got[n], ref[n], 1e-5); err != nil {
					t.Errorf("%s: vs reference: %v", n, err)
				}
			}
			for _, s := range p.steps {
				if w, ok := c.kernels[s.node.Name]; ok && s.kernel != w {
					t.Errorf("%s: kernel %q, want %q", s.node.Name, s.kernel, w)
				}
			}
			checkPlacedMemory(t, p)
		})
	}
}

// checkPlacedMemory checks that buffers live at the same step overlap
// only when one is placed (transitively) inside the other, and that a
// placed buffer lies inside its host.
func checkPlacedMemory(t *testing.T, p *plan) {
	t.Helper()
	inside := func(a, b int) bool { // a placed within b
		for v := &p.vals[a]; v.placed; v = &p.vals[v.host] {
			if v.host == b {
				return true
			}
		}
		return false
	}
	start := p.placedStart()
	live := func(v *value, id int) (int, int) {
		d := v.def
		if s, ok := start[id]; ok {
			d = min(d, s)
		}
		return d, max(v.last, v.def)
	}
	for i := range p.vals {
		a := &p.vals[i]
		if a.def < 0 || a.root != i {
			continue
		}
		if a.placed {
			h := &p.vals[a.host]
			if a.offset < h.offset || a.offset+a.shape.Size() > h.offset+h.shape.Size() {
				t.Errorf("%s [%d,+%d) is not inside its host %s [%d,+%d)", a.name, a.offset, a.shape.Size(), h.name, h.offset, h.shape.Size())
			}
		}
		ad, al := live(a, i)
		for j := range i {
			b := &p.vals[j]
			if b.def < 0 || b.root != j || a.dtype != b.dtype || inside(i, j) || inside(j, i) {
				continue
			}
			bd, bl := live(b, j)
			if ad <= bl && bd <= al && a.offset < b.offset+b.shape.Size() && b.offset < a.offset+a.shape.Size() {
				t.Errorf("%s and %s are live together and overlap", a.name, b.name)
			}
		}
	}
}
