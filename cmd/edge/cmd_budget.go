package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/edgeml/edge/device"
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime"
)

var budgetCommand = &command{
	name:    "budget",
	summary: "show a model's cost on this device and the budget derived from targets",
	usage: `Usage: edge budget --model M.onnx [--latency-ms X] [--memory-mb Y] [--macs F|N] [--params F|N]
                   [--auto] [--threads N] [--json] [-v]

Prints the model's MACs, parameters, peak activation memory and its
latency predicted from this device's calibration (edge probe), then turns
the targets into a budget (MACs, weight bytes, activation bytes, threads)
and explains the derivation. The tightest target wins; with no target,
--auto (fit in half of the available memory) applies. --macs and
--params take a fraction of the model (0.5, 50%) or a count (300M).
A target no rank allocation can reach fails with the smallest reachable
value.

Examples:
  edge budget --model fmnist-vgg16.onnx --macs 0.4
  edge budget --model fmnist-resnet18.onnx --latency-ms 5 --threads 2
  edge budget --model fmnist-small.onnx --memory-mb 24 --json
  edge budget --model m.onnx --auto -v`,
	newOpts: func() options { return &budgetOpts{} },
}

type budgetOpts struct {
	common
	targets targetFlags
	quick   bool
	verbose bool
}

// targetFlags are the budget targets shared by budget, compress and demo.
type targetFlags struct {
	latency, memory, macs, params string
	auto                          bool
}

func (t *targetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.latency, "latency-ms", "", "latency target in `MS` per image at --threads")
	fs.StringVar(&t.memory, "memory-mb", "", "memory target in `MB`: weights + peak activations + runtime")
	fs.StringVar(&t.macs, "macs", "", "MACs target: a `FRACTION` of the model (0.5, 50%) or a count (300M)")
	fs.StringVar(&t.params, "params", "", "parameters target: a `FRACTION` of the model or a count")
	fs.BoolVar(&t.auto, "auto", false, "fit weights + activations in half of the available memory")
}

func (t *targetFlags) parse() (device.Targets, error) {
	tg, err := device.ParseTargets(device.TargetFlags{LatencyMs: t.latency, MemoryMB: t.memory, MACs: t.macs, Params: t.params, Auto: t.auto})
	if err != nil {
		return tg, usagef("%v", err)
	}
	return tg, nil
}

func (o *budgetOpts) flags(fs *flag.FlagSet) {
	o.common.register(fs)
	o.targets.register(fs)
	fs.BoolVar(&o.quick, "quick", false, "use the quick calibration (0.5 s when not cached)")
	fs.BoolVar(&o.verbose, "v", false, "print the predicted latency of each layer")
}

// BudgetReport is the JSON of `edge budget --json`.
type BudgetReport struct {
	Model           string              `json:"model"`
	MACs            int64               `json:"macs"`
	Params          int64               `json:"params"`
	WeightBytes     int64               `json:"weight_bytes"`
	ActivationBytes int64               `json:"activation_bytes"`
	FloorMACs       int64               `json:"floor_macs"`
	FloorParams     int64               `json:"floor_params"`
	Threads         int                 `json:"threads"`
	PredictedMs     float64             `json:"predicted_ms"`
	Targets         device.Targets      `json:"targets"`
	BudgetMACs      int64               `json:"budget_macs"`
	BudgetParams    int64               `json:"budget_params"`
	BudgetBytes     int64               `json:"budget_bytes"` // weight bytes
	BudgetActBytes  int64               `json:"budget_activation_bytes"`
	BudgetPredMs    float64             `json:"budget_predicted_ms,omitempty"`
	Binding         string              `json:"binding"`
	Explanation     []string            `json:"explanation"`
	Layers          []device.LayerCost  `json:"layers,omitempty"`
	Calibration     string              `json:"calibration"`
	Budget          *device.Budget      `json:"-"`
	Profile         *device.Profile     `json:"-"`
	Cal             *device.Calibration `json:"-"`
	Pred            *device.Prediction  `json:"-"`
	ModelLayers     []runtime.Layer     `json:"-"`
	Info            runtime.Info        `json:"-"`
	_               struct{}            `json:"-"`
}

