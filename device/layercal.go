package device

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

// LayerCalOptions configure (*Calibration).AddLayers.
type LayerCalOptions struct {
	// Threads lists the thread counts Predict will be asked for; the
	// layers are measured at the calibrated counts it interpolates
	// between (nil: at every calibrated count).
	Threads []int
	// Kernels restricts the instruction sets, as for the model's plan.
	Kernels kernels.Config
	// PerLayer bounds the warm runs of one layer shape (default 40 ms;
	// at least five timed runs are always taken).
	PerLayer time.Duration
	// Graph is the model's graph ((*runtime.Model).Graph); with it the
	// pooling and elementwise layers are measured too, each as a
	// one-node graph run through the runtime. Without it only
	// convolutions and matrix products are.
	Graph *ir.Graph
	// MaxWeightBytes skips compute layers with more weight bytes (their
	// synthetic weights and packed copy are allocated while measured);
	// 0 means no limit. Skipped layers are predicted by interpolation.
	MaxWeightBytes int64
}

// LayerSig identifies the work of a compute layer for calibration: the
// operator, its full convolution geometry (or the dense product's rows,
// inputs and outputs) and the fused activation. Layers with the same
// signature run the same kernel on the same shapes. It returns "" for
// layers that are not convolutions or matrix products.
func LayerSig(l runtime.Layer) string {
	p := l.Conv
	switch l.OpType {
	case "Conv":
		if p.InC <= 0 || p.InH <= 0 || p.InW <= 0 || p.OutC <= 0 || p.Group <= 0 || p.StrideH <= 0 || p.StrideW <= 0 {
			return ""
		}
		return fmt.Sprintf("conv:%dc%dx%d-%dc-k%dx%d-s%dx%d-d%dx%d-p%d,%d,%d,%d-g%d-b%d-%s",
			p.InC, p.InH, p.InW, p.OutC, p.KH, p.KW, p.StrideH, p.StrideW, p.DilH, p.DilW,
			p.PadTop, p.PadLeft, p.PadBottom, p.PadRight, p.Group, batchOf(l), l.Fused)
	case "Gemm", "MatMul":
		m, n, k, _ := gemmDims(l, CatFC)
		if n <= 0 || k <= 0 || l.Params <= 0 {
			return ""
		}
		return fmt.Sprintf("dense:%dx%dx%d-%s", m, k, n, l.Fused)
	}
	if opGraphTypes[l.OpType] && len(l.Inputs) > 0 && len(l.Outputs) == 1 {
		return fmt.Sprintf("op:%s:%v->%v-%s", l.OpType, l.Inputs, l.Outputs, l.Fused)
	}
	return ""
}

// opGraphTypes are the pooling and elementwise operators AddLayers
// measures through the runtime (float inputs; other inputs must be
// initializers).
var opGraphTypes = map[string]bool{
	"MaxPool": true, "AveragePool": true, "GlobalAveragePool": true, "GlobalMaxPool": true,
	"Concat": true, "Add": true, "Sub": true, "Mul": true, "Div": true, "Sum": true, "Max": true, "Min": true,
	"Relu": true, "Clip": true, "Sigmoid": true, "Tanh": true, "HardSigmoid": true, "HardSwish": true, "LeakyRelu": true,
	"Pad": true, "BatchNormalization": true, "Softmax": true, "LRN": true, "Dropout": true,
}

func batchOf(l runtime.Layer) int {
	if len(l.Inputs) > 0 && len(l.Inputs[0]) > 0 && l.Inputs[0][0] > 0 {
		return l.Inputs[0][0]
	}
	return 1
}

