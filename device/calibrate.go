package device

import (
	"context"
	"errors"
	"fmt"
	"math"
	goruntime "runtime"
	"slices"
	"sort"
	"time"

	"github.com/edgeml/edge/kernels"
)

// CalibrateOptions configure Calibrate.
type CalibrateOptions struct {
	// Quick limits the run to about 0.5 s (default about 2 s) and, when
	// Threads is nil, measures 1 and N threads only.
	Quick bool
	// Threads lists the thread counts to measure; nil means 1, 2, 4, …
	// and N, N being the profile's default thread count.
	Threads []int
	// Kernels restricts the instruction sets (--disable-isa).
	Kernels kernels.Config
	// Profile of the machine (for the cache key and the default thread
	// count); nil probes this host.
	Profile *Profile
	// Recalibrate measures even when a cached calibration exists (the
	// new result replaces it).
	Recalibrate bool
	// NoCache neither reads nor writes the cache.
	NoCache bool
	// CacheDir overrides the cache directory (default CacheDir()).
	CacheDir string
}

// Calibration is what the kernels achieve on this machine: timings of
// real-layer-shaped convolutions, matrix products, pooling and
// elementwise passes at several thread counts, and memory bandwidth.
// Predict turns it into per-layer latencies.
type Calibration struct {
	Key       string    `json:"key"`     // cache key
	Version   string    `json:"version"` // edge version that measured it
	Build     string    `json:"build"`   // Build() of the binary that measured it
	Format    int       `json:"format"`  // CalibrationFormat
	CPUModel  string    `json:"cpu_model"`
	Board     string    `json:"board"`
	Arch      string    `json:"arch"`
	Kernel    string    `json:"kernel"` // GEMM kernel SelectGemm chose
	Quick     bool      `json:"quick"`
	Threads   []int     `json:"threads"` // thread counts measured, ascending
	CreatedAt time.Time `json:"created_at"`
	ElapsedMs float64   `json:"elapsed_ms"`
	// Throttled is true when the board reported throttling or a capped
	// clock while measuring: the numbers are then pessimistic.
	Throttled bool `json:"throttled"`
	// Cached is true when the result came from the cache (not stored).
	Cached bool `json:"-"`

	Shapes []ShapeResult  `json:"shapes"`
	Memory []MemoryResult `json:"memory"`
}

// Layer categories used by calibration and Predict.
const (
	CatConv      = "conv"      // k×k convolution (implicit GEMM)
	CatPointwise = "pointwise" // 1×1 stride-1 unpadded convolution (GEMM)
	CatDepthwise = "depthwise" // group == channels
	CatFC        = "fc"        // Gemm / MatMul
	CatPool      = "pool"      // MaxPool, AveragePool, global pools
	CatElemwise  = "elemwise"  // everything else that moves data
)

// ShapeResult is one measured layer shape at one thread count.
type ShapeResult struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	OpType   string `json:"op_type,omitempty"` // ONNX operator for pool/elemwise shapes
	Threads  int    `json:"threads"`
	// GEMM view of the layer: M = output channels per group, N = output
	// pixels, K = InC/Group·KH·KW (FC: M = rows, N = outputs, K = inputs);
	// zero for pool/elemwise.
	M      int   `json:"m,omitempty"`
	N      int   `json:"n,omitempty"`
	K      int   `json:"k,omitempty"`
	Stride int   `json:"stride,omitempty"` // convolution stride (1 for FC)
	Flops  int64 `json:"flops"`            // 2·MACs
	Bytes  int64 `json:"bytes"`            // input + weights + output bytes
	// Kernel is the implementation the kernels chose; MR×NR its GEMM
	// register tile (0 when none).
	Kernel string `json:"kernel,omitempty"`
	MR     int    `json:"mr,omitempty"`
	NR     int    `json:"nr,omitempty"`
	// Ns is the lower-quartile time of one run; GFLOPS = Flops/Ns.
	Ns     float64 `json:"ns"`
	GFLOPS float64 `json:"gflops"`
	// ComputeGFLOPS is the rate after taking away the per-op overhead:
	// Flops/(Ns − overhead) (see doc.go).
	ComputeGFLOPS float64 `json:"compute_gflops,omitempty"`
	// RateGBs is, for pool/elemwise, the bytes (inputs + outputs) the
	// operator moves per nanosecond, after the overhead.
	RateGBs float64 `json:"rate_gbs,omitempty"`
	// Layer is the LayerSig of a model layer measured by AddLayers
	// ("" for the built-in calibration shapes); Weights its weight bytes.
	Layer   string `json:"layer,omitempty"`
	Weights int64  `json:"weights,omitempty"`
}

