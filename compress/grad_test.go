package compress

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime"
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
		node("Pad", "pad", []string{"input", "pads"}, "p", nil), // 1×8×8
		conv("c1", "p", "w1", "b1", "a1", 3, 1, 1),              // 6×8×8
		node("Relu", "r1", []string{"a1"}, "h1", nil),           //
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

func TestSVDReconstructs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, sz := range [][2]int{{5, 9}, {9, 5}, {6, 6}, {1, 4}} {
		rows, cols := sz[0], sz[1]
		m := make([]float64, rows*cols)
		for i := range m {
			m[i] = r.NormFloat64()
		}
		s, u, v, err := svdOf(rows, cols, append([]float64(nil), m...))
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(s); i++ {
			if s[i] > s[i-1] {
				t.Fatalf("%v: singular values not descending: %v", sz, s)
			}
		}
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				var acc float64
				for k := range s {
					acc += u.At(i, k) * s[k] * v.At(j, k)
				}
				if math.Abs(acc-m[i*cols+j]) > 1e-9 {
					t.Fatalf("%v: reconstruction (%d,%d) = %v, want %v", sz, i, j, acc, m[i*cols+j])
				}
			}
		}
	}
}

func TestConvForwardMatchesKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	cases := []kernels.ConvParams{
		{InC: 3, InH: 9, InW: 7, OutC: 5, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Group: 1},
		{InC: 4, InH: 8, InW: 11, OutC: 6, KH: 3, KW: 2, StrideH: 2, StrideW: 3, DilH: 1, DilW: 2, PadTop: 0, PadLeft: 2, PadBottom: 1, PadRight: 0, Group: 1},
		{InC: 8, InH: 2, InW: 2, OutC: 7, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1},
		{InC: 2, InH: 5, InW: 5, OutC: 3, KH: 5, KW: 1, StrideH: 1, StrideW: 1, DilH: 2, DilW: 1, PadTop: 3, PadBottom: 4, Group: 1},
	}
	pool := kernels.NewPool(2)
	defer pool.Close()
	for ci, p := range cases {
		for _, batch := range []int{1, 5, 40} {
			w := randTensor(r, 1, p.OutC*p.InC*p.KH*p.KW).F32
			b := randTensor(r, 1, p.OutC).F32
			x := randTensor(r, 1, batch*p.InC*p.InH*p.InW).F32
			ref, err := kernels.NewConv2D(kernels.Generic, p, w, b)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, batch*p.OutC*p.OutH()*p.OutW())
			ref.Run(nil, batch, x, want, make([]float32, ref.WorkspaceLen()))
			op, err := newConvOp(kernels.Config{}, batch, p, b, true)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(want))
			op.forward(pool, [][]float32{x, w}, got)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("case %d batch %d: out[%d] = %v, want %v", ci, batch, i, got[i], want[i])
				}
			}
			// Adjoint check: <conv(x), g> = <x, dX(g)> for the linear part.
			g := randTensor(r, 1, len(want)).F32
			dx := make([]float32, len(x))
			op.backward(pool, 0, [][]float32{x, w}, got, g, dx)
			var lhs, rhs float64
			for i := range got {
				v := float64(got[i])
				if b != nil {
					v -= float64(b[(i/(p.OutH()*p.OutW()))%p.OutC])
				}
				lhs += v * float64(g[i])
			}
			for i := range x {
				rhs += float64(x[i]) * float64(dx[i])
			}
			if math.Abs(lhs-rhs) > 1e-3*(1+math.Abs(lhs)) {
				t.Fatalf("case %d batch %d: adjoint mismatch %v vs %v", ci, batch, lhs, rhs)
			}
		}
	}
}

// maskSetup builds the objective of a graph's factors on random images.
func maskSetup(t *testing.T, g *ir.Graph, n int, labels bool) (*calibRun, []float64) {
	t.Helper()
	wls, err := findLayers(g)
	if err != nil {
		t.Fatal(err)
	}
	var fs []*factor
	for _, l := range wls {
		f, err := decompose(l, SchemeAuto, true)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			fs = append(fs, f)
		}
	}
	var macs, params int64
	for _, l := range wls {
		macs += l.macs
		params += l.params
	}
	p := newProblem(fs, macs, params, macs/2, 0)
	r := rand.New(rand.NewPCG(4, 4))
	in := g.Inputs[0].Shape
	x, y := synthImages(r, n, in[1]*in[2]*in[3])
	img := &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{n, in[1], in[2], in[3]}, F32: x}
	cal := Calibration{Images: img}
	if labels {
		cal.Labels = y
	}
	opts := Options{Budget: Budget{MACs: macs / 2}, Calib: cal, Batch: 4, Threads: 2}
	if err := opts.defaults(); err != nil {
		t.Fatal(err)
	}
	c, err := newCalibRun(context.Background(), g, p, opts, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	m := make([]float64, p.n)
	for i := range m {
		m[i] = 0.2 + 0.6*r.Float64()
	}
	return c, m
}