// AddLayers measures the compute layers of a model (as
// (*runtime.Model).Layers returns them) that the calibration has not
// measured yet: each distinct LayerSig is built with the kernels the
// runtime plans for it (kernels.NewConv2D, kernels.NewDense) and timed
// cache-hot at each thread count, like the calibration shapes. The
// results join c.Shapes (Layer set to the signature), where Predict uses
// them for layers of the same signature and, like any calibrated shape,
// to interpolate others. It returns how many shapes were added (save
// the calibration again to cache them). It honours ctx.
func (c *Calibration) AddLayers(ctx context.Context, layers []runtime.Layer, opts LayerCalOptions) (int, error) {
	if len(c.Threads) == 0 {
		return 0, fmt.Errorf("device: calibrating layers needs a calibration with measurements; run Calibrate first")
	}
	threads := c.Threads
	if len(opts.Threads) > 0 {
		threads = nil
		for _, t := range opts.Threads {
			if t <= 0 {
				t = c.Threads[len(c.Threads)-1]
			}
			lo, hi, _ := c.bracket(t)
			threads = append(threads, lo, hi)
		}
		slices.Sort(threads)
		threads = slices.Compact(threads)
	}
	per := opts.PerLayer
	if per <= 0 {
		per = 40 * time.Millisecond
	}
	have := map[string]bool{}
	for _, s := range c.Shapes {
		if s.Layer != "" {
			have[fmt.Sprint(s.Threads, s.Layer)] = true
		}
	}
	type job struct {
		l   runtime.Layer
		sig string
		ts  []int
	}
	var jobs []job
	seen := map[string]bool{}
	nodes := map[string]*ir.Node{}
	if opts.Graph != nil {
		for _, n := range opts.Graph.Nodes {
			nodes[n.Name] = n
		}
	}
	for _, l := range layers {
		sig := LayerSig(l)
		if sig == "" || seen[sig] {
			continue
		}
		if strings.HasPrefix(sig, "op:") && nodes[l.Name] == nil {
			continue
		}
		if opts.MaxWeightBytes > 0 && 4*l.Params > opts.MaxWeightBytes {
			continue
		}
		seen[sig] = true
		var ts []int
		for _, t := range threads {
			if !have[fmt.Sprint(t, sig)] {
				ts = append(ts, t)
			}
		}
		if len(ts) > 0 {
			jobs = append(jobs, job{l, sig, ts})
		}
	}
	if len(jobs) == 0 {
		return 0, nil
	}
	// In a model, the other layers' weights and activations pass through
	// the caches between two runs of a layer: each timed run follows a
	// pass over a buffer of the model's working set (capped), then a read
	// of the layer's input (its producer just wrote it).
	var ws int64
	for _, l := range layers {
		ws += 4 * max(l.Params, 0)
		for _, n := range sizes(l.Outputs) {
			ws += 4 * n
		}
	}
	flush := make([]float32, min(ws, maxFlushBytes)/4)
	pools := map[int]*kernels.Pool{}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	added := 0
	for _, j := range jobs {
		if strings.HasPrefix(j.sig, "op:") {
			n, err := c.addOp(ctx, opts, j.l, j.sig, nodes[j.l.Name], j.ts, per)
			added += n
			if err != nil {
				return added, err
			}
			continue
		}
		r, err := layerRun(opts.Kernels, j.l)
		if err != nil {
			return added, fmt.Errorf("device: calibrating layer %q: %w", j.l.Name, err)
		}
		for _, t := range j.ts {
			if err := ctx.Err(); err != nil {
				return added, err
			}
			pool := pools[t]
			if pool == nil {
				pool = kernels.NewPool(t)
				pools[t] = pool
			}
			ns := timeRuns(func() { r.run(pool) }, per, 5, func() { evict(pool, flush, r.input) })
			s := ShapeResult{Name: "layer " + j.l.Name, Category: r.shape.cat, Threads: t, M: r.m, N: r.n, K: r.k, Stride: r.stride,
				Flops: r.flops, Bytes: r.bytes, Ns: ns, Kernel: r.kernel, Layer: j.sig, Weights: r.weights}
			s.MR, s.NR = TileOf(r.kernel)
			s.GFLOPS = float64(r.flops) / ns
			s.ComputeGFLOPS = float64(r.flops) / max(ns-c.memFor(t).OverheadNs, ns/2)
			c.Shapes = append(c.Shapes, s)
			added++
		}
	}
	return added, nil
}

