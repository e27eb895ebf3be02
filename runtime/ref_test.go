package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
	"github.com/edgeml/edge/runtime/ops"
)

// reference interprets the source graph node by node with the operators
// alone: no optimization, fusion, views or arena. It is the oracle the
// planner is checked against.
func reference(t testing.TB, g *ir.Graph, in map[string]*ir.Tensor, want ...string) map[string]*ir.Tensor {
	t.Helper()
	g = cloneGraph(g)
	if err := sortGraph(g); err != nil {
		t.Fatal(err)
	}
	vals := map[string]*ir.Tensor{}
	for k, v := range g.Initializers {
		vals[k] = v
	}
	for k, v := range in {
		vals[k] = v
	}
	for _, n := range g.Nodes {
		args := make([]ops.Value, len(n.Inputs))
		for i, name := range n.Inputs {
			if name == "" {
				continue
			}
			v, ok := vals[name]
			if !ok {
				t.Fatalf("reference: %s reads undefined %q", n.Name, name)
			}
			args[i] = ops.Value{DType: v.DType, Shape: v.Shape, Const: v}
		}
		res, err := evalNode(n, g.Opset, args)
		if err != nil {
			t.Fatalf("reference: node %s: %v", n.Name, err)
		}
		for i, name := range n.Outputs {
			if name != "" && i < len(res) {
				vals[name] = res[i]
			}
		}
	}
	if len(want) == 0 {
		for _, o := range g.Outputs {
			want = append(want, o.Name)
		}
	}
	out := map[string]*ir.Tensor{}
	for _, w := range want {
		out[w] = vals[w]
	}
	return out
}

// randomInput fills a float32 tensor with N(0,1) values.
func randomInput(rng *rand.Rand, shape ir.Shape) *ir.Tensor {
	t := ir.NewTensor(ir.Float32, shape)
	for i := range t.F32 {
		t.F32[i] = float32(rng.NormFloat64())
	}
	return t
}

// closeTo compares with max|Δ| ≤ tol·max|want| (and ≤ tol when want is 0).
func closeTo(got, want *ir.Tensor, tol float64) error {
	if got == nil || want == nil {
		return fmt.Errorf("missing tensor (got %v, want %v)", got != nil, want != nil)
	}
	if got.DType != want.DType || !got.Shape.Equal(want.Shape) {
		return fmt.Errorf("got %v %v, want %v %v", got.DType, got.Shape, want.DType, want.Shape)
	}
	if want.DType != ir.Float32 {
		g, _ := got.Ints()
		w, _ := want.Ints()
		for i := range w {
			if g[i] != w[i] {
				return fmt.Errorf("element %d: %d, want %d", i, g[i], w[i])
			}
		}
		return nil
	}
	scale := 0.0
	for _, v := range want.F32 {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	scale = math.Max(scale, 1e-6)
	for i := range want.F32 {
		d := math.Abs(float64(got.F32[i]) - float64(want.F32[i]))
		if !(d <= tol*scale) {
			return fmt.Errorf("element %d: %v, want %v (|Δ| %.3g > %.3g)", i, got.F32[i], want.F32[i], d, tol*scale)
		}
	}
	return nil
}
