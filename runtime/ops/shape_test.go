package ops

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

func TestReshape(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		in        ir.Shape
		spec      []int64
		allowZero bool
		want      ir.Shape // nil = error
	}{
		{ir.Shape{2, 3, 4}, []int64{4, 6}, false, ir.Shape{4, 6}},
		{ir.Shape{2, 3, 4}, []int64{-1}, false, ir.Shape{24}},
		{ir.Shape{2, 3, 4}, []int64{0, -1}, false, ir.Shape{2, 12}},
		{ir.Shape{2, 3, 4}, []int64{0, 0, 4}, false, ir.Shape{2, 3, 4}},
		{ir.Shape{2, 3, 4}, []int64{2, -1, 2}, false, ir.Shape{2, 6, 2}},
		{ir.Shape{0, 3, 4}, []int64{3, 4, 0}, true, ir.Shape{3, 4, 0}},
		{ir.Shape{0, 3, 4}, []int64{0, 12}, false, ir.Shape{0, 12}},
		{ir.Shape{2, 3, 4}, []int64{}, false, nil},
		{ir.Shape{1}, []int64{}, false, ir.Shape{}},
		{ir.Shape{2, 3, 4}, []int64{-1, -1}, false, nil},
		{ir.Shape{2, 3, 4}, []int64{5, -1}, false, nil},
		{ir.Shape{2, 3, 4}, []int64{0, 0, 0, 0}, false, nil},
		{ir.Shape{2, 3, 4}, []int64{-2, 12}, false, nil},
		{ir.Shape{2, 3, 4}, []int64{7, 7}, false, nil},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v to %v allowzero=%v", c.in, c.spec, c.allowZero), func(t *testing.T) {
			attrs := map[string]*ir.Attr{}
			if c.allowZero {
				attrs["allowzero"] = aInt(1)
			}
			x := h3Rand(rng, ir.Float32, c.in)
			outs, outv, err := h3Exec(h3MakeNode("Reshape", 2, 1, attrs), 14, []*ir.Tensor{x, h3I64(c.spec...)}, []bool{false, true})
			if c.want == nil {
				h3MustErr(t, err, "invalid reshape")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !outv[0].Shape.Equal(c.want) {
				t.Fatalf("shape %v, want %v", outv[0].Shape, c.want)
			}
			if err := h3Compare(x.View(c.want), outs[0]); err != nil {
				t.Fatal(err)
			}
		})
	}
	// The shape must be known at plan time.
	_, _, err := h3Exec(h3MakeNode("Reshape", 2, 1, nil), 14, []*ir.Tensor{h3F32(ir.Shape{4}), h3I64(2, 2)}, nil)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("non-constant shape: err = %v, want ErrUnsupported", err)
	}
}

func TestViewOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		op    string
		opset int
		attrs map[string]*ir.Attr
		axes  *ir.Tensor // opset ≥ 13 axes input
		in    ir.Shape
		want  ir.Shape // nil = error
	}{
		{"Flatten", 13, nil, nil, ir.Shape{2, 3, 4}, ir.Shape{2, 12}},
		{"Flatten", 13, map[string]*ir.Attr{"axis": aInt(0)}, nil, ir.Shape{2, 3, 4}, ir.Shape{1, 24}},
		{"Flatten", 13, map[string]*ir.Attr{"axis": aInt(3)}, nil, ir.Shape{2, 3, 4}, ir.Shape{24, 1}},
		{"Flatten", 13, map[string]*ir.Attr{"axis": aInt(-1)}, nil, ir.Shape{2, 3, 4}, ir.Shape{6, 4}},
		{"Flatten", 13, map[string]*ir.Attr{"axis": aInt(-3)}, nil, ir.Shape{2, 3, 4}, ir.Shape{1, 24}},
		{"Flatten", 13, map[string]*ir.Attr{"axis": aInt(4)}, nil, ir.Shape{2, 3, 4}, nil},
		{"Flatten", 13, map[string]*ir.Attr{"axis": aInt(-4)}, nil, ir.Shape{2, 3, 4}, nil},
		{"Squeeze", 11, nil, nil, ir.Shape{1, 3, 1, 5}, ir.Shape{3, 5}},
		{"Squeeze", 11, map[string]*ir.Attr{"axes": aInts(-2)}, nil, ir.Shape{1, 3, 1, 5}, ir.Shape{1, 3, 5}},
		{"Squeeze", 11, map[string]*ir.Attr{"axes": aInts(1)}, nil, ir.Shape{1, 3, 1, 5}, nil},
		{"Squeeze", 13, nil, h3I64(0, 2), ir.Shape{1, 3, 1, 5}, ir.Shape{3, 5}},
		{"Squeeze", 13, nil, h3I64(4), ir.Shape{1, 3, 1, 5}, nil},
		{"Squeeze", 13, nil, nil, ir.Shape{1, 1}, ir.Shape{}},
		{"Squeeze", 13, nil, h3I64(), ir.Shape{1, 4, 1}, ir.Shape{4}},
		{"Unsqueeze", 11, map[string]*ir.Attr{"axes": aInts(0, 3)}, nil, ir.Shape{3, 5}, ir.Shape{1, 3, 5, 1}},
		{"Unsqueeze", 11, map[string]*ir.Attr{"axes": aInts(-1)}, nil, ir.Shape{3, 5}, ir.Shape{3, 5, 1}},
		{"Unsqueeze", 13, nil, h3I64(3, 1), ir.Shape{3, 5}, ir.Shape{3, 1, 5, 1}},
		{"Unsqueeze", 13, nil, h3I64(1, 1), ir.Shape{3, 5}, nil},
		{"Unsqueeze", 13, nil, h3I64(4), ir.Shape{3, 5}, nil},
		{"Unsqueeze", 13, nil, nil, ir.Shape{3, 5}, nil},
		{"Unsqueeze", 13, nil, h3I64(0), ir.Shape{}, ir.Shape{1}},
		{"Identity", 16, nil, nil, ir.Shape{3, 5}, ir.Shape{3, 5}},
		{"Dropout", 7, nil, nil, ir.Shape{3, 5}, ir.Shape{3, 5}},
		{"Dropout", 13, nil, nil, ir.Shape{3, 5}, ir.Shape{3, 5}},
	}
	for _, c := range cases {
		for _, dt := range []ir.DType{ir.Float32, ir.Int64, ir.Bool} {
			t.Run(fmt.Sprintf("%s-%d/%v/%v/%v", c.op, c.opset, c.in, c.attrs, dt), func(t *testing.T) {
				x := h3Rand(rng, dt, c.in)
				in := []*ir.Tensor{x}
				if c.axes != nil {
					in = append(in, c.axes)
				}
				n := h3MakeNode(c.op, len(in), 1, c.attrs)
				op, err := New(n, c.opset)
				if err != nil {
					t.Fatal(err)
				}
				if a, ok := op.(Aliaser); !ok || !a.AliasInput() {
					t.Fatalf("%s does not alias its input", c.op)
				}
				outs, outv, err := h3Exec(n, c.opset, in, []bool{false, true})
				if c.want == nil {
					h3MustErr(t, err, "invalid view")
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !outv[0].Shape.Equal(c.want) {
					t.Fatalf("shape %v, want %v", outv[0].Shape, c.want)
				}
				if err := h3Compare(x.View(c.want), outs[0]); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestDropoutMask(t *testing.T) {
	x := h3F32(ir.Shape{2, 2}, 1, 2, 3, 4)
	for _, opset := range []int{7, 10, 13} {
		n := h3MakeNode("Dropout", 1, 2, map[string]*ir.Attr{"ratio": aFloat(0.3)})
		op, _ := New(n, opset)
		if op.(Aliaser).AliasInput() {
			t.Fatalf("opset %d: Dropout with a mask output claims to alias", opset)
		}
		outs, outv, err := h3Exec(n, opset, []*ir.Tensor{x}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := h3Compare(x, outs[0]); err != nil {
			t.Fatal(err)
		}
		wantDT := ir.Bool
		if opset < 10 {
			wantDT = ir.Float32
		}
		if outv[1].DType != wantDT {
			t.Fatalf("opset %d: mask dtype %v, want %v", opset, outv[1].DType, wantDT)
		}
		for i := 0; i < outs[1].Len(); i++ {
			if h3At(outs[1], i) != 1 {
				t.Fatalf("opset %d: mask not all true: %v", opset, outs[1])
			}
		}
	}
	training := ir.NewTensor(ir.Bool, ir.Shape{})
	training.Bool[0] = true
	ratio := h3F32(ir.Shape{}, 0.5)
	n := h3MakeNode("Dropout", 3, 1, nil)
	_, _, err := h3Exec(n, 13, []*ir.Tensor{x, ratio, training}, []bool{false, true, true})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("training dropout at plan: err = %v, want ErrUnsupported", err)
	}
	_, _, err = h3Exec(n, 13, []*ir.Tensor{x, ratio, training}, nil)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("training dropout at run: err = %v, want ErrUnsupported", err)
	}
	ratio.F32[0] = 0
	outs, _, err := h3Exec(n, 13, []*ir.Tensor{x, ratio, training}, nil)
	if err != nil {
		t.Fatalf("training dropout with ratio 0: %v", err)
	}
	if err := h3Compare(x, outs[0]); err != nil {
		t.Fatal(err)
	}
}

func TestShapeOp(t *testing.T) {
	x := ir.NewTensor(ir.Float32, ir.Shape{2, 3, 4, 5})
	cases := []struct {
		opset      int
		start, end *int64
		want       []int64
	}{
		{13, nil, nil, []int64{2, 3, 4, 5}},
		{15, p64(1), nil, []int64{3, 4, 5}},
		{15, p64(-1), nil, []int64{5}},
		{15, nil, p64(-1), []int64{2, 3, 4}},
		{15, p64(1), p64(3), []int64{3, 4}},
		{15, p64(-10), p64(10), []int64{2, 3, 4, 5}},
		{15, p64(3), p64(1), []int64{}},
		{13, p64(1), p64(2), []int64{2, 3, 4, 5}}, // attributes ignored before 15
	}
	for _, c := range cases {
		attrs := map[string]*ir.Attr{}
		if c.start != nil {
			attrs["start"] = aInt(*c.start)
		}
		if c.end != nil {
			attrs["end"] = aInt(*c.end)
		}
		outs, outv, err := h3Exec(h3MakeNode("Shape", 1, 1, attrs), c.opset, []*ir.Tensor{x}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := h3I64(c.want...)
		if outv[0].Const == nil {
			t.Fatal("Shape's Plan did not return a Const")
		}
		if err := h3Compare(want, outv[0].Const); err != nil {
			t.Fatalf("%+v: Const: %v", c, err)
		}
		if err := h3Compare(want, outs[0]); err != nil {
			t.Fatalf("%+v: Run: %v", c, err)
		}
	}
}

func p64(v int64) *int64 { return &v }