// layerRun builds the kernel of one compute layer on synthetic weights.
func layerRun(cfg kernels.Config, l runtime.Layer) (calRun, error) {
	fill := func(n int) []float32 {
		b := make([]float32, n)
		for i := range b {
			b[i] = float32(i%13-6) * 0.01
		}
		return b
	}
	act := kernels.Activation{}
	if l.Fused == "Relu" {
		act.Kind = kernels.ActRelu
	}
	batch := batchOf(l)
	switch l.OpType {
	case "Conv":
		p := l.Conv
		w := fill(p.OutC * p.InC / p.Group * p.KH * p.KW)
		k, err := kernels.NewConv2D(cfg, p, w, fill(p.OutC))
		if err != nil {
			return calRun{}, err
		}
		in := fill(batch * p.InC * p.InH * p.InW)
		o := make([]float32, batch*p.OutC*p.OutH()*p.OutW())
		ws := make([]float32, k.WorkspaceLen())
		cat := Category(l)
		m, n, kk, reps := gemmDims(l, cat)
		return calRun{shape: calShape{cat: cat}, m: m, n: n, k: kk, stride: max(p.StrideH, p.StrideW),
			flops: 2 * int64(m) * int64(n) * int64(kk) * reps, bytes: 4 * int64(len(in)+len(w)+len(o)), weights: 4 * int64(len(w)),
			kernel: k.Kernel(), input: in, run: func(pool *kernels.Pool) { k.Run(pool, batch, in, o, ws) }}, nil
	default:
		m, n, k, _ := gemmDims(l, CatFC)
		d, err := kernels.NewDense(cfg, k, n, m, fill(n*k), fill(n), act)
		if err != nil {
			return calRun{}, err
		}
		x, y := fill(m*k), make([]float32, m*n)
		cat := CatFC
		if m >= 8 {
			cat = CatPointwise
		}
		return calRun{shape: calShape{cat: cat}, m: m, n: n, k: k, stride: 1,
			flops: 2 * int64(m) * int64(n) * int64(k), bytes: 4 * int64(m*k+n*k+m*n), weights: 4 * int64(n*k),
			kernel: d.Kernel(), input: x, run: func(pool *kernels.Pool) { d.Run(pool, m, x, y) }}, nil
	}
}

// maxFlushBytes caps the buffer AddLayers passes through the caches
// before each timed run (the cold test's working set: it spills the
// caches of the machines edge targets).
const maxFlushBytes = 64 << 20

// evict passes over flush on every thread of the pool (reading and
// writing it, as the other layers of a model read weights and write
// activations), then reads in: the caches then hold what they hold in
// a model when a layer starts.
func evict(pool *kernels.Pool, flush, in []float32) {
	if len(flush) > 0 {
		pool.Parallel(len(flush), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				flush[i] += 1
			}
		})
	}
	if len(in) > 0 {
		pool.Parallel(len(in), func(lo, hi int) {
			var s float32
			for i := lo; i < hi; i += 16 { // one read per 64-byte line
				s += in[i]
			}
			if s == 1e30 { // keeps the reads; never true for the inputs used
				evictSink.Add(1)
			}
		})
	}
}

var evictSink atomic.Int64

// timeRuns runs fn once (cold), then at least minRuns more times and
// more while the budget lasts (at most 200), each after prep (untimed),
// and returns the lower quartile of the timed runs in nanoseconds.
func timeRuns(fn func(), budget time.Duration, minRuns int, prep func()) float64 {
	fn()
	start := time.Now()
	var ts []float64
	for len(ts) < minRuns || time.Since(start) < budget && len(ts) < 200 {
		prep()
		t0 := clockNs()
		fn()
		ts = append(ts, float64(clockNs()-t0))
	}
	slices.Sort(ts)
	return max(ts[len(ts)/4], 1)
}

