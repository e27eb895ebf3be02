package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/edgeml/edge/cmd/edge/internal/report"
	"github.com/edgeml/edge/compress"
	"github.com/edgeml/edge/data"
	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

var compressCommand = &command{
	name:    "compress",
	summary: "factorize a model's layers (COBLA low-rank) to fit a budget on this device",
	usage: `Usage: edge compress --model M.onnx --out C.onnx [targets] [--calib DATA] [--method cobla|greedy|uniform]
                     [--scheme auto|channel|spatial] [--seed S] [--time-limit 4m20s] [--refit=false] [--finetune N]
                     [--data DATA] [--sweep 0.75,0.5,0.33,0.25] [--report F.html] [--json]

Derives a budget from the targets (as edge budget: --macs, --params,
--latency-ms, --memory-mb, --auto; the tightest wins), decomposes every
Conv (group 1) and Gemm by SVD and chooses per-layer ranks with the
method: cobla (constrained optimization on calibration images, the
default), greedy (maximal product of retained energy) or uniform (same
energy fraction everywhere). Writes a standard ONNX model whose
factorized layers are two Conv or two Gemm nodes; a failed or interrupted
run writes nothing. With calibration images every factorized layer is
then refit to reproduce the original layer's output (--refit=false keeps
the plain SVD factors); --finetune N adds N epochs of distillation
training of the factors within the time limit. --calib defaults to fashion-mnist:train:1024 for
models whose metadata says dataset=fashion-mnist.
With --data the dense and compressed models are evaluated on it; with
--sweep every method is run at each MACs fraction and evaluated on --data
(the accuracy-vs-MACs curve of the report). --report writes a
self-contained HTML page and its JSON twin (F.json). --time-limit bounds
each compression as a whole (default 4m20s, so that the command stays
under 5 minutes); the Go heap is soft-limited to 1 GiB (GOMEMLIMIT
overrides).

Examples:
  edge compress --model fmnist-vgg16.onnx --out vgg16-40.onnx --macs 0.4
  edge compress --model fmnist-resnet18.onnx --out r18.onnx --latency-ms 4 --threads 2
  edge compress --model m.onnx --out c.onnx --params 0.3 --method greedy --json
  edge compress --model fmnist-small.onnx --out s.onnx --macs 0.5 --data fashion-mnist \
      --sweep 0.75,0.5,0.33,0.25 --report report.html`,
	newOpts: func() options {
		return &compressOpts{method: "cobla", scheme: "auto", seed: 1, timeLimit: defaultCompressLimit, refit: true}
	},
}

// defaultCompressLimit bounds the Compress call by default: with loading
// the model and 1024 calibration images and writing the output, the
// whole command stays under 5 minutes (the bar for fmnist-vgg16
// on a 2-core machine).
const defaultCompressLimit = 4*time.Minute + 20*time.Second

type compressOpts struct {
	common
	targets   targetFlags
	out       string
	calib     string
	data      string
	limit     int
	method    string
	scheme    string
	seed      uint64
	timeLimit time.Duration
	sweep     string
	report    string
	refit     bool
	finetune  int
	noBench   bool
}

func (o *compressOpts) flags(fs *flag.FlagSet) {
	o.common.register(fs)
	o.targets.register(fs)
	fs.StringVar(&o.out, "out", "", "write the compressed model to `FILE`")
	fs.StringVar(&o.calib, "calib", "", "calibration images `DATA`: fashion-mnist[:train[:N]] or a directory (labels optional)")
	flagData(fs, &o.data, "")
	fs.IntVar(&o.limit, "limit", 0, "evaluate on the first `N` images of --data only (0 = all)")
	fs.StringVar(&o.method, "method", "cobla", "rank allocation `METHOD`: cobla, greedy or uniform")
	fs.StringVar(&o.scheme, "scheme", "auto", "decomposition `SCHEME`: auto, channel or spatial")
	fs.Uint64Var(&o.seed, "seed", 1, "random `SEED` (rounding, held-out split)")
	fs.DurationVar(&o.timeLimit, "time-limit", o.timeLimit, "bound each compression (solve, rounding, refit, finetune) by `DURATION`")
	fs.StringVar(&o.sweep, "sweep", "", "also compress at each MACs fraction of `LIST` with every method")
	fs.StringVar(&o.report, "report", "", "write an HTML report to `FILE` (and FILE's .json twin)")
	fs.BoolVar(&o.refit, "refit", o.refit, "refit factors to the original layer outputs on the calibration images")
	fs.IntVar(&o.finetune, "finetune", 0, "train the factors by distillation for `N` epochs over the calibration images")
	fs.BoolVar(&o.noBench, "no-bench", false, "do not benchmark dense vs compressed for the report")
}

