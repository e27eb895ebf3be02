package compress

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

// Method is a rank-allocation method.
type Method string

// Methods.
const (
	MethodCOBLA   Method = "cobla"   // constrained optimization (default)
	MethodGreedy  Method = "greedy"  // Zhang et al.: max product of retained energies
	MethodUniform Method = "uniform" // same energy fraction in every layer
)

// ParseMethod parses "cobla", "greedy" or "uniform" ("" is cobla).
func ParseMethod(s string) (Method, error) {
	switch Method(strings.ToLower(s)) {
	case "", MethodCOBLA:
		return MethodCOBLA, nil
	case MethodGreedy:
		return MethodGreedy, nil
	case MethodUniform:
		return MethodUniform, nil
	}
	return "", fmt.Errorf("compress: unknown method %q; use cobla, greedy or uniform", s)
}

// ErrNoCalibration is returned when a method needs calibration images
// and none were given.
var ErrNoCalibration = errors.New("compress: calibration images are required")

// Budget is an absolute whole-network budget per image; a zero field is
// no constraint, and at least one must be set.
type Budget struct {
	MACs   int64 // multiply-accumulates per image
	Params int64 // weight + bias elements
}

// Calibration holds preprocessed calibration images (N×C×H×W float32,
// the model's input layout) and optionally their labels (len N).
type Calibration struct {
	Images *ir.Tensor
	Labels []int
}

// Progress reports the solver's state to a progress bar.
type Progress struct {
	Stage     string // "decompose", "solve", "round", "refit", "finetune"
	Iter      int    // current iteration of the stage
	MaxIter   int    // iterations planned for the stage
	Objective float64
	Elapsed   time.Duration // since Compress started
	ETA       time.Duration // estimated time left for the stage (0: unknown)
}

// Options configure Compress. The zero value of each field is a sensible
// default except Budget, which must be set.
type Options struct {
	Method Method
	Scheme Scheme
	Budget Budget
	Calib  Calibration
	// HeldOut is the fraction of calibration images kept out of the
	// optimization to judge roundings (default 0.25; 0 < HeldOut < 1).
	HeldOut float64
	Seed    uint64
	// TimeLimit bounds the whole Compress call — decomposition, solve,
	// rounding and judgement, refit, finetune (0: none). The solver stops
	// early to leave the measured time of what follows; the stochastic
	// roundings, the refit and the finetune are cut short at the limit.
	TimeLimit time.Duration
	// MaxIter bounds SQP iterations (default 25).
	MaxIter int
	// Roundings is the number of stochastic roundings tried (default 6).
	Roundings int
	// SolveImages bounds the training images the SQP objective uses
	// (default 256); the rest of the calibration set still serves the
	// held-out judgement and the data-aware refit.
	SolveImages int
	// Batch is the calibration batch size (default 32).
	Batch   int
	Threads int
	Kernels kernels.Config
	// Progress, when set, is called from the Compress goroutine.
	Progress func(Progress)
	// DataAware refits each factorized layer to the original layer's
	// outputs on calibration activations (Zhang et al. 2016).
	DataAware bool
	// Finetune is the number of knowledge-distillation epochs over the
	// calibration images that train the factors after rounding (and the
	// refit), within TimeLimit; 0: none.
	Finetune int
	// SourceSHA256 is recorded in the output metadata (the CLI hashes
	// the input file); empty: not recorded.
	SourceSHA256 string
}

// Rank describes one decomposable layer in the result.
type Rank struct {
	Layer      string `json:"layer"`
	OpType     string `json:"op"`
	Scheme     string `json:"scheme"`
	Kept       int    `json:"kept"` // components kept; Full when dense
	Full       int    `json:"full"` // rank of the reshaped weight
	Dense      bool   `json:"dense"`
	MACsBefore int64  `json:"macs_before"`
	MACsAfter  int64  `json:"macs_after"`
}

