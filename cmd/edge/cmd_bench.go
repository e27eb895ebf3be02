package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgeml/edge/data"
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

var benchCommand = &command{
	name:    "bench",
	summary: "measure inference latency, throughput and peak memory, or GEMM GFLOPS",
	usage: `Usage: edge bench --model M.onnx [--threads N] [--batch B] [--iters N] [--json] [-v] [--profile]
       edge bench --gemm M,N,K [--threads N] [--json]

With --model: runs the model on random input (seeded) after two warm-up
runs and prints latency min/p50/p90/p99/mean in ms, images/s (batch / mean
latency) and the process's peak RSS (VmHWM). --iters 0 picks a count that
takes about --time. -v lists the plan's layers with the kernel chosen for
each (no silent fallbacks). --profile times every layer during the timed
runs and lists each with its mean ms, share of the total and GFLOP/s.
With --gemm: times C = A·B (row-major, M×K times K×N) with the GEMM kernel
selected for this CPU and prints GFLOP/s.

Examples:
  edge bench --model fmnist-resnet18.onnx --threads 2
  edge bench --model squeezenet.onnx --batch 8 --iters 100 --json
  edge bench --model fmnist-small.onnx -v --disable-isa avx512
  edge bench --model fmnist-resnet18.onnx --profile --json
  edge bench --gemm 1024,1024,1024 --threads 1 --json`,
	newOpts: func() options { return &benchOpts{batch: 1, budget: 2 * time.Second} },
}

type benchOpts struct {
	common
	batch   int
	iters   int
	budget  time.Duration
	size    string
	gemm    string
	verbose bool
	profile bool
}

func (o *benchOpts) flags(fs *flag.FlagSet) {
	o.common.register(fs)
	fs.IntVar(&o.batch, "batch", 1, "`B` images per inference")
	fs.IntVar(&o.iters, "iters", 0, "`N` timed inferences (0 = as many as fit in --time, at least 10)")
	fs.DurationVar(&o.budget, "time", 2*time.Second, "target `DURATION` of the timed runs when --iters is 0")
	fs.StringVar(&o.size, "size", "", "input size `HxW` when the model leaves it open")
	fs.StringVar(&o.gemm, "gemm", "", "benchmark one SGEMM of size `M,N,K` instead of a model")
	fs.BoolVar(&o.verbose, "v", false, "print the plan's layers and kernels")
	fs.BoolVar(&o.profile, "profile", false, "time every layer and print the per-layer profile")
}

// BenchReport is the JSON of `edge bench --model --json`.
type BenchReport struct {
	Model           string       `json:"model"`
	Threads         int          `json:"threads"`
	Batch           int          `json:"batch"`
	Iters           int          `json:"iters"`
	MinMS           float64      `json:"min_ms"`
	P50MS           float64      `json:"p50_ms"`
	P90MS           float64      `json:"p90_ms"`
	P99MS           float64      `json:"p99_ms"`
	MeanMS          float64      `json:"mean_ms"`
	ImagesPerS      float64      `json:"images_per_s"`
	PeakRSSMB       float64      `json:"peak_rss_mb"`
	MACs            int64        `json:"macs"` // per image
	Params          int64        `json:"params"`
	WeightBytes     int64        `json:"weight_bytes"`
	ActivationBytes int64        `json:"activation_bytes"` // planned peak, batch 1
	ModelBytes      int64        `json:"model_bytes"`      // file size
	GEMMKernel      string       `json:"gemm_kernel"`
	Layers          []BenchLayer `json:"layers,omitempty"`
}

// BenchLayer is one executed operator (with -v or --profile). The timing
// fields are set with --profile: MS is the layer's mean time per
// inference, Share its fraction of the summed layer times and GFLOPS
// 2·MACs·batch over MS.
type BenchLayer struct {
	Name   string  `json:"name"`
	Op     string  `json:"op"`
	Kernel string  `json:"kernel"`
	Fused  string  `json:"fused,omitempty"`
	Output string  `json:"output"`
	MACs   int64   `json:"macs"`
	MS     float64 `json:"ms,omitempty"`
	Share  float64 `json:"share,omitempty"`
	GFLOPS float64 `json:"gflops,omitempty"`
}

// GEMMReport is the JSON of `edge bench --gemm --json`.
type GEMMReport struct {
	M       int     `json:"m"`
	N       int     `json:"n"`
	K       int     `json:"k"`
	Threads int     `json:"threads"`
	Kernel  string  `json:"kernel"`
	Iters   int     `json:"iters"`
	MS      float64 `json:"ms"` // per call, best of the runs
	GFLOPS  float64 `json:"gflops"`
}

func (o *benchOpts) run(e *env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	if o.batch < 1 || o.iters < 0 || o.budget <= 0 {
		return usagef("--batch must be ≥ 1, --iters ≥ 0 and --time positive")
	}
	sopts, err := o.sessionOptions()
	if err != nil {
		return err
	}
	if o.gemm != "" {
		if o.model != "" {
			return usagef("give either --model or --gemm")
		}
		return o.runGEMM(e, sopts)
	}
	m, err := o.loadModel()
	if err != nil {
		return err
	}
	sopts.Profile = o.profile
	rep, err := benchModel(e, m, sopts, o.batch, o.iters, o.budget, o.size, o.verbose)
	if err != nil {
		return err
	}
	rep.Model = o.model
	rep.ModelBytes = fileSize(o.model)
	if o.json {
		return e.printJSON(rep)
	}
	printBench(e, rep)
	return nil
}

