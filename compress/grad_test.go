package compress

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

func randTensor(r *rand.Rand, scale float32, shape ...int) *ir.Tensor {
	t := ir.NewTensor(ir.Float32, ir.Shape(shape))
	for i := range t.F32 {
		t.F32[i] = float32(r.NormFloat64()) * scale
	}
	return t
}

func conv(name, x, w, b, y string, k, stride, pad int) *ir.Node {
	return &ir.Node{Name: name, OpType: "Conv", Inputs: []string{x, w, b}, Outputs: []string{y}, Attrs: map[string]*ir.Attr{
		"kernel_shape": {Type: ir.AttrInts, Ints: []int64{int64(k), int64(k)}},
		"strides":      {Type: ir.AttrInts, Ints: []int64{int64(stride), int64(stride)}},
		"pads":         {Type: ir.AttrInts, Ints: []int64{int64(pad), int64(pad), int64(pad), int64(pad)}},
	}}
}

func node(op, name string, in []string, out string, attrs map[string]*ir.Attr) *ir.Node {
	return &ir.Node{Name: name, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: attrs}
}

// synthGraph is a tiny CNN using every operator of the calibration
// network: Pad, Conv, Relu, MaxPool (ceil_mode), Concat, Add, Conv 1×1,
// GlobalAveragePool, Flatten, Gemm, plus a second Flatten+Gemm path.
func synthGraph(seed uint64) *ir.Graph {
	r := rand.New(rand.NewPCG(seed, 1))
	g := &ir.Graph{Name: "synth", Opset: 13, Initializers: map[string]*ir.Tensor{}, Metadata: map[string]string{"labels": "a,b,c,d,e"}}
	g.Inputs = []ir.ValueInfo{{Name: "input", DType: ir.Float32, Shape: []int{-1, 1, 7, 7}}}
	g.Outputs = []ir.ValueInfo{{Name: "logits", DType: ir.Float32, Shape: []int{-1, 5}}}
	init := func(name string, t *ir.Tensor) string { g.Initializers[name] = t; return name }
	pads := ir.NewTensor(ir.Int64, ir.Shape{8})
	copy(pads.I64, []int64{0, 0, 1, 1, 0, 0, 0, 0})
	init("pads", pads)
	init("w1", randTensor(r, 0.5, 6, 1, 3, 3))
	init("b1", randTensor(r, 0.1, 6))
	init("w2", randTensor(r, 0.3, 5, 6, 3, 3))
	init("b2", randTensor(r, 0.1, 5))
	init("w3", randTensor(r, 0.3, 5, 6, 1, 1))
	init("b3", randTensor(r, 0.1, 5))
	init("w4", randTensor(r, 0.3, 10, 10, 2, 3))
	init("b4", randTensor(r, 0.1, 10))
	init("fc", randTensor(r, 0.3, 5, 10))
	init("fcb", randTensor(r, 0.1, 5))
	g.Nodes = []*ir.Node{
		node("Pad", "pad", []string{"input", "pads"}, "p", nil),        // 1×8×8
		conv("c1", "p", "w1", "b1", "a1", 3, 1, 1),                         // 6×8×8
		node("Relu", "r1", []string{"a1"}, "h1", nil),                      //
		node("MaxPool", "mp", []string{"h1"}, "m1", map[string]*ir.Attr{ // 6×3×3 (ceil)
			"kernel_shape": {Type: ir.AttrInts, Ints: []int64{3, 3}},
			"strides":      {Type: ir.AttrInts, Ints: []int64{3, 3}},
			"ceil_mode":    {Type: ir.AttrInt, I: 1},
		}),
		conv("c2", "m1", "w2", "b2", "a2", 3, 1, 1), // 5×3×3
		conv("c3", "m1", "w3", "b3", "a3", 1, 1, 0), // 5×3×3
		node("Concat", "cat", []string{"a2", "a3"}, "cc", map[string]*ir.Attr{"axis": {Type: ir.AttrInt, I: 1}}),
		node("Relu", "r2", []string{"cc"}, "h2", nil),
		{Name: "c4", OpType: "Conv", Inputs: []string{"h2", "w4", "b4"}, Outputs: []string{"a4"}, Attrs: map[string]*ir.Attr{
			"kernel_shape": {Type: ir.AttrInts, Ints: []int64{2, 3}},
			"pads":         {Type: ir.AttrInts, Ints: []int64{0, 1, 1, 1}},
			"strides":      {Type: ir.AttrInts, Ints: []int64{1, 2}},
		}}, // 10×3×2
		node("Add", "add", []string{"a4", "a4"}, "s4", nil),
		node("GlobalAveragePool", "gap", []string{"s4"}, "g", nil),
		node("Flatten", "fl", []string{"g"}, "f", nil),
		{Name: "fc", OpType: "Gemm", Inputs: []string{"f", "fc", "fcb"}, Outputs: []string{"logits"}, Attrs: map[string]*ir.Attr{"transB": {Type: ir.AttrInt, I: 1}}},
	}
	return g
}

func synthImages(r *rand.Rand, n, size int) ([]float32, []int) {
	x := make([]float32, n*size)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = r.IntN(5)
	}
	return x, labels
}

func TestWeightGradientFiniteDifference(t *testing.T) {
	g := synthGraph(1)
	for _, batch := range []int{1, 3, 8} {
		nt0, err := buildNet(g, batch, kernels.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		need := make([]bool, len(nt0.layers))
		for i := range need {
			need[i] = true
		}
		nt, err := buildNet(g, batch, kernels.Config{}, need)
		if err != nil {
			t.Fatal(err)
		}
		pool := kernels.NewPool(2)
		defer pool.Close()
		ev, err := newEvaluator(nt, need, pool)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(2, 2))
		x, labels := synthImages(r, 5, 49)
		o := newObjective(nil, nil, nt, ev, pool, kernels.Config{}, x)
		if err := o.setLabels(labels); err != nil {
			t.Fatal(err)
		}
		idx := []int{0, 1, 2, 3, 4}
		w := make([][]float32, len(nt.layers))
		for i, l := range nt.layers {
			w[i] = append([]float32(nil), l.w...)
		}
		gsum := make([][]float32, len(w))
		for i := range w {
			gsum[i] = make([]float32, len(w[i]))
		}
		f0 := 0.0
		err = o.batches(idx, func(xb, tb, sw []float32, lo, hi int) error {
			v, err := ev.run(w, xb, tb, sw, true, gsum, nil)
			f0 += v
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if f0 <= 0 || math.IsNaN(f0) {
			t.Fatalf("loss %v", f0)
		}
		for li := range w {
			for trial := 0; trial < 4; trial++ {
				j := r.IntN(len(w[li]))
				old := w[li][j]
				h := float32(1e-2)
				w[li][j] = old + h
				fp, _ := o.valueW(w, idx)
				w[li][j] = old - h
				fm, _ := o.valueW(w, idx)
				w[li][j] = old
				fd := (fp - fm) / (2 * float64(h))
				if d := math.Abs(fd - float64(gsum[li][j])); d > 2e-3+0.02*math.Abs(fd) {
					t.Errorf("batch %d layer %d (%s) weight %d: gradient %.6f, finite difference %.6f", batch, li, nt.layers[li].node.Name, j, gsum[li][j], fd)
				}
			}
		}
	}
}