// deriveBudget probes this device, calibrates it (when withCal or a
// latency target needs it), predicts the model and derives the budget
// for targets (none: auto).
func deriveBudget(e *env, m *runtime.Model, sopts runtime.Options, tg device.Targets, quick, withCal bool) (*BudgetReport, error) {
	prof, err := device.Probe(device.ProbeOptions{})
	if err != nil {
		return nil, err
	}
	threads := sopts.Threads
	if threads <= 0 {
		threads = prof.CPU.Threads
	}
	layers, err := m.Layers(1, sopts)
	if err != nil {
		return nil, err
	}
	var cal *device.Calibration
	var pred *device.Prediction
	if withCal || tg.LatencyMs > 0 {
		if cal, err = calibrate(e, prof, sopts.Kernels, quick, false); err != nil {
			return nil, err
		}
		if err = calibrateLayers(e, prof, cal, m, layers, sopts.Kernels, threads); err != nil {
			return nil, err
		}
		if pred, err = device.Predict(layers, cal, threads); err != nil {
			return nil, err
		}
	}
	info := m.Info()
	cost := device.CostOf(info, layers, pred)
	if tg == (device.Targets{}) {
		tg.Auto = true
	}
	b, err := device.DeriveBudget(cost, tg, prof, cal)
	if err != nil {
		return nil, impossible(err)
	}
	rep := &BudgetReport{
		MACs: cost.MACs, Params: cost.Params, WeightBytes: cost.WeightBytes, ActivationBytes: cost.ActivationBytes,
		FloorMACs: cost.FloorMACs, FloorParams: cost.FloorParams, Threads: threads,
		Targets: tg, BudgetMACs: b.MACs, BudgetParams: b.Params, BudgetBytes: b.WeightBytes, BudgetActBytes: b.ActivationBytes,
		BudgetPredMs: b.PredictedMs, Binding: b.Binding, Explanation: b.Explanation,
		Budget: b, Profile: prof, Cal: cal, Pred: pred, ModelLayers: layers, Info: info,
	}
	if pred != nil {
		rep.Threads, rep.PredictedMs, rep.Layers = pred.Threads, pred.TotalMs, pred.Layers
		how := "measured now"
		if cal.Cached {
			how = "cached " + cal.CreatedAt.Format("2006-01-02 15:04")
		}
		rep.Calibration = fmt.Sprintf("%s, %s", cal.Kernel, how)
	}
	return rep, nil
}

// calibrateLayers times the model's compute layers not yet in cal with
// the kernels the runtime plans for them (device.(*Calibration).AddLayers)
// and caches the extended calibration.
func calibrateLayers(e *env, prof *device.Profile, cal *device.Calibration, m *runtime.Model, layers []runtime.Layer, cfg kernels.Config, threads int) error {
	bar := e.newProgress("calibrating the model's layers", 0).Tick()
	n, err := cal.AddLayers(context.Background(), layers, device.LayerCalOptions{Threads: []int{threads}, Kernels: cfg, Graph: m.Graph(),
		// Each measured layer holds its weights twice (raw and packed).
		MaxWeightBytes: prof.Memory.EffectiveAvailable / 8})
	bar.Done()
	if err != nil {
		return err
	}
	if n > 0 && cal.Key != "" {
		if dir, err := device.CacheDir(); err == nil {
			// A cache that cannot be written only costs a re-measurement.
			_ = device.SaveCalibration(dir, cal)
		}
	}
	return nil
}

func (o *budgetOpts) run(e *env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	tg, err := o.targets.parse()
	if err != nil {
		return err
	}
	sopts, err := o.sessionOptions()
	if err != nil {
		return err
	}
	m, err := o.loadModel()
	if err != nil {
		return err
	}
	rep, err := deriveBudget(e, m, sopts, tg, o.quick, true)
	if err != nil {
		return err
	}
	rep.Model = o.model
	if !o.verbose && !o.json {
		rep.Layers = nil
	}
	if o.json {
		return e.printJSON(rep)
	}
	w := e.stdout
	fmt.Fprintf(w, "model      %s\n", o.model)
	fmt.Fprintf(w, "cost       %s MACs, %s params (%s weights), %s peak activations\n", humanCount(rep.MACs), humanCount(rep.Params), humanBytes(rep.WeightBytes), humanBytes(rep.ActivationBytes))
	fmt.Fprintf(w, "floor      %s MACs, %s params (every decomposable layer at rank 1)\n", humanCount(rep.FloorMACs), humanCount(rep.FloorParams))
	fmt.Fprintf(w, "predicted  %.3f ms at %d thread%s (calibration: %s)\n", rep.PredictedMs, rep.Threads, plural(rep.Threads), rep.Calibration)
	fmt.Fprintf(w, "budget     ≤ %s MACs (%.1f%%), ≤ %s params (%s weights), %s activations; binding: %s\n",
		humanCount(rep.BudgetMACs), 100*float64(rep.BudgetMACs)/float64(rep.MACs), humanCount(rep.BudgetParams), humanBytes(rep.BudgetBytes), humanBytes(rep.BudgetActBytes), rep.Binding)
	if rep.BudgetPredMs > 0 {
		fmt.Fprintf(w, "           predicted %.3f ms at the budget\n", rep.BudgetPredMs)
	}
	fmt.Fprintln(w, "\nhow:")
	for _, x := range rep.Explanation {
		fmt.Fprintf(w, "  %s\n", x)
	}
	if o.verbose {
		rows := [][]string{{"layer", "op", "category", "MACs", "compute ms", "memory ms", "overhead ms", "ms", "basis"}}
		for _, l := range rep.Layers {
			rows = append(rows, []string{trunc(l.Name, 32), l.OpType, l.Category, humanCount(l.MACs),
				fmt.Sprintf("%.4f", l.ComputeMs), fmt.Sprintf("%.4f", l.MemoryMs), fmt.Sprintf("%.4f", l.OverheadMs), fmt.Sprintf("%.4f", l.Ms), l.Basis})
		}
		fmt.Fprintln(w)
		printTable(w, rows)
	}
	return nil
}