// benchInput builds a seeded random input for batch images.
func benchInput(m *runtime.Model, batch int, size string) (map[string]*ir.Tensor, error) {
	ins := m.Inputs()
	rng := rand.New(rand.NewPCG(1, 1))
	feeds := map[string]*ir.Tensor{}
	for _, vi := range ins {
		shape := append([]int(nil), vi.Shape...)
		if len(shape) > 0 {
			shape[0] = batch
		}
		if size != "" && len(shape) == 4 {
			h, w, err := data.ParseSize(size)
			if err != nil {
				return nil, usagef("--size: %v", err)
			}
			shape[2], shape[3] = h, w
		}
		for i, d := range shape {
			if d < 0 {
				return nil, fmt.Errorf("input %q has shape %v with unknown dimension %d; pass --size HxW", vi.Name, vi.Shape, i)
			}
		}
		if vi.DType != ir.Float32 && vi.DType != ir.Undefined {
			return nil, fmt.Errorf("input %q is %v; edge bench feeds float32 inputs only", vi.Name, vi.DType)
		}
		t := ir.NewTensor(ir.Float32, ir.Shape(shape))
		for i := range t.F32 {
			t.F32[i] = float32(rng.NormFloat64())
		}
		feeds[vi.Name] = t
	}
	return feeds, nil
}

func benchModel(e *env, m *runtime.Model, sopts runtime.Options, batch, iters int, budget time.Duration, size string, verbose bool) (BenchReport, error) {
	info := m.Info()
	rep := BenchReport{Batch: batch, MACs: info.MACs, Params: info.Params, WeightBytes: info.WeightBytes,
		ActivationBytes: info.PeakActivationBytes, GEMMKernel: kernels.SelectGemm(sopts.Kernels).Name}
	feeds, err := benchInput(m, batch, size)
	if err != nil {
		return rep, err
	}
	sess, err := m.NewSession(sopts)
	if err != nil {
		return rep, err
	}
	defer sess.Close()
	rep.Threads = sess.Threads()
	// Warm-up: plans the model for this shape and touches the arena.
	// The runs write their results into the same tensors (RunIRTo), so
	// that the timed loop leaves no garbage and the peak RSS does not
	// grow with the number of runs.
	var out map[string]*ir.Tensor
	t0 := time.Now()
	for i := 0; i < 2; i++ {
		if out, err = sess.RunIRTo(out, feeds); err != nil {
			return rep, err
		}
	}
	first := time.Since(t0) / 2
	sess.ResetProfile()
	if iters == 0 {
		iters = int(budget / max(first, time.Microsecond))
		iters = max(10, min(iters, 2000))
	}
	bar := e.newProgress("bench", float64(iters))
	lat := make([]float64, iters)
	for i := range lat {
		t := time.Now()
		if out, err = sess.RunIRTo(out, feeds); err != nil {
			bar.Done()
			return rep, err
		}
		lat[i] = float64(time.Since(t)) / 1e6
		bar.Set(float64(i + 1))
	}
	bar.Done()
	rep.Iters = iters
	rep.MinMS, rep.P50MS, rep.P90MS, rep.P99MS, rep.MeanMS = latencyStats(lat)
	rep.ImagesPerS = float64(batch) * 1000 / rep.MeanMS
	rep.PeakRSSMB = float64(peakRSSBytes()) / (1 << 20)
	if sopts.Profile {
		rep.Layers = profileLayers(sess.Profile(), batch)
		if layers, err := m.Layers(batch, sopts); err == nil && len(layers) == len(rep.Layers) {
			for i, l := range layers {
				if len(l.Outputs) > 0 {
					rep.Layers[i].Output = l.Outputs[0].String()
				}
			}
		}
	} else if verbose {
		layers, err := m.Layers(batch, sopts)
		if err != nil {
			return rep, err
		}
		for _, l := range layers {
			out := ""
			if len(l.Outputs) > 0 {
				out = l.Outputs[0].String()
			}
			k := l.Kernel
			if k == "" {
				k = "-"
			}
			rep.Layers = append(rep.Layers, BenchLayer{Name: l.Name, Op: l.OpType, Kernel: k, Fused: l.Fused, Output: out, MACs: l.MACs})
		}
	}
	return rep, nil
}

// profileLayers turns a session profile into report rows.
func profileLayers(prof []runtime.LayerProfile, batch int) []BenchLayer {
	var sum time.Duration
	for _, l := range prof {
		sum += l.Mean()
	}
	rows := make([]BenchLayer, len(prof))
	for i, l := range prof {
		k := l.Kernel
		if k == "" {
			k = "-"
		}
		mean := l.Mean()
		r := BenchLayer{Name: l.Name, Op: l.OpType, Kernel: k, Fused: l.Fused, MACs: l.MACs, MS: float64(mean) / 1e6}
		if sum > 0 {
			r.Share = float64(mean) / float64(sum)
		}
		if mean > 0 {
			r.GFLOPS = 2 * float64(l.MACs) * float64(batch) / mean.Seconds() / 1e9
		}
		rows[i] = r
	}
	return rows
}