// addOp measures a pooling or elementwise layer as a one-node graph (the
// node of the model's graph, its initializers, float inputs of the
// layer's shapes) run through the runtime, timed by the session's
// per-layer profile (the operator alone, as in a profiled model run).
// Runs follow each other as operators do in a model: the session's
// workers are still spinning and the activations (all these operators
// move) are where the previous run left them. (A cache pass between runs
// would need another pool, whose spinning workers would compete with
// the session's for the cores.)
// A layer whose node cannot be isolated is left to the rate model.
func (c *Calibration) addOp(ctx context.Context, opts LayerCalOptions, l runtime.Layer, sig string, node *ir.Node, threads []int, per time.Duration) (int, error) {
	g := &ir.Graph{Name: "layer", Opset: opts.Graph.Opset, Initializers: map[string]*ir.Tensor{}}
	feeds := map[string]*ir.Tensor{}
	var bytes int64
	i := 0
	for _, name := range node.Inputs {
		if name == "" {
			continue
		}
		if i >= len(l.Inputs) {
			return 0, nil
		}
		shape := l.Inputs[i]
		i++
		if t, ok := opts.Graph.Initializers[name]; ok {
			g.Initializers[name] = t
			continue
		}
		if _, dup := feeds[name]; dup {
			continue
		}
		if i > 1 && node.OpType == "Pad" {
			return 0, nil // computed pads: not a float input
		}
		t := ir.NewTensor(ir.Float32, shape)
		for k := range t.F32 {
			t.F32[k] = float32(k%17-8) * 0.05 // mixed signs, as activations
		}
		feeds[name] = t
		bytes += 4 * int64(len(t.F32))
		g.Inputs = append(g.Inputs, ir.ValueInfo{Name: name, DType: ir.Float32, Shape: shape})
	}
	n := *node
	n.Outputs = node.Outputs[:1]
	g.Nodes = []*ir.Node{&n}
	g.Outputs = []ir.ValueInfo{{Name: n.Outputs[0], DType: ir.Float32, Shape: l.Outputs[0]}}
	out := int64(1)
	for _, d := range l.Outputs[0] {
		out *= int64(max(d, 1))
	}
	bytes += 4 * out
	m, err := runtime.FromGraph(g)
	if err != nil {
		return 0, nil // not isolable (e.g. the optimizer needs its neighbours)
	}
	added := 0
	for _, t := range threads {
		if err := ctx.Err(); err != nil {
			return added, err
		}
		sess, err := m.NewSession(runtime.Options{Threads: t, Kernels: opts.Kernels, Profile: true})
		if err != nil {
			return added, nil
		}
		var ts []float64
		ok := true
		start := time.Now()
		for k := 0; k < 6 || time.Since(start) < per && k < 200; k++ {
			sess.ResetProfile()
			if _, err := sess.RunIR(feeds); err != nil {
				ok = false
				break
			}
			var d time.Duration
			for _, p := range sess.Profile() {
				d += p.Total
			}
			if k > 0 { // the first run is cold
				ts = append(ts, float64(d.Nanoseconds()))
			}
		}
		sess.Close()
		if !ok || len(ts) == 0 {
			return added, nil
		}
		slices.Sort(ts)
		ns := max(ts[len(ts)/4], 1)
		s := ShapeResult{Name: "layer " + l.Name, Category: Category(l), OpType: l.OpType, Threads: t, Bytes: bytes, Ns: ns, Layer: sig}
		s.RateGBs = float64(bytes) / max(ns-c.memFor(t).OverheadNs, ns/2)
		c.Shapes = append(c.Shapes, s)
		added++
	}
	return added, nil
}
