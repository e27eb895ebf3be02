package runtime

import (
	"container/heap"
	"fmt"
	"maps"
	"slices"

	"github.com/edgeml/edge/runtime/ir"
)

// cloneGraph copies the graph structure; tensors are shared (they are
// never modified in place).
func cloneGraph(g *ir.Graph) *ir.Graph {
	c := *g
	c.Nodes = make([]*ir.Node, len(g.Nodes))
	for i, n := range g.Nodes {
		c.Nodes[i] = cloneNode(n)
	}
	c.Inputs = cloneInfos(g.Inputs)
	c.Outputs = cloneInfos(g.Outputs)
	c.Initializers = maps.Clone(g.Initializers)
	if c.Initializers == nil {
		c.Initializers = map[string]*ir.Tensor{}
	}
	c.Metadata = maps.Clone(g.Metadata)
	return &c
}

func cloneNode(n *ir.Node) *ir.Node {
	c := *n
	c.Inputs = append([]string(nil), n.Inputs...)
	c.Outputs = append([]string(nil), n.Outputs...)
	c.Attrs = maps.Clone(n.Attrs)
	return &c
}

func cloneInfos(v []ir.ValueInfo) []ir.ValueInfo {
	out := make([]ir.ValueInfo, len(v))
	for i, x := range v {
		out[i] = x
		out[i].Shape = slices.Clone(x.Shape)
		out[i].DimNames = slices.Clone(x.DimNames)
	}
	return out
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// sortGraph checks that every value has exactly one source (graph input,
// initializer or node output) and orders g.Nodes topologically, keeping
// the file order where it is free. A cycle is reported naming a node on it.
func sortGraph(g *ir.Graph) error {
	producer := map[string]int{}
	defined := map[string]bool{}
	for _, in := range g.Inputs {
		if defined[in.Name] {
			return tagged(fmt.Sprintf("runtime: graph input %q is declared twice", in.Name), ErrInvalidModel)
		}
		defined[in.Name] = true
	}
	for name := range g.Initializers {
		defined[name] = true
	}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if j, dup := producer[o]; dup {
				return tagged(fmt.Sprintf("runtime: value %q is produced by both node %q and node %q", o, g.Nodes[j].Name, n.Name), ErrInvalidModel)
			}
			if defined[o] {
				return tagged(fmt.Sprintf("runtime: node %q (%s) writes %q, which is a graph input or initializer", n.Name, n.OpType, o), ErrInvalidModel)
			}
			producer[o] = i
		}
	}
	// Dependencies: node i waits for the producers of its inputs.
	waiting := make([]int, len(g.Nodes))
	users := make([][]int, len(g.Nodes))
	for i, n := range g.Nodes {
		seen := map[int]bool{}
		for _, in := range n.Inputs {
			if in == "" || defined[in] {
				continue
			}
			p, ok := producer[in]
			if !ok {
				return tagged(fmt.Sprintf("runtime: node %q (%s) reads %q, which no node produces and which is neither a graph input nor an initializer", n.Name, n.OpType, in), ErrInvalidModel)
			}
			if !seen[p] {
				seen[p] = true
				waiting[i]++
				users[p] = append(users[p], i)
			}
		}
	}
	for _, o := range g.Outputs {
		if _, ok := producer[o.Name]; !ok && !defined[o.Name] {
			return tagged(fmt.Sprintf("runtime: graph output %q is not produced by any node", o.Name), ErrInvalidModel)
		}
	}
	ready := &intHeap{}
	for i := range g.Nodes {
		if waiting[i] == 0 {
			heap.Push(ready, i)
		}
	}
	order := make([]*ir.Node, 0, len(g.Nodes))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, g.Nodes[i])
		for _, u := range users[i] {
			waiting[u]--
			if waiting[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	if len(order) != len(g.Nodes) {
		for i, n := range g.Nodes {
			if waiting[i] > 0 {
				return tagged(fmt.Sprintf("runtime: the graph has a cycle through node %q (%s); ONNX graphs must be acyclic", n.Name, n.OpType), ErrInvalidModel)
			}
		}
	}
	g.Nodes = order
	return nil
}

// consumers counts, per value name, the node inputs reading it.
func consumers(g *ir.Graph) map[string]int {
	c := map[string]int{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" {
				c[in]++
			}
		}
	}
	return c
}

func outputSet(g *ir.Graph) map[string]bool {
	s := map[string]bool{}
	for _, o := range g.Outputs {
		s[o.Name] = true
	}
	return s
}