// MemoryResult is the copy bandwidth and dispatch overhead at one
// thread count.
type MemoryResult struct {
	Threads    int     `json:"threads"`
	CacheBytes int64   `json:"cache_bytes"` // buffer size of the cache-resident copy
	CacheGBs   float64 `json:"cache_gbs"`   // (read + write bytes) / time
	DRAMBytes  int64   `json:"dram_bytes"`
	DRAMGBs    float64 `json:"dram_gbs"`
	OverheadNs float64 `json:"overhead_ns"` // one tiny convolution on the pool
	// ColdBytes is the weight working set of the cold-weights test: a
	// 512→512 3×3 convolution on 4×4 pixels run in turn over enough
	// copies of its 9.4 MB of weights to total ColdBytes. ColdGBs is the
	// rate at which the evicted weights come back: weight bytes over the
	// extra time per run compared with the cache-hot run (0 = no
	// measurable penalty).
	ColdBytes int64   `json:"cold_bytes,omitempty"`
	ColdGBs   float64 `json:"cold_gbs,omitempty"`
}

// calShape is a calibration workload.
type calShape struct {
	name                string
	cat                 string
	conv                kernels.ConvParams // conv categories
	fcM                 int                // fc: rows
	fcK                 int                // fc: inputs
	fcN                 int                // fc: outputs
	pool                kernels.PoolParams // pool: planes in fcM
	n                   int                // elemwise: elements
	quickOnly, fullOnly bool
	// graph: an ONNX operator run through the runtime as a chain of
	// chain nodes on [1, fcM, hw, hw] tensors.
	op    string
	hw    int
	chain int
}

func conv(name string, inC, hw, outC, k, stride, group int) calShape {
	cat := CatConv
	pad := k / 2
	switch {
	case group == inC && group == outC:
		cat = CatDepthwise
	case k == 1 && stride == 1:
		cat, pad = CatPointwise, 0
	}
	return calShape{name: name, cat: cat, conv: kernels.ConvParams{
		InC: inC, InH: hw, InW: hw, OutC: outC, KH: k, KW: k, StrideH: stride, StrideW: stride,
		DilH: 1, DilW: 1, PadTop: pad, PadLeft: pad, PadBottom: pad, PadRight: pad, Group: group,
		Act: kernels.Activation{Kind: kernels.ActRelu}}}
}

func fullOnly(s calShape) calShape {
	s.fullOnly = true
	return s
}