// Result is a compressed model and its figures (per image).
type Result struct {
	Graph        *ir.Graph
	Method       Method
	MACsBefore   int64
	MACsAfter    int64
	ParamsBefore int64
	ParamsAfter  int64
	Budget       Budget
	Ranks        []Rank // in graph order
	// Held-out calibration figures (NaN when no data was used): the
	// objective (cross-entropy or KL) and, with labels, top-1.
	HeldOutObjective   float64
	HeldOutTop1Before  float64
	HeldOutTop1After   float64
	Iterations         int
	Seconds            float64
	MinMACs, MinParams int64 // smallest reachable cost (rank 1 everywhere)
	// FinetuneKept tells whether the finetuned factors were kept: they
	// are dropped when their held-out objective is worse than before.
	FinetuneKept bool
	// Plain is the factorized graph with the plain SVD factors of the
	// same ranks, before the refit and the finetune (nil when neither
	// ran), for comparison.
	Plain *ir.Graph
	// Stop tells why COBLA's solver stopped (iteration limit, time
	// limit, converged); Chosen names the allocation kept (a rounding of
	// the solution, or a warm-start baseline that judged better).
	Stop, Chosen string
	// Guard lists the allocations compared after the refit on the
	// held-out images (COBLA with the refit), COBLA's rounding first.
	Guard []GuardEntry
	// Stages holds the wall time of each stage, in order.
	Stages []StageTime
}

// GuardEntry is one allocation judged after its refit: its held-out
// objective, or Skipped (objective 0) when the time limit left no time
// to refit it.
type GuardEntry struct {
	Name             string  `json:"name"`
	HeldOutObjective float64 `json:"held_out_objective,omitempty"`
	Skipped          bool    `json:"skipped,omitempty"`
}

// StageTime is the wall time of one stage of Compress.
type StageTime struct {
	Stage   string  `json:"stage"`
	Seconds float64 `json:"seconds"`
}

func (r *Result) stage(name string, since time.Time) {
	r.Stages = append(r.Stages, StageTime{name, time.Since(since).Seconds()})
}

// RankMap returns the ranks by layer name.
func (r *Result) RankMap() map[string]Rank {
	m := make(map[string]Rank, len(r.Ranks))
	for _, k := range r.Ranks {
		m[k.Layer] = k
	}
	return m
}

// Write encodes the compressed model as ONNX at path, atomically: a
// temporary file in the same directory renamed when complete, so a
// failed write leaves no output file.
func (r *Result) Write(path string) error { return writeAtomic(r.Graph, path) }

// Compress factorizes model's decomposable layers to meet opts.Budget.
// It returns ErrImpossibleBudget (wrapped, with the smallest reachable
// cost) when no allocation fits, ErrNoCalibration when COBLA or DataAware
// lack images, and ctx's error when cancelled.
func Compress(ctx context.Context, model *runtime.Model, opts Options) (*Result, error) {
	if model == nil {
		return nil, errors.New("compress: nil model")
	}
	layers, err := model.Layers(1, runtime.Options{Kernels: opts.Kernels})
	if err != nil {
		return nil, fmt.Errorf("compress: planning the model: %w", err)
	}
	var macs, params int64
	for _, l := range layers {
		macs += l.MACs
		params += l.Params
	}
	return compressGraph(ctx, model.Graph(), macs, params, opts)
}

func (o *Options) defaults() error {
	if o.Method == "" {
		o.Method = MethodCOBLA
	}
	if o.HeldOut == 0 {
		o.HeldOut = 0.25
	}
	if o.HeldOut <= 0 || o.HeldOut >= 1 {
		return fmt.Errorf("compress: held-out fraction %g must be between 0 and 1", o.HeldOut)
	}
	if o.MaxIter == 0 {
		o.MaxIter = 25
	}
	if o.Roundings == 0 {
		o.Roundings = 6
	}
	if o.SolveImages <= 0 {
		o.SolveImages = 256
	}
	if o.Batch <= 0 {
		o.Batch = 32
	}
	if o.Threads <= 0 {
		o.Threads = goruntime.NumCPU()
	}
	if o.Budget.MACs < 0 || o.Budget.Params < 0 || (o.Budget.MACs == 0 && o.Budget.Params == 0) {
		return fmt.Errorf("compress: set a positive MACs and/or parameters budget (got %d MACs, %d parameters)", o.Budget.MACs, o.Budget.Params)
	}
	return nil
}

