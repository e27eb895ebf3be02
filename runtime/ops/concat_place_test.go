package ops

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

// TestConcatPlacer checks Regions (offsets of contiguous inputs, nil when
// the inputs are strided) and that Run leaves placed regions untouched
// and copies the others.
func TestConcatPlacer(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		name    string
		shapes  []ir.Shape
		axis    int
		regions []int
	}{
		{"channels-batch1", []ir.Shape{{1, 2, 3, 3}, {1, 4, 3, 3}, {1, 1, 3, 3}}, 1, []int{0, 18, 54}},
		{"channels-batch2", []ir.Shape{{2, 2, 3, 3}, {2, 4, 3, 3}}, 1, nil},
		{"axis0", []ir.Shape{{2, 3}, {5, 3}}, 0, []int{0, 6}},
		{"last-axis", []ir.Shape{{1, 1, 2}, {1, 1, 3}}, -1, []int{0, 2}},
		{"last-axis-strided", []ir.Shape{{1, 2, 2}, {1, 2, 3}}, 2, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := &ir.Node{Name: "cat", OpType: "Concat", Inputs: make([]string, len(c.shapes)), Outputs: []string{"y"},
				Attrs: map[string]*ir.Attr{"axis": {Type: ir.AttrInt, I: int64(c.axis)}}}
			op, err := newConcat(n, 13)
			if err != nil {
				t.Fatal(err)
			}
			vals := make([]Value, len(c.shapes))
			ins := make([]*ir.Tensor, len(c.shapes))
			for i, s := range c.shapes {
				vals[i] = Value{DType: ir.Float32, Shape: s}
				ins[i] = ir.NewTensor(ir.Float32, s)
				for k := range ins[i].F32 {
					ins[i].F32[k] = rng.Float32()
				}
			}
			outs, err := op.Plan(&Env{Opset: 13}, vals)
			if err != nil {
				t.Fatal(err)
			}
			pl := op.(Placer)
			if got := pl.Regions(); !slices.Equal(got, c.regions) {
				t.Fatalf("Regions %v, want %v", got, c.regions)
			}
			if name := op.(*concatOp).KernelName(); name != "concat-copy" {
				t.Errorf("kernel %q before placement", name)
			}
			y := ir.NewTensor(ir.Float32, outs[0].Shape)
			if err := op.Run(&Ctx{}, ins, []*ir.Tensor{y}); err != nil {
				t.Fatal(err)
			}
			full := slices.Clone(y.F32)
			if c.regions == nil {
				pl.Place(0) // ignored: strided inputs cannot be placed
				if name := op.(*concatOp).KernelName(); name != "concat-copy" {
					t.Errorf("kernel %q after refused placement", name)
				}
				return
			}
			pl.Place(0)
			if name := op.(*concatOp).KernelName(); name != "concat-partial" {
				t.Errorf("kernel %q after placing input 0", name)
			}
			for i := range y.F32 {
				y.F32[i] = -1
			}
			if err := op.Run(&Ctx{}, ins, []*ir.Tensor{y}); err != nil {
				t.Fatal(err)
			}
			r0 := ins[0].Len()
			for i, v := range y.F32 {
				if i < r0 && v != -1 {
					t.Fatalf("placed region written at %d", i)
				}
				if i >= r0 && v != full[i] {
					t.Fatalf("element %d = %v, want %v", i, v, full[i])
				}
			}
			for i := range c.shapes {
				pl.Place(i)
			}
			if name := op.(*concatOp).KernelName(); name != "concat-in-place" {
				t.Errorf("kernel %q after placing every input", name)
			}
		})
	}
}