// calShapes are modelled on real layers: CIFAR/Fashion-MNIST-size
// networks (spatial 32 down to 2) and ImageNet-size ones (224 down to 7).
func calShapes(quick bool) []calShape {
	s := []calShape{
		conv("conv3x3-64c-56px", 64, 56, 64, 3, 1, 1),              // M64 N3136 K576 (ImageNet stage 1)
		conv("conv3x3-128c-28px", 128, 28, 128, 3, 1, 1),           // M128 N784 K1152
		fullOnly(conv("conv3x3-256c-14px", 256, 14, 256, 3, 1, 1)), // M256 N196 K2304
		fullOnly(conv("conv3x3-512c-7px", 512, 7, 512, 3, 1, 1)),   // M512 N49 K4608 (ImageNet stage 4)
		conv("conv3x3-256c-8px", 256, 8, 256, 3, 1, 1),             // M256 N64 K2304 (CIFAR-size)
		conv("conv3x3-512c-4px", 512, 4, 512, 3, 1, 1),             // M512 N16 K4608
		conv("conv3x3-32c-28px", 32, 28, 32, 3, 1, 1),              // M32 N784 K288
		conv("conv3x3-3c-112px", 3, 112, 64, 3, 1, 1),              // small K=27, N12544
		conv("conv3x3-1c-28px", 1, 28, 32, 3, 1, 1),                // small K=9
		conv("conv7x7s2-3c-112px", 3, 112, 64, 7, 2, 1),            // stem K=147, N3136
		conv("conv3x3s2-64c-56px", 64, 56, 128, 3, 2, 1),           // strided M128 N784 K576
		conv("conv1x1s2-64c-56px", 64, 56, 128, 1, 2, 1),           // strided 1×1 downsample K=64
		conv("conv1x1-64c-56px", 64, 56, 64, 1, 1, 1),              // thin K=64
		conv("conv1x1-512c-8px", 512, 8, 64, 1, 1, 1),              // squeeze-like
		conv("conv1x1-16c-32px", 16, 32, 64, 1, 1, 1),              // expand-like K=16
		conv("dwconv3x3-128c-28px", 128, 28, 128, 3, 1, 128),       // depthwise
		{name: "fc-1x512x512", cat: CatFC, fcM: 1, fcK: 512, fcN: 512},
		{name: "fc-1x4096x4096", cat: CatFC, fcM: 1, fcK: 4096, fcN: 4096, fullOnly: true},
		{name: "fc-1x1024x1024", cat: CatFC, fcM: 1, fcK: 1024, fcN: 1024, quickOnly: true},
		{name: "maxpool2x2-64c-56px", cat: CatPool, op: "MaxPool", fcM: 64, pool: kernels.PoolParams{Kind: kernels.PoolMax,
			In: []int{56, 56}, Out: []int{28, 28}, Kernel: []int{2, 2}, Strides: []int{2, 2}, Dilations: []int{1, 1},
			PadsBegin: []int{0, 0}, PadsEnd: []int{0, 0}}},
		{name: "maxpool3x3s2-64c-56px", cat: CatPool, op: "MaxPool", fcM: 64, pool: kernels.PoolParams{Kind: kernels.PoolMax,
			In: []int{56, 56}, Out: []int{28, 28}, Kernel: []int{3, 3}, Strides: []int{2, 2}, Dilations: []int{1, 1},
			PadsBegin: []int{1, 1}, PadsEnd: []int{1, 1}}},
		{name: "relu-200k", cat: CatElemwise, n: 200704},
		{name: "Relu-64c-32px", cat: CatElemwise, op: "Relu", fcM: 64, hw: 32, chain: 8},
		{name: "Add-64c-32px", cat: CatElemwise, op: "Add", fcM: 64, hw: 32, chain: 8},
		{name: "Concat-64c-16px", cat: CatElemwise, op: "Concat", fcM: 64, hw: 16, chain: 1},
	}
	out := s[:0]
	for _, c := range s {
		if quick && c.fullOnly || !quick && c.quickOnly {
			continue
		}
		out = append(out, c)
	}
	return out
}

// ErrCalibration reports a calibration that could not measure anything.
var ErrCalibration = errors.New("device: calibration failed")

// Calibrate measures the kernels on this machine (or returns the cached
// result for the same CPU, board, edge version, build, calibration
// format, kernel and mode). It
// honours ctx: a cancelled context stops the measurement and returns
// ctx.Err().
func Calibrate(ctx context.Context, opts CalibrateOptions) (*Calibration, error) {
	prof := opts.Profile
	if prof == nil {
		var err error
		if prof, err = Probe(ProbeOptions{}); err != nil {
			return nil, err
		}
	}
	threads := opts.Threads
	if len(threads) == 0 {
		n := prof.CPU.Threads
		if n <= 0 {
			n = goruntime.NumCPU()
		}
		// Powers of two and N (Predict interpolates in between); quick
		// mode measures the two ends only.
		for t := 1; t < n; t *= 2 {
			if !opts.Quick || t == 1 {
				threads = append(threads, t)
			}
		}
		threads = append(threads, n)
	}
	threads = slices.Clone(threads)
	for _, t := range threads {
		if t < 1 || t > 1024 {
			return nil, fmt.Errorf("device: calibration thread count %d out of range; use 1..1024", t)
		}
	}
	slices.Sort(threads)
	threads = slices.Compact(threads)

	gemm := kernels.SelectGemm(opts.Kernels)
	key := cacheKey(prof, gemm.Name, opts.Quick, threads)
	dir := opts.CacheDir
	if dir == "" && !opts.NoCache {
		dir, _ = CacheDir()
	}
	if !opts.NoCache && !opts.Recalibrate && dir != "" {
		if c, err := LoadCalibration(dir, key); err == nil {
			c.Cached = true
			return c, nil
		}
	}
	cal, err := measure(ctx, opts, prof, threads, gemm.Name)
	if err != nil {
		return nil, err
	}
	cal.Key = key
	if !opts.NoCache && dir != "" {
		// A cache that cannot be written only costs a re-measurement.
		_ = SaveCalibration(dir, cal)
	}
	return cal, nil
}