// CompressReport is the JSON of `edge compress --json`.
type CompressReport struct {
	Model    string `json:"model"`
	Out      string `json:"out"`
	Method   string `json:"method"`
	Scheme   string `json:"scheme"`
	Refit    bool   `json:"refit"`
	Finetune int    `json:"finetune_epochs"`
	// FinetuneKept: the finetuned factors did better on the held-out
	// images and were kept (else the refitted ones were).
	FinetuneKept bool               `json:"finetune_kept"`
	Targets      string             `json:"targets"`
	BudgetMACs   int64              `json:"budget_macs"`
	BudgetParams int64              `json:"budget_params"`
	MACsBefore   int64              `json:"macs_before"`
	MACsAfter    int64              `json:"macs_after"`
	ParamsBefore int64              `json:"params_before"`
	ParamsAfter  int64              `json:"params_after"`
	Ranks        map[string]RankOut `json:"ranks"`
	Seconds      float64            `json:"seconds"`
	// WrittenSeconds is the wall time from the command's start (before
	// loading the model) until the output was written, and
	// WrittenPeakRSSMB the process's peak RSS then: the cost of the
	// compression itself, before any evaluation, benchmark or sweep.
	TimeLimit        string  `json:"time_limit"`
	WrittenSeconds   float64 `json:"written_seconds"`
	WrittenPeakRSSMB float64 `json:"written_peak_rss_mb"`
	Iterations       int     `json:"iterations"`
	// COBLA: why the solver stopped, which allocation was kept, the
	// allocations compared after the refit, and the time of each stage.
	Stop   string                `json:"stop,omitempty"`
	Chosen string                `json:"chosen,omitempty"`
	Guard  []compress.GuardEntry `json:"guard,omitempty"`
	Stages []compress.StageTime  `json:"stages,omitempty"`
	Calib  string                `json:"calib,omitempty"`
	// Held-out calibration images (labels needed for top-1).
	Top1Before *float64 `json:"top1_before"`
	Top1After  *float64 `json:"top1_after"`
	// Evaluation on --data.
	Eval   *EvalPair            `json:"eval,omitempty"`
	Sweep  []report.SweepPoint  `json:"sweep,omitempty"`
	Report string               `json:"report,omitempty"`
	Layers []compress.Rank      `json:"layers"`
	Bench  map[string]*BenchOut `json:"bench,omitempty"`
}

// RankOut is one layer's kept and full rank.
type RankOut struct {
	Kept  int  `json:"kept"`
	Full  int  `json:"full"`
	Dense bool `json:"dense"`
}

// EvalPair is dense vs compressed accuracy on the evaluation data.
type EvalPair struct {
	Data       string   `json:"data"`
	N          int      `json:"n"`
	Top1Before *float64 `json:"top1_before"`
	Top1After  *float64 `json:"top1_after"`
	Top5Before *float64 `json:"top5_before"`
	Top5After  *float64 `json:"top5_after"`
}