func compressGraph(ctx context.Context, g *ir.Graph, macsTotal, paramsTotal int64, opts Options) (*Result, error) {
	start := time.Now()
	var deadline time.Time
	if opts.TimeLimit > 0 {
		deadline = start.Add(opts.TimeLimit)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	report := func(p Progress) {
		if opts.Progress != nil {
			p.Elapsed = time.Since(start)
			opts.Progress(p)
		}
	}
	wls, err := findLayers(g)
	if err != nil {
		return nil, err
	}
	useMACs := opts.Budget.MACs > 0
	fs := make([]*factor, len(wls))
	errs := make([]error, len(wls))
	var wg sync.WaitGroup
	sem := make(chan struct{}, opts.Threads)
	for i, l := range wls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			fs[i], errs[i] = decompose(l, opts.Scheme, useMACs)
		}()
	}
	report(Progress{Stage: "decompose"})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var factors []*factor
	for _, f := range fs {
		if f != nil {
			factors = append(factors, f)
		}
	}
	p := newProblem(factors, macsTotal, paramsTotal, opts.Budget.MACs, opts.Budget.Params)
	minM, minP := p.minimum()
	if err := p.check(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	res := &Result{Method: opts.Method, MACsBefore: macsTotal, ParamsBefore: paramsTotal, Budget: opts.Budget,
		MinMACs: minM, MinParams: minP, HeldOutObjective: math.NaN(), HeldOutTop1Before: math.NaN(), HeldOutTop1After: math.NaN()}
	res.stage("decompose", start)

	needData := opts.Method == MethodCOBLA || opts.DataAware || opts.Finetune > 0
	var cal *calibRun
	if opts.Calib.Images != nil {
		t0 := time.Now()
		cal, err = newCalibRun(ctx, g, p, opts, deadline)
		if err != nil {
			return nil, err
		}
		defer cal.close()
		res.stage("calibration setup", t0)
	} else if needData {
		return nil, fmt.Errorf("%w: method %s%s needs calibration images (e.g. --calib fashion-mnist:train:1024)", ErrNoCalibration, opts.Method, map[bool]string{true: " with data-aware refit", false: ""}[opts.DataAware])
	}

	var a alloc
	var info solveInfo
	switch opts.Method {
	case MethodUniform:
		a = p.promote(p.uniform())
	case MethodGreedy:
		a = p.promote(p.greedy())
	case MethodCOBLA:
		t0 := time.Now()
		a, info, err = cal.cobla(report)
		if err != nil {
			return nil, err
		}
		res.stage("solve and round", t0)
		res.Iterations, res.Stop, res.Chosen = info.iters, info.stop, info.chosen
	default:
		return nil, fmt.Errorf("compress: unknown method %q; use cobla, greedy or uniform", opts.Method)
	}
	// build writes the factorized graph of an allocation and, with
	// DataAware, refits it; plain is the graph before the refit.
	build := func(a alloc) (out, plain *ir.Graph, second map[*ir.Node]*ir.Node, err error) {
		out, second, err = factorizedGraph(g, factors, a)
		if err != nil {
			return nil, nil, nil, err
		}
		if !opts.DataAware && opts.Finetune <= 0 {
			return out, nil, second, nil
		}
		plain = shallowClone(out)
		if opts.DataAware {
			report(Progress{Stage: "refit"})
			for n2 := range second {
				if n2.OpType == "MatMul" {
					delete(second, n2) // no bias input to refit
				}
			}
			if err := cal.refitGraph(out, second); err != nil {
				return nil, nil, nil, err
			}
		}
		return out, plain, second, nil
	}
	t0 := time.Now()
	out, plain, second, err := build(a)
	if err != nil {
		return nil, err
	}
	res.stage("write and refit", t0)
	// Guard: the refit changes the ranking of allocations (a baseline
	// whose plain factors are poor may refit well), so with the refit
	// COBLA's allocation competes again with the warm-start baselines,
	// refitted too, on the held-out images; the best one is kept. A
	// baseline is skipped when its refit would pass the time limit.
	heldF := math.NaN() // held-out objective of out, when known
	if opts.Method == MethodCOBLA && opts.DataAware {
		t0 := time.Now()
		f0, err := cal.heldObjective(out)
		if err != nil {
			return nil, err
		}
		res.Guard = append(res.Guard, GuardEntry{Name: info.chosen, HeldOutObjective: f0})
		for _, b := range info.baselines {
			if sameAlloc(b.a, a) {
				continue
			}
			if cal.late(cal.refitTime() + cal.passTime(len(cal.held)) + cal.finetuneTime() + cal.judgeTime()) {
				res.Guard = append(res.Guard, GuardEntry{Name: b.name, Skipped: true})
				continue
			}
			o2, p2, s2, err := build(b.a)
			if err != nil {
				return nil, err
			}
			f2, err := cal.heldObjective(o2)
			if err != nil {
				return nil, err
			}
			res.Guard = append(res.Guard, GuardEntry{Name: b.name, HeldOutObjective: f2})
			if f2 < f0 {
				a, out, plain, second, f0 = b.a, o2, p2, s2, f2
				res.Chosen = b.name + " (refit better on held-out images)"
			}
		}
		heldF = f0
		res.stage("guard", t0)
	}
	res.Plain = plain
	if opts.Finetune > 0 {
		t0 := time.Now()
		factored := map[*ir.Node]bool{}
		for n2 := range second {
			factored[n2] = true
		}
		for _, nd := range out.Nodes {
			for n2 := range second {
				if len(nd.Outputs) == 1 && len(n2.Inputs) > 0 && nd.Outputs[0] == n2.Inputs[0] {
					factored[nd] = true
				}
			}
		}
		// Keep the finetuned factors only when they do better on the
		// held-out images (a short distillation can overfit the few
		// training images).
		f0 := heldF
		if math.IsNaN(f0) {
			if f0, err = cal.heldObjective(out); err != nil {
				return nil, err
			}
		}
		saved := maps.Clone(out.Initializers)
		if err := cal.finetune(out, factored, opts.Finetune, cal.deadline, report); err != nil {
			return nil, err
		}
		f1, err := cal.heldObjective(out)
		if err != nil {
			return nil, err
		}
		res.FinetuneKept = f1 <= f0
		if !res.FinetuneKept {
			out.Initializers = saved
		}
		res.stage("finetune", t0)
	}
	if cal != nil {
		t0 := time.Now()
		if err := cal.judge(out, res); err != nil {
			return nil, err
		}
		res.stage("judge", t0)
	}
	res.MACsAfter, res.ParamsAfter = p.cost(a)
	res.Graph = out
	byNode := map[*ir.Node]int{}
	for i, f := range factors {
		byNode[f.l.node] = i
	}
	var ranks []string
	for _, l := range wls {
		r := Rank{Layer: l.node.Name, OpType: l.kind, MACsBefore: l.macs, MACsAfter: l.macs, Dense: true}
		i, ok := byNode[l.node]
		if ok {
			f := factors[i]
			r.Scheme, r.Full = f.scheme.String(), f.full
			r.Kept, r.Dense = f.full, a.dense[i]
			if !a.dense[i] {
				r.Kept = a.rank[i]
				r.MACsAfter = int64(a.rank[i]) * f.macPer
			}
		} else {
			r.Full = min(l.p.OutC, l.p.InC*l.p.KH*l.p.KW/max(1, l.group))
			r.Kept = r.Full
		}
		res.Ranks = append(res.Ranks, r)
		ranks = append(ranks, fmt.Sprintf("%s:%d/%d", r.Layer, r.Kept, r.Full))
	}
	md := out.Metadata
	md["compress.method"] = string(opts.Method)
	md["compress.scheme"] = opts.Scheme.String()
	if opts.Budget.MACs > 0 {
		md["compress.budget_macs"] = strconv.FormatInt(opts.Budget.MACs, 10)
	}
	if opts.Budget.Params > 0 {
		md["compress.budget_params"] = strconv.FormatInt(opts.Budget.Params, 10)
	}
	md["compress.macs"] = fmt.Sprintf("%d/%d", res.MACsAfter, res.MACsBefore)
	md["compress.params"] = fmt.Sprintf("%d/%d", res.ParamsAfter, res.ParamsBefore)
	md["compress.ranks"] = strings.Join(ranks, ",")
	if opts.SourceSHA256 != "" {
		md["compress.source_sha256"] = opts.SourceSHA256
	}
	if opts.DataAware {
		md["compress.data_aware"] = "true"
	}
	if opts.Finetune > 0 && res.FinetuneKept {
		md["compress.finetune_epochs"] = strconv.Itoa(opts.Finetune)
	}
	if res.Plain != nil {
		res.Plain.Metadata = map[string]string{}
		for k, v := range md {
			if k != "compress.data_aware" && k != "compress.finetune_epochs" {
				res.Plain.Metadata[k] = v
			}
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// shallowClone copies g's node list, nodes and maps so that replacing
// initializers or node inputs of the copy leaves g unchanged (tensors
// are shared: the refit and the finetune replace them, never write them).
func shallowClone(g *ir.Graph) *ir.Graph {
	c := cloneMaps(g)
	c.Nodes = make([]*ir.Node, len(g.Nodes))
	for i, n := range g.Nodes {
		nn := *n
		nn.Inputs = append([]string(nil), n.Inputs...)
		nn.Outputs = append([]string(nil), n.Outputs...)
		c.Nodes[i] = &nn
	}
	return c
}

// cloneMaps copies g with its own initializer and metadata maps (nodes
// and tensors shared).
func cloneMaps(g *ir.Graph) *ir.Graph {
	c := *g
	c.Initializers = maps.Clone(g.Initializers)
	c.Metadata = maps.Clone(g.Metadata)
	if c.Initializers == nil {
		c.Initializers = map[string]*ir.Tensor{}
	}
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	return &c
}

// calibRun holds the calibration network and data of one Compress call.
type calibRun struct {
	ctx      context.Context
	g        *ir.Graph
	p        *problem
	opts     Options
	pool     *kernels.Pool
	obj      *objective
	train    []int
	held     []int
	labels   []int
	deadline time.Time
	// fwdPer is the measured forward time per calibration image (0 until
	// measured), from which the stages after the solve are budgeted;
	// load scales it by how much slower the solver's evaluations have
	// become since it was measured (0: not tracked; never below 1, as the
	// first evaluation includes the warm-up).
	fwdPer time.Duration
	load   float64
	// targets caches the original network's sampled layer outputs for
	// the refit (nil until the first refit).
	targets map[string][]float32
}

// passTime estimates a forward pass over n calibration images at the
// machine's current speed.
func (c *calibRun) passTime(n int) time.Duration {
	t := c.fwdPer * time.Duration(n)
	if c.load > 0 {
		t = time.Duration(float64(t) * math.Min(math.Max(c.load, 1), 4))
	}
	return t
}

// judgeTime estimates the final judgement: three held-out passes.
func (c *calibRun) judgeTime() time.Duration { return 3 * c.passTime(len(c.held)) }

// refitTime estimates the data-aware refit: two sweeps (original and
// compressed network) over up to refitImages images plus the solves.
func (c *calibRun) refitTime() time.Duration {
	if !c.opts.DataAware {
		return 0
	}
	return 3 * c.passTime(min(refitImages, len(c.train)))
}

// guardTime estimates the refits and held-out passes of the two
// baselines that compete with COBLA's allocation after the refit.
func (c *calibRun) guardTime() time.Duration {
	if !c.opts.DataAware || c.opts.Method != MethodCOBLA {
		return 0
	}
	return 2 * (c.refitTime() + c.passTime(len(c.held)))
}

// finetuneTime estimates the finetune (forward and backward ≈ three
// passes per training image per epoch, plus the teacher pass), at most
// 40% of the time limit: it is cut short at the deadline anyway.
func (c *calibRun) finetuneTime() time.Duration {
	if c.opts.Finetune <= 0 {
		return 0
	}
	t := c.passTime(len(c.train)+len(c.held)) + 3*time.Duration(c.opts.Finetune)*c.passTime(len(c.train))
	return min(t, c.opts.TimeLimit*2/5)
}

// late reports whether starting work that takes d (plus reserve) would
// pass the deadline.
func (c *calibRun) late(d time.Duration) bool {
	return !c.deadline.IsZero() && time.Now().Add(d).After(c.deadline)
}

func newCalibRun(ctx context.Context, g *ir.Graph, p *problem, opts Options, deadline time.Time) (*calibRun, error) {
	img := opts.Calib.Images
	if img.DType != ir.Float32 || len(img.Shape) != 4 {
		return nil, fmt.Errorf("compress: calibration images must be a float32 N×C×H×W tensor (got %v %v)", img.DType, img.Shape)
	}
	n := img.Shape[0]
	if opts.Calib.Labels != nil && len(opts.Calib.Labels) != n {
		return nil, fmt.Errorf("compress: %d calibration labels for %d images", len(opts.Calib.Labels), n)
	}
	if n < 2 {
		return nil, fmt.Errorf("compress: at least 2 calibration images are needed (got %d)", n)
	}
	need := make([]bool, 0)
	// Layers are numbered in graph order by buildNet; mark the factorized.
	nt1, err := buildNet(g, 1, opts.Kernels, nil)
	if err != nil {
		return nil, err
	}
	fact := map[*ir.Node]bool{}
	for _, f := range p.factors {
		fact[f.l.node] = true
	}
	for _, l := range nt1.layers {
		need = append(need, fact[l.node])
	}
	batch := min(opts.Batch, n)
	nt, err := buildNet(g, batch, opts.Kernels, need)
	if err != nil {
		return nil, err
	}
	if !nt.inShape[1:].Equal(img.Shape[1:]) {
		return nil, fmt.Errorf("compress: calibration images are %v per image, the model takes %v", img.Shape[1:], nt.inShape[1:])
	}
	// Reuse the factors' layers (same nodes) so the objective finds them.
	for i, l := range nt.layers {
		for _, f := range p.factors {
			if f.l.node == l.node {
				nt.layers[i] = f.l
			}
		}
	}
	pool := kernels.NewPool(opts.Threads)
	ev, err := newEvaluator(nt, need, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	c := &calibRun{ctx: ctx, g: g, p: p, opts: opts, pool: pool, labels: opts.Calib.Labels}
	c.obj = newObjective(ctx, p, nt, ev, pool, opts.Kernels, img.F32)
	// Deterministic split: a seeded permutation, the tail held out.
	perm := rand.New(rand.NewPCG(opts.Seed, 0x5eed)).Perm(n)
	nh := max(1, int(math.Round(float64(n)*opts.HeldOut)))
	nh = min(nh, n-1)
	c.held = append([]int(nil), perm[n-nh:]...)
	c.train = append([]int(nil), perm[:n-nh]...)
	sort.Ints(c.held)
	sort.Ints(c.train)
	c.deadline = deadline
	if c.labels != nil {
		err = c.obj.setLabels(c.labels)
	} else {
		all := append(append([]int(nil), c.train...), c.held...)
		err = c.obj.setTeacher(all)
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *calibRun) close() { c.pool.Close() }

// weightsOf returns per-layer weights of an allocation for the
// calibration network (dense layers keep their original weights).
func (c *calibRun) weightsOf(a alloc) [][]float32 {
	w := c.obj.weights(c.p.binaryMasks(a))
	for i, f := range c.p.factors {
		if a.dense[i] {
			w[c.obj.layerIndex(f)] = f.l.w
		}
	}
	return w
}

// solveInfo describes how COBLA's allocation was found.
type solveInfo struct {
	iters int
	stop  string // why the SQP stopped
	// chosen names the kept candidate; baselines are the warm-start
	// allocations (greedy, uniform) the result must not be worse than.
	chosen    string
	baselines []candidate
}

// candidate is a named rank allocation.
type candidate struct {
	name string
	a    alloc
}

// cobla solves the relaxation from the better of the greedy and uniform
// allocations and rounds it; the baselines compete with the roundings.
func (c *calibRun) cobla(report func(Progress)) (alloc, solveInfo, error) {
	p := c.p
	var info solveInfo
	solve := c.train[:min(len(c.train), c.opts.SolveImages)]
	g0, u0 := p.greedy(), p.uniform()
	info.baselines = []candidate{{"greedy warm start", p.promote(g0)}, {"uniform warm start", p.promote(u0)}}
	// The baselines are candidates too: judge them on the held-out images
	// now, which measures the forward time per image that budgets the
	// stages after the solve.
	heldF := make([]float64, len(info.baselines))
	t0 := time.Now()
	for i, b := range info.baselines {
		f, err := c.obj.valueW(c.weightsOf(b.a), c.held)
		if err != nil {
			return alloc{}, info, err
		}
		heldF[i] = f
	}
	c.fwdPer = time.Since(t0) / time.Duration(len(info.baselines)*len(c.held))
	// value evaluates the objective on the solver's images; the ratio of
	// its time to that of the first evaluation tracks the machine's load.
	var first time.Duration
	value := func(x []float64) (float64, error) {
		t0 := time.Now()
		f, err := c.obj.value(x, solve)
		if d := time.Since(t0); first == 0 {
			first = d
		} else {
			c.load = float64(d) / float64(first)
		}
		return f, err
	}
	// Warm start: the better baseline on the training images.
	x0 := p.binaryMasks(g0)
	fg0, err := value(x0)
	if err != nil {
		return alloc{}, info, err
	}
	xu := p.binaryMasks(u0)
	fu0, err := value(xu)
	if err != nil {
		return alloc{}, info, err
	}
	if fu0 < fg0 {
		x0 = xu
	}
	// Dense layers of the greedy start are at kmax in the relaxation,
	// which costs less than dense, so x0 is feasible.
	cm, cp := p.linear()
	fs := &feasibleSet{}
	if p.budgetMACs > 0 {
		s := 1 / float64(p.budgetMACs)
		a := make([]float64, p.n)
		for i := range a {
			a[i] = cm[i] * s
		}
		fs.a = append(fs.a, a)
		fs.b = append(fs.b, float64(p.budgetMACs-p.macFixed)*s)
	}
	if p.budgetParams > 0 {
		s := 1 / float64(p.budgetParams)
		a := make([]float64, p.n)
		for i := range a {
			a[i] = cp[i] * s
		}
		fs.a = append(fs.a, a)
		fs.b = append(fs.b, float64(p.budgetParams-p.parFixed)*s)
	}
	// The solver stops early enough to leave time for what follows, at
	// the machine's current speed: the held-out passes of the candidates
	// (nearest and stochastic roundings, each twice), the refits (the chosen allocation's and the baselines'),
	// the finetune and the judgement, plus a twentieth of the limit.
	nCands := 2 * (1 + c.opts.Roundings)
	deadline := func() time.Time {
		if c.deadline.IsZero() {
			return time.Time{}
		}
		post := time.Duration(nCands)*c.passTime(len(c.held)) + c.refitTime() + c.guardTime() + c.finetuneTime() + c.judgeTime()
		return c.deadline.Add(-post - c.opts.TimeLimit/20)
	}
	iterStart := time.Now()
	cfg := sqpConfig{maxIter: c.opts.MaxIter, deadline: deadline, mem: 8,
		progress: func(it int, f float64) {
			per := time.Since(iterStart) / time.Duration(it)
			eta := per * time.Duration(c.opts.MaxIter-it)
			if dl := deadline(); !dl.IsZero() {
				eta = min(eta, time.Until(dl))
			}
			report(Progress{Stage: "solve", Iter: it, MaxIter: c.opts.MaxIter, Objective: f, ETA: max(eta, 0)})
		}}
	fg := func(x []float64) (float64, []float64, error) { return c.obj.grad(x, solve) }
	report(Progress{Stage: "solve", MaxIter: c.opts.MaxIter})
	x, _, iters, stop, err := sqp(fg, value, fs, x0, cfg)
	if err != nil {
		return alloc{}, info, err
	}
	info.iters, info.stop = iters, stop
	// Candidates: both baselines, the nearest rounding and stochastic
	// ones, each also with the relaxed masks kept as singular-value scales.
	cands := append([]candidate(nil), info.baselines...)
	add := func(name string, a alloc) {
		cands = append(cands, candidate{name, p.promote(a)}, candidate{name + " with scales", p.promote(p.withScales(a, x))})
	}
	add("nearest rounding", p.roundMasks(x, nil))
	rng := rand.New(rand.NewPCG(c.opts.Seed, 0xc0b1a))
	for r := 0; r < c.opts.Roundings; r++ {
		add(fmt.Sprintf("stochastic rounding %d", r+1), p.roundMasks(x, rng))
	}
	best, bestF := -1, math.Inf(1)
	// The baselines (judged above) and the nearest roundings are always
	// judged; with a time limit the stochastic ones are skipped when
	// judging one more would leave too little time for the refit, the
	// guard and the judgement.
	after := c.passTime(len(c.held)) + c.refitTime() + c.guardTime() + c.judgeTime()
	for i, cd := range cands {
		if i >= 4 && c.late(after) {
			break
		}
		report(Progress{Stage: "round", Iter: i + 1, MaxIter: len(cands)})
		if !p.fits(p.cost(cd.a)) {
			continue
		}
		var f float64
		if i < len(heldF) {
			f = heldF[i]
		} else if f, err = c.obj.valueW(c.weightsOf(cd.a), c.held); err != nil {
			return alloc{}, info, err
		}
		if f < bestF {
			best, bestF = i, f
		}
	}
	if best < 0 {
		return alloc{}, info, fmt.Errorf("compress: internal: no rounding fits the budget")
	}
	info.chosen = cands[best].name
	return cands[best].a, info, nil
}

// graphObjective returns the objective of graph g and its weights.
func (c *calibRun) graphObjective(g *ir.Graph) (*objective, [][]float32, error) {
	nt, err := buildNet(g, c.obj.nt.batch, c.opts.Kernels, nil)
	if err != nil {
		return nil, nil, err
	}
	ev, err := newEvaluator(nt, nil, c.pool)
	if err != nil {
		return nil, nil, err
	}
	o := newObjective(c.ctx, nil, nt, ev, c.pool, c.opts.Kernels, c.obj.images)
	o.targets, o.entropy = c.obj.targets, c.obj.entropy
	w := make([][]float32, len(nt.layers))
	for i, l := range nt.layers {
		w[i] = l.w
	}
	return o, w, nil
}

// heldObjective is the objective of graph g on the held-out images.
func (c *calibRun) heldObjective(g *ir.Graph) (float64, error) {
	o, w, err := c.graphObjective(g)
	if err != nil {
		return 0, err
	}
	return o.valueW(w, c.held)
}

// judge evaluates the compressed graph on the held-out images.
func (c *calibRun) judge(out *ir.Graph, res *Result) error {
	o, w, err := c.graphObjective(out)
	if err != nil {
		return err
	}
	if res.HeldOutObjective, err = o.valueW(w, c.held); err != nil {
		return err
	}
	if c.labels != nil {
		if res.HeldOutTop1After, err = o.accuracy(w, c.held, c.labels); err != nil {
			return err
		}
		if res.HeldOutTop1Before, err = c.obj.accuracy(c.obj.base, c.held, c.labels); err != nil {
			return err
		}
	}
	return nil
}