// measure runs the micro-benchmarks.
func measure(ctx context.Context, opts CalibrateOptions, prof *Profile, threads []int, kernel string) (*Calibration, error) {
	start := time.Now()
	total := 2 * time.Second
	if opts.Quick {
		total = 500 * time.Millisecond
	}
	// Leave a margin for setup (weight packing, buffer allocation) and
	// for single runs that outlast their share.
	deadline := start.Add(total * 75 / 100)
	cal := &Calibration{
		Version: Version(), Build: buildFingerprint(), Format: CalibrationFormat, CPUModel: prof.CPU.Model, Board: prof.Board.Name, Arch: prof.CPU.Arch,
		Kernel: kernel, Quick: opts.Quick, CreatedAt: start.UTC().Truncate(time.Second),
		Throttled: prof.Thermal.Throttled != nil && !prof.Thermal.Throttled.Trustworthy(),
	}
	shapes := calShapes(opts.Quick)
	runs, err := prepare(opts.Kernels, shapes)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, r := range runs {
			if r.close != nil {
				r.close()
			}
		}
	}()
	// Measure 1 and the largest count first so a deadline hit still
	// leaves both ends.
	order := slices.Clone(threads)
	if len(order) > 2 {
		order = append([]int{threads[0], threads[len(threads)-1]}, threads[1:len(threads)-1]...)
	}
	l2 := int64(prof.CPU.Cache.L2)
	if l2 <= 0 {
		l2 = 512 << 10
	}
	dram := int64(64 << 20)
	if opts.Quick {
		dram = 32 << 20
	}
	// The cold-weights test needs tens of MB of weights: full mode only.
	var cold *coldTest
	if !opts.Quick {
		if cold, err = newColdTest(opts.Kernels, dram, prof.Memory.EffectiveAvailable); err != nil {
			return nil, err
		}
	}
	done := 0
	for i, t := range order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if i > 0 && time.Now().After(deadline) {
			break
		}
		left := time.Until(deadline)
		per := left / time.Duration(len(order)-i)
		pool := kernels.NewPool(t)
		mr := measureMemory(opts.Kernels, pool, t, l2/2, dram, per/6)
		coldBudget := time.Duration(0)
		if cold != nil {
			coldBudget = per / 8
		}
		budget := (per - per/6 - coldBudget) / time.Duration(len(runs))
		for _, r := range runs {
			if err := ctx.Err(); err != nil {
				pool.Close()
				return nil, err
			}
			ns := timeIt(func() { r.run(pool) }, budget)
			if r.cloneBytes > 0 {
				ns = max(ns/2, ns-float64(2*r.cloneBytes)/mr.CacheGBs)
			}
			if r.per > 1 {
				ns /= float64(r.per)
			}
			res := ShapeResult{Name: r.shape.name, Category: r.shape.cat, OpType: r.shape.op, Threads: t, M: r.m, N: r.n, K: r.k, Stride: r.stride,
				Flops: r.flops, Bytes: r.bytes, Ns: ns, Kernel: r.kernel}
			res.MR, res.NR = TileOf(r.kernel)
			if r.flops > 0 {
				res.GFLOPS = float64(r.flops) / ns
			}
			cal.Shapes = append(cal.Shapes, res)
		}
		if cold != nil {
			cold.measure(pool, &mr, coldBudget)
		}
		pool.Close()
		cal.Memory = append(cal.Memory, mr)
		cal.Threads = append(cal.Threads, t)
		done++
	}
	if done == 0 {
		return nil, fmt.Errorf("%w: no thread count measured", ErrCalibration)
	}
	slices.Sort(cal.Threads)
	sort.SliceStable(cal.Memory, func(i, j int) bool { return cal.Memory[i].Threads < cal.Memory[j].Threads })
	cal.derive()
	cal.ElapsedMs = float64(time.Since(start).Microseconds()) / 1000
	return cal, nil
}