func TestMaskGradientFiniteDifference(t *testing.T) {
	for _, labels := range []bool{true, false} {
		c, m := maskSetup(t, synthGraph(1), 10, labels)
		defer c.close()
		idx := append(append([]int(nil), c.train...), c.held...)
		_, g, err := c.obj.grad(m, idx)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(5, 5))
		checked := 0
		for trial := 0; trial < 12; trial++ {
			i := r.IntN(len(m))
			old := m[i]
			h := 1e-2
			m[i] = old + h
			fp, _ := c.obj.value(m, idx)
			m[i] = old - h
			fm, _ := c.obj.value(m, idx)
			m[i] = old
			fd := (fp - fm) / (2 * h)
			if d := math.Abs(fd - g[i]); d > 2e-4+0.03*math.Abs(fd) {
				t.Errorf("labels=%v mask %d: gradient %.6g, finite difference %.6g", labels, i, g[i], fd)
			}
			checked++
		}
		if checked == 0 || len(c.p.factors) < 4 {
			t.Fatalf("only %d factors", len(c.p.factors))
		}
	}
}

// TestKLAtOriginalIsZero: with unlabeled data the objective is the KL
// divergence from the original network, so the dense weights give 0.
func TestKLAtOriginalIsZero(t *testing.T) {
	c, _ := maskSetup(t, synthGraph(2), 9, false)
	defer c.close()
	f, err := c.obj.valueW(c.obj.base, c.held)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(f) > 1e-5 {
		t.Fatalf("KL of the original network = %g, want 0", f)
	}
	m := make([]float64, c.p.n)
	for i := range m {
		m[i] = 0.5
	}
	if f2, _ := c.obj.value(m, c.held); f2 <= 1e-6 {
		t.Fatalf("KL of a perturbed network = %g, want > 0", f2)
	}
}

// TestWrittenGraphMatchesObjective: the factorized graph, run by edge's
// runtime, computes exactly the network the objective evaluated for the
// same allocation (both schemes, kept subsets, scales, dense layers).
func TestWrittenGraphMatchesObjective(t *testing.T) {
	for _, sc := range []Scheme{SchemeChannel, SchemeSpatial} {
		g := synthGraph(3)
		c, _ := maskSetup(t, g, 8, true)
		// Re-decompose with the scheme under test.
		var fs []*factor
		spatial := 0
		for _, f := range c.p.factors {
			nf, err := decompose(f.l, sc, true)
			if err != nil {
				t.Fatal(err)
			}
			if nf != nil {
				fs = append(fs, nf)
				if nf.scheme == SchemeSpatial {
					spatial++
				}
			}
		}
		if sc == SchemeSpatial && spatial < 2 {
			t.Fatalf("only %d spatial factors", spatial)
		}
		c.p = newProblem(fs, c.p.macsTotal, c.p.paramsTotal, c.p.budgetMACs, 0)
		c.obj.p = c.p
		r := rand.New(rand.NewPCG(9, 9))
		nf := len(c.p.factors)
		a := alloc{rank: make([]int, nf), dense: make([]bool, nf), keep: make([][]int, nf), scale: make([][]float64, nf)}
		for i, f := range c.p.factors {
			a.dense[i] = i == 1
			k := 1 + r.IntN(f.kmax)
			perm := r.Perm(f.kmax)[:k]
			a.rank[i], a.keep[i] = k, perm
			a.scale[i] = make([]float64, k)
			for j := range a.scale[i] {
				a.scale[i][j] = 0.1 + 0.9*r.Float64()
			}
		}
		want, err := c.obj.logits(c.weightsOf(a), c.held)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := factorizedGraph(g, c.p.factors, a)
		if err != nil {
			t.Fatal(err)
		}
		m, err := runtime.FromGraph(out)
		if err != nil {
			t.Fatal(err)
		}
		s, err := m.NewSession(runtime.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		sz := 49
		for j, i := range c.held {
			x := &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{1, 1, 7, 7}, F32: c.obj.images[i*sz : (i+1)*sz]}
			res, err := s.RunIR(map[string]*ir.Tensor{"input": x}, "logits")
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range res["logits"].F32 {
				if w := want[j*5+k]; math.Abs(float64(v-w)) > 1e-4*(1+math.Abs(float64(w))) {
					t.Fatalf("%v: image %d logit %d: runtime %v, objective %v", sc, i, k, v, w)
				}
			}
		}
		s.Close()
		c.close()
	}
}