// latencyStats returns min, p50, p90, p99 and mean of lat (ms).
func latencyStats(lat []float64) (mn, p50, p90, p99, mean float64) {
	s := append([]float64(nil), lat...)
	sort.Float64s(s)
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	for _, v := range s {
		mean += v
	}
	return s[0], pct(0.50), pct(0.90), pct(0.99), mean / float64(len(s))
}

func printBench(e *env, r BenchReport) {
	w := e.stdout
	fmt.Fprintf(w, "model     %s (%s, %s MACs/image, %s params)\n", r.Model, humanBytes(r.ModelBytes), humanCount(r.MACs), humanCount(r.Params))
	fmt.Fprintf(w, "setup     batch %d, %d threads, gemm %s, %d runs\n", r.Batch, r.Threads, r.GEMMKernel, r.Iters)
	fmt.Fprintf(w, "latency   min %.3f  p50 %.3f  p90 %.3f  p99 %.3f  mean %.3f ms\n", r.MinMS, r.P50MS, r.P90MS, r.P99MS, r.MeanMS)
	fmt.Fprintf(w, "speed     %.1f images/s\n", r.ImagesPerS)
	fmt.Fprintf(w, "memory    peak RSS %.1f MB (weights %s, planned activations %s)\n", r.PeakRSSMB, humanBytes(r.WeightBytes), humanBytes(r.ActivationBytes))
	if len(r.Layers) == 0 {
		return
	}
	profiled := false
	for _, l := range r.Layers {
		profiled = profiled || l.MS > 0
	}
	head := []string{"#", "layer", "op", "kernel", "fused", "output", "MACs"}
	if profiled {
		head = append(head, "ms", "share", "GFLOP/s")
	}
	rows := [][]string{head}
	for i, l := range r.Layers {
		row := []string{fmt.Sprint(i), trunc(l.Name, 32), l.Op, l.Kernel, l.Fused, l.Output, humanCount(l.MACs)}
		if profiled {
			gf := "-"
			if l.MACs > 0 {
				gf = fmt.Sprintf("%.1f", l.GFLOPS)
			}
			row = append(row, fmt.Sprintf("%.3f", l.MS), fmt.Sprintf("%.1f%%", 100*l.Share), gf)
		}
		rows = append(rows, row)
	}
	fmt.Fprintln(w)
	printTable(w, rows)
}

func (o *benchOpts) runGEMM(e *env, sopts runtime.Options) error {
	var dims [3]int
	parts := strings.Split(o.gemm, ",")
	if len(parts) != 3 {
		return usagef("--gemm %q: give M,N,K, e.g. 1024,1024,1024", o.gemm)
	}
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 1 || v > 1<<15 {
			return usagef("--gemm %q: sizes must be integers in 1..32768", o.gemm)
		}
		dims[i] = v
	}
	m, n, k := dims[0], dims[1], dims[2]
	if int64(m)*int64(k)+int64(k)*int64(n)+int64(m)*int64(n) > 1<<28 {
		return fmt.Errorf("--gemm %d,%d,%d needs more than 1 GiB of matrices", m, n, k)
	}
	threads := sopts.Threads
	if threads <= 0 {
		threads = goruntime.NumCPU()
	}
	g := kernels.SelectGemm(sopts.Kernels)
	pool := kernels.NewPool(threads)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for i := range a {
		a[i] = rng.Float32() - 0.5
	}
	for i := range b {
		b[i] = rng.Float32() - 0.5
	}
	call := func() { g.Sgemm(pool, false, false, m, n, k, 1, a, k, b, n, 0, c, n) }
	call() // warm-up: packing buffers, page faults
	// Best of 5 rounds, each ≥ 0.2 s (≥ 1 call).
	best, iters := math.Inf(1), 0
	bar := e.newProgress("gemm", 5)
	for round := 0; round < 5; round++ {
		t := time.Now()
		calls := 0
		for calls == 0 || time.Since(t) < 200*time.Millisecond {
			call()
			calls++
		}
		best = math.Min(best, time.Since(t).Seconds()/float64(calls))
		iters += calls
		bar.Set(float64(round + 1))
	}
	bar.Done()
	rep := GEMMReport{M: m, N: n, K: k, Threads: threads, Kernel: g.Name, Iters: iters, MS: best * 1e3,
		GFLOPS: 2 * float64(m) * float64(n) * float64(k) / best / 1e9}
	if o.json {
		return e.printJSON(rep)
	}
	fmt.Fprintf(e.stdout, "sgemm %d×%d×%d  %d threads  %s\n%.3f ms/call  %.1f GFLOP/s\n", m, n, k, threads, g.Name, rep.MS, rep.GFLOPS)
	return nil
}