// derive fills ComputeGFLOPS and RateGBs from the raw timings, and makes
// the memory rates non-decreasing in the thread count: more threads
// never have less bandwidth (nor fetch evicted weights more slowly), so
// a lower figure at more threads is a neighbour's interference, and the
// figure of fewer threads stands.
func (c *Calibration) derive() {
	for i := 1; i < len(c.Memory); i++ {
		p, m := c.Memory[i-1], &c.Memory[i]
		m.DRAMGBs = max(m.DRAMGBs, p.DRAMGBs)
		switch {
		case p.ColdBytes > 0 && p.ColdGBs == 0:
			m.ColdGBs = 0 // no measurable penalty at fewer threads
		case p.ColdGBs > 0 && m.ColdGBs > 0:
			m.ColdGBs = max(m.ColdGBs, p.ColdGBs)
		}
	}
	for i := range c.Shapes {
		s := &c.Shapes[i]
		ohd := c.memFor(s.Threads).OverheadNs
		// The overhead is measured apart and may exceed a tiny layer's
		// time on a noisy machine: keep at least half of the time.
		net := max(s.Ns-ohd, s.Ns/2)
		switch s.Category {
		case CatPool, CatElemwise:
			s.RateGBs = float64(s.Bytes) / net
		default:
			s.ComputeGFLOPS = float64(s.Flops) / net
		}
	}
}

// calRun is a prepared workload.
type calRun struct {
	shape        calShape
	m, n, k      int
	flops, bytes int64
	weights      int64     // weight bytes (model layers)
	input        []float32 // the layer's input (model layers: read before each timed run)
	kernel       string
	stride       int
	per          int   // operators per run (graph chains)
	cloneBytes   int64 // bytes the runtime copies to return the output (subtracted)
	run          func(pool *kernels.Pool)
	close        func()
}

func prepare(cfg kernels.Config, shapes []calShape) ([]calRun, error) {
	rng := uint32(12345)
	fill := func(n int) []float32 {
		b := make([]float32, n)
		for i := range b {
			rng = rng*1664525 + 1013904223
			b[i] = float32(rng>>9)/float32(1<<23) - 0.5
		}
		return b
	}
	var out []calRun
	for _, s := range shapes {
		r := calRun{shape: s}
		switch s.cat {
		case CatConv, CatPointwise, CatDepthwise:
			p := s.conv
			w := fill(p.OutC * p.InC / p.Group * p.KH * p.KW)
			c, err := kernels.NewConv2D(cfg, p, w, fill(p.OutC))
			if err != nil {
				return nil, fmt.Errorf("device: calibration shape %s: %w", s.name, err)
			}
			in := fill(p.InC * p.InH * p.InW)
			o := make([]float32, p.OutC*p.OutH()*p.OutW())
			ws := make([]float32, c.WorkspaceLen())
			r.m, r.n, r.k = p.OutC/p.Group, p.OutH()*p.OutW(), p.InC/p.Group*p.KH*p.KW
			r.flops = 2 * p.MACs()
			r.bytes = 4 * int64(len(in)+len(w)+len(o))
			r.kernel = c.Kernel()
			r.stride = max(p.StrideH, p.StrideW)
			r.run = func(pool *kernels.Pool) { c.Run(pool, 1, in, o, ws) }
		case CatFC:
			m, k, n := s.fcM, s.fcK, s.fcN
			// As ops.Gemm plans a PyTorch Linear: a packed dense layer.
			a, w, o := fill(m*k), fill(n*k), make([]float32, m*n)
			d, err := kernels.NewDense(cfg, k, n, m, w, nil, kernels.Activation{})
			if err != nil {
				return nil, fmt.Errorf("device: calibration shape %s: %w", s.name, err)
			}
			r.m, r.n, r.k = m, n, k
			r.flops = 2 * int64(m) * int64(n) * int64(k)
			r.bytes = 4 * int64(len(a)+len(w)+len(o))
			r.kernel = d.Kernel()
			r.stride = 1
			r.run = func(pool *kernels.Pool) { d.Run(pool, m, a, o) }
		case CatPool:
			pk, err := kernels.NewPooling(cfg, s.pool)
			if err != nil {
				return nil, fmt.Errorf("device: calibration shape %s: %w", s.name, err)
			}
			in := fill(s.fcM * s.pool.In[0] * s.pool.In[1])
			o := make([]float32, s.fcM*s.pool.Out[0]*s.pool.Out[1])
			r.bytes = 4 * int64(len(in)+len(o))
			r.run = func(pool *kernels.Pool) { pk.Run(pool, s.fcM, in, o, nil) }
		case CatElemwise:
			if s.op != "" {
				gr, err := graphRun(cfg, s)
				if err != nil {
					return nil, fmt.Errorf("device: calibration shape %s: %w", s.name, err)
				}
				r = gr
				break
			}
			u := kernels.SelectUnary(cfg, kernels.UnaryRelu)
			in, o := fill(s.n), make([]float32, s.n)
			r.bytes = 8 * int64(s.n)
			r.run = func(pool *kernels.Pool) { u.Run(pool, o, in, kernels.UnaryParams{}) }
		}
		out = append(out, r)
	}
	return out, nil
}