// BenchOut is one model's speed in the report.
type BenchOut struct {
	P50Ms      float64 `json:"p50_ms"`
	ImagesPerS float64 `json:"images_per_s"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	ModelBytes int64   `json:"model_bytes"`
}

// parseSweep parses "0.75,0.5,0.33".
func parseSweep(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || v > 1 {
			return nil, usagef("--sweep %q: give MACs fractions in (0, 1], e.g. 0.75,0.5,0.33,0.25", s)
		}
		out = append(out, v)
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(out)))
	return out, nil
}

// compressHeapLimit is the Go heap's soft limit during edge compress
// (unless GOMEMLIMIT is set): the calibration network, the factors and
// the SVD scratch of fmnist-vgg16 live in well under 1 GiB, and without a
// limit the collector lets the heap double (peak RSS 1.48 GB measured,
// 0.92 GB with the limit, same time).
const compressHeapLimit = 1 << 30

func (o *compressOpts) run(e *env, args []string) error {
	begin := time.Now()
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(compressHeapLimit))
	}
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	if o.out == "" {
		return usagef("--out is required")
	}
	tg, err := o.targets.parse()
	if err != nil {
		return err
	}
	if describeTargets(tg) == "" {
		return usagef("give a budget target: --macs, --params, --latency-ms, --memory-mb or --auto")
	}
	method, err := compress.ParseMethod(o.method)
	if err != nil {
		return usagef("%v", err)
	}
	scheme, err := compress.ParseScheme(o.scheme)
	if err != nil {
		return usagef("%v", err)
	}
	var fractions []float64
	if o.sweep != "" {
		if fractions, err = parseSweep(o.sweep); err != nil {
			return err
		}
		if o.data == "" {
			return usagef("--sweep needs --data to evaluate each compression on")
		}
	}
	if o.timeLimit < 0 || o.limit < 0 {
		return usagef("--time-limit and --limit must not be negative")
	}
	sopts, err := o.sessionOptions()
	if err != nil {
		return err
	}
	m, err := o.loadModel()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	br, err := deriveBudget(e, m, sopts, tg, false, o.report != "")
	if err != nil {
		return err
	}
	// Calibration images.
	calibSpec := o.calib
	if calibSpec == "" && m.Info().Metadata["dataset"] == "fashion-mnist" {
		calibSpec = "fashion-mnist:train:1024"
		e.logf("calibration: %s (the model's dataset; --calib overrides)", calibSpec)
	}
	var calib compress.Calibration
	if calibSpec != "" {
		ds, err := data.Open(calibSpec, "train")
		if err != nil {
			return err
		}
		if calib.Images, calib.Labels, err = loadImages(m, ds); err != nil {
			return err
		}
	}
	var evalDS data.Dataset
	if o.data != "" {
		if evalDS, err = data.Open(o.data, "test"); err != nil {
			return err
		}
		if o.limit > 0 {
			evalDS = data.Slice(evalDS, 0, o.limit)
		}
	}
	refit := o.refit && calib.Images != nil
	if o.refit && !refit {
		e.logf("refit: off (no calibration images; give --calib to refit the factors)")
	}
	if o.finetune < 0 {
		return usagef("--finetune %d: give a number of epochs ≥ 0", o.finetune)
	}
	copts := compress.Options{Method: method, Scheme: scheme, Budget: compressBudget(br.Budget, br.MACs, br.Params), Calib: calib,
		Seed: o.seed, TimeLimit: o.timeLimit, Threads: sopts.Threads, Kernels: sopts.Kernels, DataAware: refit,
		Finetune: o.finetune, SourceSHA256: hashFile(o.model)}
	res, err := runCompress(e, ctx, m, copts, "compress "+string(method))
	if err != nil {
		return impossible(err)
	}
	if err := res.Write(o.out); err != nil {
		return err
	}
	os.Chmod(o.out, 0o644) // compress writes through a private temp file
	written, writtenRSS := time.Since(begin).Seconds(), float64(peakRSSBytes())/(1<<20)
	e.logf("wrote %s (%s → %s MACs, %s → %s params) in %.1f s", o.out, humanCount(res.MACsBefore), humanCount(res.MACsAfter), humanCount(res.ParamsBefore), humanCount(res.ParamsAfter), res.Seconds)

	out := CompressReport{Model: o.model, Out: o.out, Method: string(method), Scheme: scheme.String(), Refit: refit, Finetune: o.finetune, FinetuneKept: res.FinetuneKept, Targets: describeTargets(tg),
		BudgetMACs: copts.Budget.MACs, BudgetParams: copts.Budget.Params,
		MACsBefore: res.MACsBefore, MACsAfter: res.MACsAfter, ParamsBefore: res.ParamsBefore, ParamsAfter: res.ParamsAfter,
		Ranks: map[string]RankOut{}, Seconds: res.Seconds, TimeLimit: o.timeLimit.String(), WrittenSeconds: written, WrittenPeakRSSMB: writtenRSS, Iterations: res.Iterations, Calib: calibSpec,
		Stop: res.Stop, Chosen: res.Chosen, Guard: res.Guard, Stages: res.Stages,
		Top1Before: nanToNil(res.HeldOutTop1Before), Top1After: nanToNil(res.HeldOutTop1After), Layers: res.Ranks}
	for _, r := range res.Ranks {
		out.Ranks[r.Layer] = RankOut{Kept: r.Kept, Full: r.Full, Dense: r.Dense}
	}
	var cm *runtime.Model
	if evalDS != nil || o.report != "" {
		if cm, err = runtime.Load(o.out); err != nil {
			return fmt.Errorf("loading the compressed model back: %w", err)
		}
	}
	rep := &report.Report{Title: "edge compress: " + o.model, Generated: time.Now().UTC().Format(time.RFC3339), Version: versionString(),
		Device: reportDevice(br.Profile, br.Cal),
		Budget: report.Budget{Targets: out.Targets, MACs: br.BudgetMACs, Params: br.BudgetParams, WeightBytes: br.BudgetBytes,
			PredictedMs: br.BudgetPredMs, Binding: br.Binding, Explanation: br.Explanation},
		Model: report.Model{Name: o.model, SHA256: copts.SourceSHA256, Output: o.out, Method: string(method), Scheme: scheme.String(),
			MACsBefore: res.MACsBefore, MACsAfter: res.MACsAfter, ParamsBefore: res.ParamsBefore, ParamsAfter: res.ParamsAfter, Seconds: res.Seconds},
		Layers: reportLayers(res.Ranks), CalibData: calibSpec,
	}
	if evalDS != nil {
		rep.EvalData = fmt.Sprintf("%s (%d images)", evalDS.Name(), evalDS.Len())
		d1, d5, err := accuracy(e, m, evalDS, sopts, "eval dense")
		if err != nil {
			return err
		}
		c1, c5, err := accuracy(e, cm, evalDS, sopts, "eval compressed")
		if err != nil {
			return err
		}
		out.Eval = &EvalPair{Data: evalDS.Name(), N: evalDS.Len(), Top1Before: d1, Top1After: c1, Top5Before: d5, Top5After: c5}
		rep.Dense = &report.Measure{Top1: d1, Top5: d5, N: evalDS.Len(), MACs: res.MACsBefore, Params: res.ParamsBefore, ModelBytes: fileSize(o.model)}
		rep.Compact = &report.Measure{Top1: c1, Top5: c5, N: evalDS.Len(), MACs: res.MACsAfter, Params: res.ParamsAfter, ModelBytes: fileSize(o.out)}
	}
	if o.report != "" && !o.noBench {
		if rep.Dense == nil {
			rep.Dense = &report.Measure{MACs: res.MACsBefore, Params: res.ParamsBefore, ModelBytes: fileSize(o.model)}
			rep.Compact = &report.Measure{MACs: res.MACsAfter, Params: res.ParamsAfter, ModelBytes: fileSize(o.out)}
		}
		out.Bench = map[string]*BenchOut{}
		for _, x := range []struct {
			name, path string
			m          *report.Measure
		}{{"dense", o.model, rep.Dense}, {"compressed", o.out, rep.Compact}} {
			b, err := benchSubprocess(e, x.path, sopts.Threads, o.disableISA)
			if err != nil {
				return err
			}
			x.m.P50Ms, x.m.ImagesPerS, x.m.PeakRSSMB = b.P50MS, b.ImagesPerS, b.PeakRSSMB
			out.Bench[x.name] = &BenchOut{P50Ms: b.P50MS, ImagesPerS: b.ImagesPerS, PeakRSSMB: b.PeakRSSMB, ModelBytes: x.m.ModelBytes}
		}
	}
	if len(fractions) > 0 {
		// The main result is reused at its own fraction when the sweep
		// would rerun it with the same options (cobla, a MACs budget).
		main := sweepMain{res: res}
		if copts.Budget.Params == 0 && method == compress.MethodCOBLA {
			main.fraction = float64(copts.Budget.MACs) / float64(m.Info().MACs)
			main.top1 = out.Eval.Top1After
		}
		pts, err := sweep(e, ctx, m, evalDS, fractions, copts, sopts, main)
		if err != nil {
			return err
		}
		out.Sweep, rep.Sweep = pts, pts
	}
	if o.report != "" {
		if err := writeReport(o.report, jsonPathFor(o.report), rep); err != nil {
			return err
		}
		out.Report = o.report
		e.logf("wrote %s and %s", o.report, jsonPathFor(o.report))
	}
	if o.json {
		return e.printJSON(out)
	}
	printCompress(e, &out)
	return nil
}

// sweepMain is the command's own COBLA result, reused by the sweep at
// its fraction (fraction 0: not reusable) with its evaluated top-1.
type sweepMain struct {
	res      *compress.Result
	fraction float64
	top1     *float64
}

// sweep compresses m at each MACs fraction with every method and
// evaluates each result on ds. With the refit or the finetune on, each
// COBLA result's plain SVD factors are evaluated too (method
// "cobla-plain"), at no extra compression.
func sweep(e *env, ctx context.Context, m *runtime.Model, ds data.Dataset, fractions []float64, base compress.Options, sopts runtime.Options, main sweepMain) ([]report.SweepPoint, error) {
	info := m.Info()
	var pts []report.SweepPoint
	eval := func(g *ir.Graph, label string) (*float64, error) {
		cm, err := runtime.FromGraph(g)
		if err != nil {
			return nil, err
		}
		t1, _, err := accuracy(e, cm, ds, sopts, label+" eval")
		return t1, err
	}
	add := func(meth string, f float64, res *compress.Result, t1 *float64) {
		p := report.SweepPoint{Method: meth, Fraction: f, MACs: res.MACsAfter, Params: res.ParamsAfter, Top1: math.NaN(), Seconds: res.Seconds,
			Iterations: res.Iterations, Stop: res.Stop, Chosen: res.Chosen}
		if t1 != nil {
			p.Top1 = *t1
		}
		pts = append(pts, p)
		e.logf("sweep %-11s %.2f: %s MACs, top-1 %.4f (%.1f s)", meth, f, humanCount(res.MACsAfter), p.Top1, res.Seconds)
	}
	for _, f := range fractions {
		for _, meth := range []compress.Method{compress.MethodCOBLA, compress.MethodGreedy, compress.MethodUniform} {
			opts := base
			opts.Method = meth
			opts.Budget = compress.Budget{MACs: int64(f * float64(info.MACs))}
			label := fmt.Sprintf("sweep %s %.2f", meth, f)
			res, t1 := (*compress.Result)(nil), (*float64)(nil)
			if meth == compress.MethodCOBLA && main.fraction > 0 && math.Abs(float64(opts.Budget.MACs-base.Budget.MACs)) <= 1e-6*float64(info.MACs) {
				res, t1 = main.res, main.top1
				e.logf("sweep %s %.2f: the main result", meth, f)
			} else {
				var err error
				if res, err = runCompress(e, ctx, m, opts, label); err != nil {
					return nil, fmt.Errorf("sweep at %.2f with %s: %w", f, meth, impossible(err))
				}
				if t1, err = eval(res.Graph, label); err != nil {
					return nil, fmt.Errorf("sweep at %.2f with %s: %w", f, meth, err)
				}
			}
			add(string(meth), f, res, t1)
			if meth == compress.MethodCOBLA && res.Plain != nil {
				t1, err := eval(res.Plain, label+" plain")
				if err != nil {
					return nil, fmt.Errorf("sweep at %.2f with %s (plain factors): %w", f, meth, err)
				}
				add(string(meth)+"-plain", f, res, t1)
			}
		}
	}
	return pts, nil
}

func printCompress(e *env, r *CompressReport) {
	w := e.stdout
	fmt.Fprintf(w, "model    %s → %s\n", r.Model, r.Out)
	fmt.Fprintf(w, "method   %s (scheme %s), %d iterations, %.1f s\n", r.Method, r.Scheme, r.Iterations, r.Seconds)
	if r.Stop != "" {
		fmt.Fprintf(w, "solver   stopped: %s; kept: %s\n", r.Stop, r.Chosen)
	}
	fmt.Fprintf(w, "targets  %s\n", r.Targets)
	fmt.Fprintf(w, "MACs     %s → %s (%.1f%%)\n", humanCount(r.MACsBefore), humanCount(r.MACsAfter), 100*float64(r.MACsAfter)/float64(r.MACsBefore))
	fmt.Fprintf(w, "params   %s → %s (%.1f%%)\n", humanCount(r.ParamsBefore), humanCount(r.ParamsAfter), 100*float64(r.ParamsAfter)/float64(r.ParamsBefore))
	if r.Top1Before != nil && r.Top1After != nil {
		fmt.Fprintf(w, "held-out top-1  %.4f → %.4f (calibration images not used by the solver)\n", *r.Top1Before, *r.Top1After)
	}
	if r.Eval != nil && r.Eval.Top1Before != nil {
		fmt.Fprintf(w, "top-1    %.4f → %.4f on %s (%d images)\n", *r.Eval.Top1Before, *r.Eval.Top1After, r.Eval.Data, r.Eval.N)
	}
	for _, k := range []string{"dense", "compressed"} {
		if b := r.Bench[k]; b != nil {
			fmt.Fprintf(w, "%-10s p50 %.3f ms, %.1f images/s, peak RSS %.1f MB, %s\n", k, b.P50Ms, b.ImagesPerS, b.PeakRSSMB, humanBytes(b.ModelBytes))
		}
	}
	rows := [][]string{{"layer", "op", "scheme", "kept/full", "MACs before", "MACs after"}}
	for _, l := range r.Layers {
		sch := l.Scheme
		if l.Dense {
			sch = "dense"
		}
		rows = append(rows, []string{trunc(l.Layer, 36), l.OpType, sch, fmt.Sprintf("%d/%d", l.Kept, l.Full), humanCount(l.MACsBefore), humanCount(l.MACsAfter)})
	}
	fmt.Fprintln(w)
	printTable(w, rows)
	if len(r.Sweep) > 0 {
		rows = [][]string{{"fraction", "method", "MACs", "top-1", "seconds"}}
		for _, p := range r.Sweep {
			rows = append(rows, []string{fmt.Sprintf("%.2f", p.Fraction), p.Method, humanCount(p.MACs), fmt.Sprintf("%.4f", p.Top1), fmt.Sprintf("%.1f", p.Seconds)})
		}
		fmt.Fprintln(w)
		printTable(w, rows)
	}
	if r.Report != "" {
		fmt.Fprintf(w, "\nreport   %s\n", r.Report)
	}
}

// versionString is the version line of reports.
func versionString() string {
	v, rev := buildVersion()
	if rev != "" {
		return v + " (" + rev[:min(12, len(rev))] + ")"
	}
	return v
}
