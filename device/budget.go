package device

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/edgeml/edge/runtime"
)

// ErrImpossibleBudget is wrapped by the error DeriveBudget returns for a
// target that no rank allocation can reach; errors.As gives the
// *ImpossibleError with the smallest reachable value.
var ErrImpossibleBudget = errors.New("impossible budget")

// ErrNoTarget is returned by DeriveBudget when Targets sets nothing.
var ErrNoTarget = errors.New("device: no budget target; pass a latency, memory, MACs or params target, or auto")

// ImpossibleError describes an unreachable target.
type ImpossibleError struct {
	Target    string  // "latency", "memory", "macs", "params", "auto"
	Requested float64 // in Unit
	Smallest  float64 // smallest reachable value, in Unit
	Unit      string  // "ms", "MB", "MACs", "params"
	Reason    string
}

func (e *ImpossibleError) Error() string {
	return fmt.Sprintf("device: impossible budget: %s target %s is below the smallest reachable %s (%s); relax the target",
		e.Target, e.format(e.Requested), e.format(e.Smallest), e.Reason)
}

func (e *ImpossibleError) format(v float64) string {
	switch e.Unit {
	case "MACs", "params":
		return si(int64(math.Round(v))) + " " + e.Unit
	case "MB":
		return strconv.FormatFloat(v, 'f', 2, 64) + " MB"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + " " + e.Unit
}

// Unwrap makes errors.Is(err, ErrImpossibleBudget) true.
func (e *ImpossibleError) Unwrap() error { return ErrImpossibleBudget }

// Targets are what the user asks for; zero fields are unset.
type Targets struct {
	LatencyMs      float64 `json:"latency_ms,omitempty"`
	MemoryMB       float64 `json:"memory_mb,omitempty"` // weights + peak activations + runtime overhead, MiB
	MACs           int64   `json:"macs,omitempty"`      // absolute MACs per image
	MACsFraction   float64 `json:"macs_fraction,omitempty"`
	Params         int64   `json:"params,omitempty"` // absolute parameter count
	ParamsFraction float64 `json:"params_fraction,omitempty"`
	// Auto: fit weights + activations + runtime overhead in half of the
	// memory available to the process.
	Auto bool `json:"auto,omitempty"`
}

// TargetFlags are the CLI's target flags as typed.
type TargetFlags struct {
	LatencyMs string // "20", "20ms", "0.02s"
	MemoryMB  string // "64", "64MB", "1.5GB", "512MiB"
	MACs      string // "0.5", "50%", "300M", "1.2G", "450000"
	Params    string // same forms as MACs
	Auto      bool
}

// ParseTargets parses the CLI's target strings (empty strings are unset).
// A MACs or params value is a fraction of the model when it is at most 1
// or ends in "%", otherwise an absolute count (suffixes k, M, G).
func ParseTargets(f TargetFlags) (Targets, error) {
	var t Targets
	var err error
	if s := strings.TrimSpace(f.LatencyMs); s != "" {
		if t.LatencyMs, err = parseDuration(s); err != nil {
			return Targets{}, err
		}
	}
	if s := strings.TrimSpace(f.MemoryMB); s != "" {
		if t.MemoryMB, err = parseMemory(s); err != nil {
			return Targets{}, err
		}
	}
	if s := strings.TrimSpace(f.MACs); s != "" {
		if t.MACs, t.MACsFraction, err = parseCount("macs", s); err != nil {
			return Targets{}, err
		}
	}
	if s := strings.TrimSpace(f.Params); s != "" {
		if t.Params, t.ParamsFraction, err = parseCount("params", s); err != nil {
			return Targets{}, err
		}
	}
	t.Auto = f.Auto
	return t, nil
}

func parseDuration(s string) (float64, error) {
	num, scale := s, 1.0
	switch {
	case strings.HasSuffix(s, "ms"):
		num = strings.TrimSuffix(s, "ms")
	case strings.HasSuffix(s, "us"), strings.HasSuffix(s, "µs"):
		num, scale = strings.TrimSuffix(strings.TrimSuffix(s, "us"), "µs"), 1e-3
	case strings.HasSuffix(s, "s"):
		num, scale = strings.TrimSuffix(s, "s"), 1e3
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("device: latency target %q is not a positive duration; write e.g. 20 or 20ms", s)
	}
	return v * scale, nil
}

func parseMemory(s string) (float64, error) {
	l := strings.ToLower(s)
	num, scale := l, 1.0
	for _, u := range []struct {
		suf   string
		scale float64
	}{{"gib", 1024}, {"gb", 1024}, {"g", 1024}, {"mib", 1}, {"mb", 1}, {"m", 1}, {"kib", 1.0 / 1024}, {"kb", 1.0 / 1024}, {"k", 1.0 / 1024}} {
		if strings.HasSuffix(l, u.suf) {
			num, scale = strings.TrimSuffix(l, u.suf), u.scale
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("device: memory target %q is not a positive size; write e.g. 64 (MiB), 64MB or 1.5GB", s)
	}
	return v * scale, nil
}

// parseCount returns (absolute, 0) or (0, fraction).
func parseCount(what, s string) (int64, float64, error) {
	bad := fmt.Errorf("device: %s target %q is neither a fraction (0.5, 50%%) nor a count (300M, 1.2G, 450000)", what, s)
	if strings.HasSuffix(s, "%") {
		v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
		if err != nil || v <= 0 || v > 100 {
			return 0, 0, bad
		}
		return 0, v / 100, nil
	}
	num, scale := s, 1.0
	switch s[len(s)-1] {
	case 'k', 'K':
		num, scale = s[:len(s)-1], 1e3
	case 'm', 'M':
		num, scale = s[:len(s)-1], 1e6
	case 'g', 'G', 'b', 'B':
		num, scale = s[:len(s)-1], 1e9
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, 0, bad
	}
	if scale == 1 && v <= 1 {
		return 0, v, nil
	}
	if v*scale > math.MaxInt64/2 {
		return 0, 0, bad
	}
	return int64(math.Round(v * scale)), 0, nil
}

// ModelCost summarises a model for DeriveBudget (batch 1).
type ModelCost struct {
	MACs            int64 `json:"macs"`
	Params          int64 `json:"params"`
	WeightBytes     int64 `json:"weight_bytes"`
	ActivationBytes int64 `json:"activation_bytes"` // planned peak
	// FloorMACs and FloorParams are the cost with every decomposable
	// layer at rank 1 (FloorOf); 0 means "unknown" (no floor check).
	FloorMACs   int64 `json:"floor_macs"`
	FloorParams int64 `json:"floor_params"`
	// Prediction at the budget's thread count (Predict); needed for a
	// latency target unless a calibration is given.
	Prediction *Prediction `json:"prediction,omitempty"`
}

// CostOf builds a ModelCost from a model's Info, its batch-1 layers and
// (optionally) their prediction.
func CostOf(info runtime.Info, layers []runtime.Layer, pred *Prediction) ModelCost {
	c := ModelCost{MACs: info.MACs, Params: info.Params, WeightBytes: info.WeightBytes,
		ActivationBytes: info.PeakActivationBytes, Prediction: pred}
	c.FloorMACs, c.FloorParams = FloorOf(layers)
	return c
}

// Decomposable reports whether compression can factorize the layer:
// Conv with group 1, Gemm and MatMul with constant weights.
func Decomposable(l runtime.Layer) bool {
	switch l.OpType {
	case "Conv":
		p := l.Conv
		return p.Group == 1 && p.InC > 0 && p.OutC > 0 && p.KH > 0 && p.KW > 0 && p.StrideH > 0 && p.StrideW > 0 &&
			p.OutH() > 0 && p.OutW() > 0
	case "Gemm", "MatMul":
		return l.Conv.InC > 0 && l.Conv.OutC > 0 && l.Params > 0
	}
	return false
}

// FloorOf is the smallest MACs and parameter count any rank allocation
// can reach: every decomposable layer at rank 1 (see doc.go), the others
// as they are. For a Conv with C input and N output channels, a kh×kw
// kernel and H×W output pixels, rank 1 costs C·kh·kw·H·W + N·H·W MACs
// and C·kh·kw + N weights; for a Gemm with K inputs and N outputs, rows·(K
// + N) MACs and K + N weights. Biases are kept. A layer whose rank-1 form
// would cost more than the layer keeps its cost.
func FloorOf(layers []runtime.Layer) (macs, params int64) {
	for _, l := range layers {
		lm, lp := l.MACs, l.Params
		if Decomposable(l) {
			p := l.Conv
			var rm, weights, rw int64
			switch l.OpType {
			case "Conv":
				hw := int64(p.OutH()) * int64(p.OutW())
				batch := int64(1)
				if len(l.Inputs) > 0 && len(l.Inputs[0]) > 0 && l.Inputs[0][0] > 0 {
					batch = int64(l.Inputs[0][0])
				}
				ckk := int64(p.InC) * int64(p.KH) * int64(p.KW)
				rm = batch * (ckk*hw + int64(p.OutC)*hw)
				weights = ckk * int64(p.OutC)
				rw = ckk + int64(p.OutC)
			default:
				k, n := int64(p.InC), int64(p.OutC)
				rows := max(1, l.MACs/(k*n))
				rm = rows * (k + n)
				weights = k * n
				rw = k + n
			}
			if rm < lm {
				lm = rm
			}
			if bias := lp - weights; bias >= 0 && rw+bias < lp {
				lp = rw + bias
			}
		}
		macs += lm
		params += lp
	}
	return macs, params
}

// The process memory model used by memory targets:
//
//	memory = RuntimeOverheadBytes + WeightCopies·weights + peak activations
//
// RuntimeOverheadBytes covers the Go runtime, program text and session
// workspaces; WeightCopies the weights held during and after loading (the
// file's bytes, the graph's tensors, the kernels' prepacked copy) as the
// peak resident size shows. Measured VmHWM after five runs at 2 threads
// on the development machine: fmnist-small 20 MB (1.8 MB weights),
// ImageNet ResNet-18 139 MB (44.6 MB), Fashion-MNIST ResNet-18 189 MB
// (42.6 MB); the formula gives 22, 154 and 145 MB.
const (
	RuntimeOverheadBytes = 16 << 20
	WeightCopies         = 3
)

// Budget is what compression must reach.
type Budget struct {
	MACs            int64    `json:"macs"`
	Params          int64    `json:"params"`
	WeightBytes     int64    `json:"weight_bytes"`
	ActivationBytes int64    `json:"activation_bytes"`
	Threads         int      `json:"threads"`
	PredictedMs     float64  `json:"predicted_ms,omitempty"` // predicted latency at the budget (latency model)
	Binding         string   `json:"binding"`                // the target that decided MACs or weights ("none" when the model already fits)
	Explanation     []string `json:"explanation"`
}

// DeriveBudget turns targets into a budget for a model of the given cost
// on a machine (prof and cal may be nil when no target needs them: a
// latency target needs cost.Prediction or cal, Auto needs prof). The
// tightest target wins. Unreachable targets give an *ImpossibleError
// (wrapping ErrImpossibleBudget).
func DeriveBudget(cost ModelCost, targets Targets, prof *Profile, cal *Calibration) (*Budget, error) {
	if targets == (Targets{}) {
		return nil, ErrNoTarget
	}
	if cost.MACs <= 0 || cost.Params <= 0 {
		return nil, fmt.Errorf("device: model cost has %d MACs and %d params; budgets need a model with weights", cost.MACs, cost.Params)
	}
	b := &Budget{MACs: cost.MACs, Params: cost.Params, WeightBytes: cost.WeightBytes, ActivationBytes: cost.ActivationBytes, Binding: "none"}
	if b.WeightBytes <= 0 {
		b.WeightBytes = 4 * cost.Params
	}
	bytesPerParam := float64(b.WeightBytes) / float64(cost.Params)
	switch {
	case cost.Prediction != nil:
		b.Threads = cost.Prediction.Threads
	case prof != nil && prof.CPU.Threads > 0:
		b.Threads = prof.CPU.Threads
	case cal != nil && len(cal.Threads) > 0:
		b.Threads = cal.Threads[len(cal.Threads)-1]
	default:
		b.Threads = 1
	}
	say := func(format string, a ...any) { b.Explanation = append(b.Explanation, fmt.Sprintf(format, a...)) }
	say("model: %s MACs, %s params (%s weights), %s peak activations", si(cost.MACs), si(cost.Params), mib(b.WeightBytes), mib(cost.ActivationBytes))
	if cost.FloorMACs > 0 {
		say("floor (every decomposable layer at rank 1): %s MACs, %s params", si(cost.FloorMACs), si(cost.FloorParams))
	}
	macCap := func(v int64, name string) {
		if v < b.MACs {
			b.MACs, b.Binding = v, name
		}
	}
	paramCap := func(v int64, name string) {
		if v < b.Params {
			b.Params, b.Binding = v, name
			b.WeightBytes = int64(math.Round(float64(v) * bytesPerParam))
		}
	}
	floorMACs := func(target string, v int64) error {
		if cost.FloorMACs > 0 && v < cost.FloorMACs {
			return &ImpossibleError{Target: target, Requested: float64(v), Smallest: float64(cost.FloorMACs), Unit: "MACs",
				Reason: "every decomposable layer at rank 1, the rest unchanged"}
		}
		return nil
	}
	floorParams := func(target string, v int64) error {
		if cost.FloorParams > 0 && v < cost.FloorParams {
			return &ImpossibleError{Target: target, Requested: float64(v), Smallest: float64(cost.FloorParams), Unit: "params",
				Reason: "every decomposable layer at rank 1, the rest unchanged"}
		}
		return nil
	}

	// Latency.
	var perMACms, fixedMs float64 // model: latency = fixed + MACs·perMAC
	if targets.LatencyMs > 0 {
		var gflops float64
		switch {
		case cost.Prediction != nil && cost.Prediction.TotalMs > 0:
			var compMs float64
			var compMACs int64
			for _, l := range cost.Prediction.Layers {
				if l.ComputeMs > 0 && l.MACs > 0 {
					compMs += l.ComputeMs
					compMACs += l.MACs
				}
			}
			fixedMs = cost.Prediction.TotalMs - compMs
			if compMACs > 0 && compMs > 0 {
				gflops = 2 * float64(compMACs) / (compMs * 1e6)
				perMACms = compMs / float64(compMACs)
			}
			say("predicted %.2f ms at %s: %.2f ms compute at %.1f GFLOPS achieved on its layers, %.2f ms memory, pooling and per-op overhead",
				cost.Prediction.TotalMs, threadsText(b.Threads), compMs, gflops, fixedMs)
		case cal != nil:
			gflops = cal.PeakGFLOPS(b.Threads)
			if gflops > 0 {
				perMACms = 2 / (gflops * 1e6)
			}
			say("no layer prediction: using the best calibrated rate, %.1f GFLOPS at %s, and no fixed cost", gflops, threadsText(b.Threads))
		}
		if perMACms <= 0 {
			return nil, fmt.Errorf("device: a latency target needs a calibration; run Calibrate (edge probe) first")
		}
		room := targets.LatencyMs - fixedMs
		smallest := fixedMs + float64(max(cost.FloorMACs, 0))*perMACms
		if room <= 0 {
			return nil, &ImpossibleError{Target: "latency", Requested: targets.LatencyMs, Smallest: smallest, Unit: "ms",
				Reason: fmt.Sprintf("%.2f ms of the model does not shrink with rank", fixedMs)}
		}
		v := int64(room / perMACms)
		if cost.FloorMACs > 0 && v < cost.FloorMACs {
			return nil, &ImpossibleError{Target: "latency", Requested: targets.LatencyMs, Smallest: smallest, Unit: "ms",
				Reason: fmt.Sprintf("%.2f ms fixed + rank-1 floor %s MACs at %.1f GFLOPS", fixedMs, si(cost.FloorMACs), 2/(perMACms*1e6))}
		}
		if fixedMs > 0 {
			say("latency %s ms − %.2f ms fixed = %.2f ms × %.1f GFLOPS ⇒ ≤ %s MACs", fmtNum(targets.LatencyMs), fixedMs, room, 2/(perMACms*1e6), si(v))
		} else {
			say("latency %s ms × %.1f GFLOPS measured ⇒ ≤ %s MACs", fmtNum(targets.LatencyMs), 2/(perMACms*1e6), si(v))
		}
		macCap(v, "latency")
	}

	// MACs.
	if targets.MACs > 0 || targets.MACsFraction > 0 {
		v, how := targets.MACs, "absolute"
		if targets.MACsFraction > 0 {
			if targets.MACsFraction > 1 {
				return nil, fmt.Errorf("device: MACs fraction %g must be in (0, 1]", targets.MACsFraction)
			}
			v = int64(targets.MACsFraction * float64(cost.MACs))
			how = fmt.Sprintf("%s of %s", fmtPct(targets.MACsFraction), si(cost.MACs))
		}
		if err := floorMACs("macs", v); err != nil {
			return nil, err
		}
		say("MACs target %s ⇒ ≤ %s MACs", how, si(v))
		macCap(v, "macs")
	}

	// Params.
	if targets.Params > 0 || targets.ParamsFraction > 0 {
		v, how := targets.Params, "absolute"
		if targets.ParamsFraction > 0 {
			if targets.ParamsFraction > 1 {
				return nil, fmt.Errorf("device: params fraction %g must be in (0, 1]", targets.ParamsFraction)
			}
			v = int64(targets.ParamsFraction * float64(cost.Params))
			how = fmt.Sprintf("%s of %s", fmtPct(targets.ParamsFraction), si(cost.Params))
		}
		if err := floorParams("params", v); err != nil {
			return nil, err
		}
		say("params target %s ⇒ ≤ %s params", how, si(v))
		paramCap(v, "params")
	}

	// Memory (explicit, or auto = half of what is available).
	memTarget := func(name string, totalBytes float64, what string) error {
		fixed := float64(cost.ActivationBytes + RuntimeOverheadBytes)
		room := totalBytes - fixed
		perParam := bytesPerParam * WeightCopies
		smallestParams := float64(max(cost.FloorParams, 0))
		smallest := (fixed + smallestParams*perParam) / (1 << 20)
		if room <= 0 {
			return &ImpossibleError{Target: name, Requested: totalBytes / (1 << 20), Smallest: smallest, Unit: "MB",
				Reason: fmt.Sprintf("activations alone take %s and the runtime %s", mib(cost.ActivationBytes), mib(RuntimeOverheadBytes))}
		}
		params := int64(room / perParam)
		if cost.FloorParams > 0 && params < cost.FloorParams {
			return &ImpossibleError{Target: name, Requested: totalBytes / (1 << 20), Smallest: smallest, Unit: "MB",
				Reason: fmt.Sprintf("activations %s + runtime %s + %d× rank-1 floor weights %s", mib(cost.ActivationBytes), mib(RuntimeOverheadBytes), WeightCopies, mib(int64(smallestParams*bytesPerParam)))}
		}
		say("%s − %s activations − %s runtime = %s for %d copies of the weights ⇒ ≤ %s weights (%s params)",
			what, mib(cost.ActivationBytes), mib(RuntimeOverheadBytes), mib(int64(room)), WeightCopies, mib(int64(room/WeightCopies)), si(params))
		paramCap(params, name)
		return nil
	}
	if targets.MemoryMB > 0 {
		if err := memTarget("memory", targets.MemoryMB*(1<<20), fmt.Sprintf("memory %s MB", fmtNum(targets.MemoryMB))); err != nil {
			return nil, err
		}
	}
	if targets.Auto {
		if prof == nil {
			return nil, fmt.Errorf("device: the auto target needs a device profile; run Probe first")
		}
		avail := prof.Memory.EffectiveAvailable
		if avail <= 0 {
			avail = prof.Memory.Limit
		}
		if avail <= 0 {
			return nil, fmt.Errorf("device: the auto target needs the available memory, which the probe could not find (see its sources)")
		}
		if err := memTarget("auto", float64(avail)/2, fmt.Sprintf("auto: half of %s available (%s)", mib(avail), prof.Memory.LimitSource)); err != nil {
			return nil, err
		}
	}

	if perMACms > 0 {
		b.PredictedMs = fixedMs + float64(b.MACs)*perMACms
	}
	if b.Binding == "none" {
		say("the dense model already meets every target: no compression needed")
	} else {
		say("budget: ≤ %s MACs (%s of the model), ≤ %s params (%s), binding target: %s",
			si(b.MACs), fmtPct(float64(b.MACs)/float64(cost.MACs)), si(b.Params), mib(b.WeightBytes), b.Binding)
	}
	return b, nil
}

// si formats a count with k/M/G suffixes ("380 M").
func si(v int64) string {
	f := float64(v)
	switch {
	case math.Abs(f) >= 1e9:
		return trim(f/1e9) + " G"
	case math.Abs(f) >= 1e6:
		return trim(f/1e6) + " M"
	case math.Abs(f) >= 1e3:
		return trim(f/1e3) + " k"
	}
	return strconv.FormatInt(v, 10)
}

func trim(f float64) string {
	if f >= 100 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 3-len(strconv.Itoa(int(f))), 64)
}

func mib(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 2, 64) + " MB" }

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }

func fmtPct(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

func threadsText(n int) string {
	if n == 1 {
		return "1 thread"
	}
	return strconv.Itoa(n) + " threads"
}

// CostOfModel is CostOf for a loaded model: its batch-1 layers under
// opts, predicted by cal at opts.Threads (≤ 0: the largest calibrated
// count) when cal is non-nil.
func CostOfModel(m *runtime.Model, opts runtime.Options, cal *Calibration) (ModelCost, error) {
	if m == nil {
		return ModelCost{}, fmt.Errorf("device: no model to cost")
	}
	layers, err := m.Layers(1, opts)
	if err != nil {
		return ModelCost{}, err
	}
	var pred *Prediction
	if cal != nil {
		if pred, err = Predict(layers, cal, opts.Threads); err != nil {
			return ModelCost{}, err
		}
	}
	return CostOf(m.Info(), layers, pred), nil
}