// timeIt runs fn once (cold), then repeatedly while the budget lasts
// (at most 200 runs) and returns the lower quartile of the warm runs in
// nanoseconds, or the cold time when the budget allowed no second run.
// On a quiet machine the lower quartile is within a few percent of the
// median; on a busy one it keeps the preemptions of a few runs out of
// the kernel's rate (a median of three runs of which two were preempted
// made a calibration 5× too slow on the development machine).
func timeIt(fn func(), budget time.Duration) float64 { return timeQuantile(fn, budget, 0.25) }

// timeQuantile is timeIt returning quantile q of the warm runs.
func timeQuantile(fn func(), budget time.Duration, q float64) float64 {
	start := time.Now()
	c0 := clockNs()
	fn()
	cold := float64(clockNs() - c0)
	var ts []float64
	for time.Since(start) < budget && len(ts) < 200 {
		t0 := clockNs()
		fn()
		ts = append(ts, float64(clockNs()-t0))
	}
	if len(ts) == 0 {
		return max(cold, 1)
	}
	slices.Sort(ts)
	return max(ts[min(len(ts)-1, int(q*float64(len(ts))))], 1)
}

// clockNs is the measurement clock (monotonic wall time; tests may swap
// in a CPU-time clock to validate the model on a busy machine).
var clockNs = func() int64 { return int64(time.Since(clockBase)) }

var clockBase = time.Now()

// measureMemory times a parallel copy of a cache-resident and of a large
// buffer, and the cost of one tiny convolution on the pool.
func measureMemory(cfg kernels.Config, pool *kernels.Pool, threads int, cacheBytes, dramBytes int64, budget time.Duration) MemoryResult {
	copyRate := func(bytes int64, b time.Duration) float64 {
		n := int(bytes / 4)
		src, dst := make([]float32, n), make([]float32, n)
		for i := range src {
			src[i] = float32(i)
		}
		// The fastest copy: bandwidth is a capability of the machine, and
		// a busy neighbour's bursts only ever lower it.
		ns := timeQuantile(func() {
			pool.Parallel(threads, func(lo, hi int) {
				a, z := lo*n/threads, hi*n/threads
				copy(dst[a:z], src[a:z])
			})
		}, b, 0)
		return float64(2*int64(n)*4) / ns
	}
	r := MemoryResult{Threads: threads, CacheBytes: cacheBytes, DRAMBytes: dramBytes}
	r.CacheGBs = copyRate(cacheBytes, budget/3)
	r.DRAMGBs = copyRate(dramBytes, budget/2)
	// Per-op overhead: a tiny convolution (8→8 channels, 4×4 pixels)
	// goes through the same setup, packing and dispatch as a real one.
	tp := kernels.ConvParams{InC: 8, InH: 4, InW: 4, OutC: 8, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Group: 1}
	if tc, err := kernels.NewConv2D(cfg, tp, make([]float32, 64), nil); err == nil {
		in, out := make([]float32, 128), make([]float32, 128)
		r.OverheadNs = timeIt(func() { tc.Run(pool, 1, in, out, nil) }, budget/10)
	}
	return r
}

// memFor returns the memory result for the nearest measured thread count.
func (c *Calibration) memFor(threads int) MemoryResult {
	best := MemoryResult{CacheBytes: 256 << 10, CacheGBs: 10, DRAMBytes: 64 << 20, DRAMGBs: 5, OverheadNs: 1000}
	bestD := math.MaxInt
	for _, m := range c.Memory {
		if d := abs(m.Threads - threads); d < bestD {
			best, bestD = m, d
		}
	}
	return best
}

