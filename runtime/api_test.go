package runtime

import (
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"gorgonia.org/tensor"

	"github.com/edgeml/edge/runtime/ir"
	"github.com/edgeml/edge/runtime/onnx"
	"github.com/edgeml/edge/runtime/ops"
)

func loadSmall(t testing.TB) *Model {
	t.Helper()
	m, err := Load("testdata/fmnist-small.onnx")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t *testing.T, g *ir.Graph) []byte {
	t.Helper()
	b, err := onnx.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadErrors(t *testing.T) {
	good, err := os.ReadFile("testdata/fmnist-small.onnx")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 5))
	relu := func(name, in, out string) *ir.Node { return nd("Relu", name, []string{in}, []string{out}) }
	graph := func(nodes ...*ir.Node) *ir.Graph {
		return &ir.Graph{Opset: 13, Inputs: []ir.ValueInfo{fvi("x", -1, 4)}, Outputs: []ir.ValueInfo{fvi("y", -1, 4)}, Nodes: nodes, Initializers: map[string]*ir.Tensor{}}
	}
	badConv := convBNGraph(rng, false)
	badConv.Initializers["w"] = randTensor(rng, 4, 5, 3, 3) // 5 input channels, x has 3
	f16 := graph(relu("r", "x", "y"))
	f16.Inputs[0].DType = ir.Float16
	tests := []struct {
		name    string
		data    []byte
		want    error
		message string
	}{
		{"empty", nil, ErrInvalidModel, "not a valid ONNX model"},
		{"garbage", []byte("this is not a protobuf at all"), ErrInvalidModel, "not a valid ONNX model"},
		{"truncated", good[:len(good)/3], ErrInvalidModel, "not a valid ONNX model"},
		{"unsupported-op", encode(t, graph(nd("FooOp", "x", []string{"x"}, []string{"y"}))), ErrUnsupported,
			`runtime: node "x" (FooOp, opset 13): unsupported operator; supported: Add, AveragePool, `},
		{"old-opset", encode(t, &ir.Graph{Opset: 6, Inputs: []ir.ValueInfo{fvi("x", 2)}, Outputs: []ir.ValueInfo{fvi("y", 2)},
			Nodes: []*ir.Node{nd("Add", "add", []string{"x", "x"}, []string{"y"})}}), ErrUnsupported, "opset 6"},
		{"cycle", encode(t, graph(relu("a", "x", "t"), nd("Add", "b", []string{"t", "u"}, []string{"v"}), relu("c", "v", "u"), relu("d", "v", "y"))), ErrInvalidModel, "cycle through node"},
		{"dangling", encode(t, graph(relu("a", "nowhere", "y"))), ErrInvalidModel, `reads "nowhere"`},
		{"two-producers", encode(t, graph(relu("a", "x", "y"), relu("b", "x", "y"))), ErrInvalidModel, "produced by both"},
		{"missing-output", encode(t, graph(relu("a", "x", "t"))), ErrInvalidModel, `graph output "y"`},
		{"float16-input", encode(t, f16), ErrUnsupported, "float16"},
		{"conv-channels", encode(t, badConv), ErrInvalidModel, `node "conv" (Conv`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := LoadBytes(tc.data)
			if err == nil {
				t.Fatalf("loaded: %+v", m.Info())
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("message %q lacks %q", err, tc.message)
			}
			if tc.want == ErrUnsupported && !errors.Is(err, ops.ErrUnsupported) {
				t.Error("ErrUnsupported does not wrap ops.ErrUnsupported")
			}
		})
	}
	if _, err := Load("testdata/does-not-exist.onnx"); err == nil || !strings.Contains(err.Error(), "does-not-exist") {
		t.Errorf("missing file: %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	m := loadSmall(t)
	s, err := m.NewSession(Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	img := ir.NewTensor(ir.Float32, ir.Shape{1, 1, 28, 28})
	tests := []struct {
		name string
		in   map[string]*ir.Tensor
		want []string
		msg  []string
	}{
		{"missing", map[string]*ir.Tensor{}, nil, []string{`missing input "input"`, "[N×1×28×28]"}},
		{"unknown", map[string]*ir.Tensor{"input": img, "extra": img}, nil, []string{`unknown input "extra"`}},
		{"shape", map[string]*ir.Tensor{"input": ir.NewTensor(ir.Float32, ir.Shape{1, 3, 28, 28})}, nil, []string{`"input"`, "[1×3×28×28]", "[N×1×28×28]"}},
		{"rank", map[string]*ir.Tensor{"input": ir.NewTensor(ir.Float32, ir.Shape{28, 28})}, nil, []string{"[28×28]", "[N×1×28×28]"}},
		{"dtype", map[string]*ir.Tensor{"input": ir.NewTensor(ir.Int64, ir.Shape{1, 1, 28, 28})}, nil, []string{"int64", "float32"}},
		{"short-data", map[string]*ir.Tensor{"input": {DType: ir.Float32, Shape: ir.Shape{1, 1, 28, 28}, F32: make([]float32, 10)}}, nil, []string{"holds 10"}},
		{"unknown-want", map[string]*ir.Tensor{"input": img}, []string{"no-such-value"}, []string{`"no-such-value"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RunIR(tc.in, tc.want...)
			if !errors.Is(err, ErrInput) {
				t.Fatalf("error %v, want ErrInput", err)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q lacks %q", err, m)
				}
			}
		})
	}
	if _, err := s.Run(map[string]tensor.Tensor{"input": tensor.New(tensor.WithShape(1, 1, 28, 28), tensor.WithBacking(make([]float64, 784)))}); !errors.Is(err, ErrInput) {
		t.Errorf("float64 gorgonia input: %v", err)
	}
	s.Close()
	s.Close()
	if _, err := s.RunIR(map[string]*ir.Tensor{"input": img}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestRunGorgonia(t *testing.T) {
	m := loadSmall(t)
	s, err := m.NewSession(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 6))
	x := randomInput(rng, ir.Shape{2, 1, 28, 28})
	out, err := s.Run(map[string]tensor.Tensor{"input": tensor.New(tensor.WithShape(2, 1, 28, 28), tensor.WithBacking(x.F32))})
	if err != nil {
		t.Fatal(err)
	}
	y := out["logits"]
	if y == nil || !y.Shape().Eq(tensor.Shape{2, 10}) || y.Dtype() != tensor.Float32 {
		t.Fatalf("output %v", y)
	}
	want := reference(t, m.Source(), map[string]*ir.Tensor{"input": x})["logits"]
	got := &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{2, 10}, F32: y.Data().([]float32)}
	if err := closeTo(got, want, 1e-4); err != nil {
		t.Error(err)
	}
	// Conversions of every dtype and of scalars.
	for _, it := range []*ir.Tensor{
		{DType: ir.Int64, Shape: ir.Shape{2}, I64: []int64{1, -2}},
		{DType: ir.Int32, Shape: ir.Shape{1, 1}, I32: []int32{7}},
		{DType: ir.Bool, Shape: ir.Shape{3}, Bool: []bool{true, false, true}},
		{DType: ir.Float32, Shape: ir.Shape{}, F32: []float32{2.5}},
		{DType: ir.Int64, Shape: ir.Shape{}, I64: []int64{9}},
	} {
		back, err := FromTensor(ToTensor(it))
		if err != nil {
			t.Fatal(err)
		}
		if err := closeTo(back, it, 0); err != nil || back.DType != it.DType {
			t.Errorf("%v %v: round trip %v", it.DType, it.Shape, err)
		}
	}
}

func TestRunIRWant(t *testing.T) {
	m := loadSmall(t)
	s, err := m.NewSession(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 7))
	x := randomInput(rng, ir.Shape{2, 1, 28, 28})
	// The first conv's output is normally fused with its Relu; the
	// flatten output is a view; 0.weight an initializer; input an input.
	names := []string{"/0/Conv_output_0", "/1/Relu_output_0", "/10/Flatten_output_0", "0.weight", "input", "logits"}
	got, err := s.RunIR(map[string]*ir.Tensor{"input": x}, names...)
	if err != nil {
		t.Fatal(err)
	}
	want := reference(t, m.Source(), map[string]*ir.Tensor{"input": x}, names...)
	for _, n := range names {
		if err := closeTo(got[n], want[n], 1e-5); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	neg := false
	for _, v := range got["/0/Conv_output_0"].F32 {
		neg = neg || v < 0
	}
	if !neg {
		t.Error("the requested conv output has no negative value: the Relu was fused into it")
	}
	// The caller owns the results: a later run does not change them.
	keep := got["logits"].Clone()
	if _, err := s.RunIR(map[string]*ir.Tensor{"input": randomInput(rng, ir.Shape{2, 1, 28, 28})}); err != nil {
		t.Fatal(err)
	}
	if err := closeTo(got["logits"], keep, 0); err != nil {
		t.Errorf("result changed by a later run: %v", err)
	}
}

func TestIntegerInputsArePlanConstants(t *testing.T) {
	g := &ir.Graph{
		Opset:   13,
		Inputs:  []ir.ValueInfo{fvi("x", 2, 6), {Name: "shape", DType: ir.Int64, Shape: []int{2}}},
		Nodes:   []*ir.Node{nd("Reshape", "r", []string{"x", "shape"}, []string{"y"}), nd("Relu", "relu", []string{"y"}, []string{"z"})},
		Outputs: []ir.ValueInfo{{Name: "z", DType: ir.Float32}},
	}
	m, err := FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 8))
	x := randomInput(rng, ir.Shape{2, 6})
	for _, shape := range [][]int64{{3, 4}, {12, 1}, {3, 4}} {
		out, err := s.RunIR(map[string]*ir.Tensor{"x": x, "shape": i64(shape...)})
		if err != nil {
			t.Fatal(err)
		}
		if z := out["z"]; z.Shape[0] != int(shape[0]) || z.Shape[1] != int(shape[1]) {
			t.Errorf("shape %v gave %v", shape, z.Shape)
		}
	}
	if n := len(m.plans); n != 2 {
		t.Errorf("%d cached plans, want 2 (one per shape value)", n)
	}
}

// TestConcurrentSessions runs sessions of one model concurrently (run it
// with -race) and checks every result.
func TestConcurrentSessions(t *testing.T) {
	m := loadSmall(t)
	rng := rand.New(rand.NewPCG(1, 9))
	type job struct {
		x    *ir.Tensor
		want *ir.Tensor
	}
	var jobs []job
	for b := 1; b <= 4; b++ {
		x := randomInput(rng, ir.Shape{b, 1, 28, 28})
		jobs = append(jobs, job{x, reference(t, m.Source(), map[string]*ir.Tensor{"input": x})["logits"]})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.NewSession(Options{Threads: 1 + w%2})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			for r := range 6 {
				j := jobs[(w+r)%len(jobs)]
				out, err := s.RunIR(map[string]*ir.Tensor{"input": j.x})
				if err != nil {
					errs <- err
					return
				}
				if err := closeTo(out["logits"], j.want, 1e-4); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestLayers(t *testing.T) {
	m := loadSmall(t)
	layers, err := m.Layers(4, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, l := range layers {
		kinds = append(kinds, l.OpType+"+"+l.Fused)
	}
	want := "Conv+Relu Conv+Relu MaxPool+ Conv+Relu Conv+Relu MaxPool+ Gemm+Relu Gemm+"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("layers %s, want %s", got, want)
	}
	c := layers[0]
	if c.Conv.InC != 1 || c.Conv.InH != 28 || c.Conv.OutC != 32 || c.Conv.KH != 3 || c.Conv.OutH() != c.Outputs[0][2] || c.MACs == 0 || c.Params != 32*9+32 {
		t.Errorf("first conv %+v", c)
	}
	if !c.Inputs[0].Equal(ir.Shape{4, 1, 28, 28}) {
		t.Errorf("first conv input %v", c.Inputs[0])
	}
	g := layers[6]
	if g.Conv.InC != 1024 && g.Conv.InC <= 0 || g.Conv.OutC != g.Outputs[0][1] {
		t.Errorf("gemm geometry %+v", g.Conv)
	}
	var macs int64
	for _, l := range layers {
		macs += l.MACs
	}
	if macs != 4*m.Info().MACs {
		t.Errorf("batch-4 MACs %d, want 4 × %d", macs, m.Info().MACs)
	}
	if _, err := m.Layers(0, Options{}); !errors.Is(err, ErrInput) {
		t.Errorf("Layers(0): %v", err)
	}
}

func TestHugeShapesAreRefused(t *testing.T) {
	g := &ir.Graph{
		Opset:        13,
		Inputs:       []ir.ValueInfo{fvi("x", 1)},
		Initializers: map[string]*ir.Tensor{"shape": i64(1<<20, 1<<20, 1<<20)},
		Nodes: []*ir.Node{
			nd("ConstantOfShape", "big", []string{"shape"}, []string{"c"}),
			nd("Add", "add", []string{"x", "c"}, []string{"y"}),
		},
		Outputs: []ir.ValueInfo{{Name: "y", DType: ir.Float32}},
	}
	_, err := FromGraph(g)
	if !errors.Is(err, ErrInvalidModel) || !strings.Contains(err.Error(), "big") {
		t.Errorf("error %v", err)
	}
}