// TestSQPQuadratic: on a separable convex quadratic with a budget the SQP
// reaches the known optimum (water-filling), starting from a feasible
// vertex, and stays feasible.
func TestSQPQuadratic(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	n := 40
	c := make([]float64, n) // minimize Σ w_i (x_i − c_i)², Σ a_i x_i ≤ b
	w := make([]float64, n)
	a := make([]float64, n)
	for i := range c {
		c[i] = 0.2 + 0.8*r.Float64()
		w[i] = 0.5 + r.Float64()
		a[i] = 0.5 + r.Float64()
	}
	b := 0.4 * dot(a, c)
	fg := func(x []float64) (float64, []float64, error) {
		var f float64
		g := make([]float64, n)
		for i := range x {
			d := x[i] - c[i]
			f += w[i] * d * d
			g[i] = 2 * w[i] * d
		}
		return f, g, nil
	}
	fv := func(x []float64) (float64, error) { f, _, err := fg(x); return f, err }
	x0 := make([]float64, n)
	fs := &feasibleSet{a: [][]float64{a}, b: []float64{b}}
	x, f, _, _, err := sqp(fg, fv, fs, x0, sqpConfig{maxIter: 60, mem: 8})
	if err != nil {
		t.Fatal(err)
	}
	if v := dot(a, x); v > b*(1+1e-9) {
		t.Fatalf("infeasible: %v > %v", v, b)
	}
	// KKT optimum: x_i = clip(c_i − λ a_i / (2 w_i)), λ by bisection.
	lo, hi := 0.0, 100.0
	xs := make([]float64, n)
	for it := 0; it < 100; it++ {
		l := (lo + hi) / 2
		for i := range xs {
			xs[i] = clip01(c[i] - l*a[i]/(2*w[i]))
		}
		if dot(a, xs) > b {
			lo = l
		} else {
			hi = l
		}
	}
	fstar, _ := fv(xs)
	if f > fstar*1.01+1e-9 {
		t.Fatalf("SQP objective %.6f, optimum %.6f", f, fstar)
	}
}

// TestProjectTwoHalfSpaces: the projection is feasible and no feasible
// point sampled nearby is closer to y.
func TestProjectTwoHalfSpaces(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	n := 30
	a1, a2, y := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range y {
		a1[i], a2[i], y[i] = r.Float64(), r.Float64(), 1.5*r.Float64()
	}
	fs := &feasibleSet{a: [][]float64{a1, a2}, b: []float64{0.3 * dot(a1, y), 0.25 * dot(a2, y)}}
	z := fs.project(y)
	dist := func(p []float64) float64 {
		var s float64
		for i := range p {
			s += (p[i] - y[i]) * (p[i] - y[i])
		}
		return s
	}
	for j := range fs.a {
		if v := dot(fs.a[j], z); v > fs.b[j]*(1+1e-6) {
			t.Fatalf("constraint %d violated: %v > %v", j, v, fs.b[j])
		}
	}
	d0 := dist(z)
	for trial := 0; trial < 2000; trial++ {
		p := make([]float64, n)
		for i := range p {
			p[i] = clip01(z[i] + 0.05*r.NormFloat64())
		}
		if dot(a1, p) <= fs.b[0] && dot(a2, p) <= fs.b[1] && dist(p) < d0-1e-9 {
			t.Fatalf("feasible point closer than the projection: %v < %v", dist(p), d0)
		}
	}
}

// TestSQPStops: the solver reports why it stopped; past its deadline it
// returns the start point without an iteration.
func TestSQPStops(t *testing.T) {
	n := 20
	c := make([]float64, n)
	a := make([]float64, n)
	for i := range c {
		c[i], a[i] = 0.3+0.02*float64(i), 1
	}
	fg := func(x []float64) (float64, []float64, error) {
		var f float64
		g := make([]float64, n)
		for i := range x {
			f += (x[i] - c[i]) * (x[i] - c[i])
			g[i] = 2 * (x[i] - c[i])
		}
		return f, g, nil
	}
	fv := func(x []float64) (float64, error) { f, _, err := fg(x); return f, err }
	fs := &feasibleSet{a: [][]float64{a}, b: []float64{float64(n) / 4}}
	x0 := make([]float64, n)
	past := func() time.Time { return time.Now().Add(-time.Second) }
	x, _, it, stop, err := sqp(fg, fv, fs, x0, sqpConfig{maxIter: 10, mem: 4, deadline: past})
	if err != nil || it != 0 || stop != stopTime || !slices.Equal(x, x0) {
		t.Errorf("past the deadline: %d iterations, stop %q, moved %v, err %v", it, stop, !slices.Equal(x, x0), err)
	}
	_, _, it, stop, err = sqp(fg, fv, fs, x0, sqpConfig{maxIter: 100, mem: 4})
	if err != nil || stop == stopTime || stop == stopIterations {
		t.Errorf("unlimited: %d iterations, stop %q, err %v; want convergence", it, stop, err)
	}
	_, _, it, stop, _ = sqp(fg, fv, fs, x0, sqpConfig{maxIter: 1, mem: 4})
	if it != 1 || stop != stopIterations {
		t.Errorf("one iteration allowed: %d iterations, stop %q", it, stop)
	}
}