// bandwidth interpolates the copy bandwidth (bytes/ns = GB/s) for a
// working set of ws bytes at the thread count: the cache rate up to the
// cache buffer size, the DRAM rate from the DRAM buffer size, log-linear
// in between.
func (c *Calibration) bandwidth(threads int, ws int64) float64 {
	m := c.memFor(threads)
	switch {
	case ws <= m.CacheBytes || m.DRAMBytes <= m.CacheBytes:
		return m.CacheGBs
	case ws >= m.DRAMBytes:
		return m.DRAMGBs
	}
	f := math.Log(float64(ws)/float64(m.CacheBytes)) / math.Log(float64(m.DRAMBytes)/float64(m.CacheBytes))
	return math.Exp((1-f)*math.Log(m.CacheGBs) + f*math.Log(m.DRAMGBs))
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// PeakGFLOPS is the best measured convolution rate of the calibration
// shapes (not of AddLayers' model layers, so it does not depend on which
// models were predicted) at the thread count (nearest measured count),
// the figure budget explanations quote.
func (c *Calibration) PeakGFLOPS(threads int) float64 {
	t := c.nearestThreads(threads)
	best := 0.0
	for _, s := range c.Shapes {
		if s.Threads == t && s.Layer == "" && (s.Category == CatConv || s.Category == CatPointwise) {
			best = max(best, s.GFLOPS)
		}
	}
	return best
}

// nearestThreads returns the measured thread count closest to threads
// (the largest for threads <= 0).
func (c *Calibration) nearestThreads(threads int) int {
	if len(c.Threads) == 0 {
		return 1
	}
	if threads <= 0 {
		return c.Threads[len(c.Threads)-1]
	}
	best := c.Threads[0]
	for _, t := range c.Threads {
		if abs(t-threads) < abs(best-threads) {
			best = t
		}
	}
	return best
}

// coldTestWeights is the weight bytes of one copy in the cold test.
const coldTestWeights = 4 * 512 * 512 * 9

// coldTest measures how much slower a layer runs when its weights were
// evicted by the rest of a large model.
type coldTest struct {
	convs   []*kernels.Conv2D
	in, out []float32
	ws      []float32
	weights int64 // bytes per copy
}

// newColdTest prepares copies of a 512→512 3×3 conv on 4×4 pixels whose
// weights total about ws bytes (at most an eighth of the available
// memory); nil when fewer than three copies fit.
func newColdTest(cfg kernels.Config, ws, available int64) (*coldTest, error) {
	p := kernels.ConvParams{InC: 512, InH: 4, InW: 4, OutC: 512, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1,
		PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Group: 1}
	w := make([]float32, 512*512*9)
	for i := range w {
		w[i] = float32(i%13) * 0.01
	}
	ct := &coldTest{weights: 4 * int64(len(w))}
	if available > 0 {
		ws = min(ws, available/8)
	}
	n := int(ws / ct.weights)
	if n < 3 {
		return nil, nil
	}
	for i := 0; i < n; i++ {
		c, err := kernels.NewConv2D(cfg, p, w, nil)
		if err != nil {
			return nil, fmt.Errorf("device: cold-weights test: %w", err)
		}
		ct.convs = append(ct.convs, c)
	}
	ct.in = make([]float32, 512*16)
	ct.out = make([]float32, 512*16)
	ct.ws = make([]float32, ct.convs[0].WorkspaceLen())
	return ct, nil
}

// measure times one copy hot (the same weights every run) and all copies
// in turn (each run's weights evicted by the others) and records the
// rate of the extra traffic in mr.
func (ct *coldTest) measure(pool *kernels.Pool, mr *MemoryResult, budget time.Duration) {
	// Fastest runs of each: the difference of two medians would carry
	// the noise of both.
	hot := timeQuantile(func() { ct.convs[0].Run(pool, 1, ct.in, ct.out, ct.ws) }, budget/2, 0)
	coldAll := timeQuantile(func() {
		for _, c := range ct.convs {
			c.Run(pool, 1, ct.in, ct.out, ct.ws)
		}
	}, budget/2, 0)
	cold := coldAll / float64(len(ct.convs))
	mr.ColdBytes = ct.weights * int64(len(ct.convs))
	if extra := cold - hot; extra > 0.02*hot {
		mr.ColdGBs = float64(ct.weights) / extra
	}
}
