package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/edgeml/edge/cmd/edge/internal/report"
	"github.com/edgeml/edge/compress"
	"github.com/edgeml/edge/data"
	"github.com/edgeml/edge/device"
	"github.com/edgeml/edge/runtime"
)

var demoCommand = &command{
	name:    "demo",
	summary: "the whole mission in one step: probe, budget, compress, compare dense vs compressed",
	usage: `Usage: edge demo [--model M.onnx --data DATA] [--calib DATA] [--latency-ms X|--memory-mb Y|--macs F|--params F]
                 [--out edge-demo] [--threads N] [--time-limit 20s] [--json]

With no flags it runs on the model and images embedded in the binary
(fmnist-small.onnx, 512 Fashion-MNIST train images for calibration, 1000
test images for evaluation; no files or network needed):
  1. probes the device and prints the summary;
  2. derives a budget (default: half of the model's MACs);
  3. compresses the model with COBLA;
  4. evaluates dense vs compressed (top-1) and benchmarks both (p50
     latency, images/s, model bytes, peak memory) and prints a table;
  5. writes the compressed model, report.html and report.json to --out.
With --model and --data the same flow runs on any model (--calib
defaults to the train split of --data, 512 images).

Examples:
  edge demo
  edge demo --latency-ms 0.8 --threads 2
  edge demo --model fmnist-resnet18.onnx --data fashion-mnist:test:2000 --macs 0.4
  edge demo --json | jq .compressed`,
	newOpts: func() options { return &demoOpts{out: "edge-demo", timeLimit: 20 * time.Second} },
}

type demoOpts struct {
	common
	targets   targetFlags
	data      string
	calib     string
	out       string
	timeLimit time.Duration
	seed      uint64
}

func (o *demoOpts) flags(fs *flag.FlagSet) {
	o.common.register(fs)
	o.targets.register(fs)
	flagData(fs, &o.data, "")
	fs.StringVar(&o.calib, "calib", "", "calibration images `DATA` (default: embedded, or the train split of --data)")
	fs.StringVar(&o.out, "out", "edge-demo", "output `DIR` for the compressed model and the report")
	fs.DurationVar(&o.timeLimit, "time-limit", 20*time.Second, "stop the solver after `DURATION`")
	fs.Uint64Var(&o.seed, "seed", 1, "random `SEED`")
}

// DemoReport is the JSON of `edge demo --json` (report.json has more).
type DemoReport struct {
	Model      string          `json:"model"`
	Device     report.Device   `json:"device"`
	Budget     report.Budget   `json:"budget"`
	Dense      *report.Measure `json:"dense"`
	Compressed *report.Measure `json:"compressed"`
	Method     string          `json:"method"`
	Seconds    float64         `json:"seconds"`
	Files      []string        `json:"files"`
}

func (o *demoOpts) run(e *env, args []string) error {
	start := time.Now()
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	tg, err := o.targets.parse()
	if err != nil {
		return err
	}
	if describeTargets(tg) == "" {
		tg.MACsFraction = 0.5
	}
	if o.model == "" && (o.data != "" || o.calib != "") {
		return usagef("--data and --calib need --model (the embedded images suit the embedded model only)")
	}
	if o.model != "" && o.data == "" {
		return usagef("--model needs --data to evaluate on (e.g. fashion-mnist)")
	}
	sopts, err := o.sessionOptions()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The model and the data.
	var (
		m          *runtime.Model
		modelName  string
		modelBytes []byte
		calibDS    data.Dataset
		evalDS     data.Dataset
	)
	if o.model == "" {
		modelName, modelBytes = "fmnist-small.onnx (embedded)", demoModel
		if m, err = runtime.LoadBytes(demoModel); err != nil {
			return err
		}
		if calibDS, err = demoDataset("train"); err != nil {
			return err
		}
		if evalDS, err = demoDataset("test"); err != nil {
			return err
		}
	} else {
		modelName = o.model
		if modelBytes, err = os.ReadFile(o.model); err != nil {
			return fmt.Errorf("cannot read model: %w", err)
		}
		if m, err = o.loadModel(); err != nil {
			return err
		}
		if evalDS, err = data.Open(o.data, "test"); err != nil {
			return err
		}
	}
	if o.calib != "" {
		if calibDS, err = data.Open(o.calib, "train"); err != nil {
			return err
		}
	} else if calibDS == nil {
		sp, err := data.ParseSpec(o.data, "test")
		if err != nil {
			return err
		}
		if calibDS, err = data.Open(sp.Source+":train:512", "train"); err != nil {
			return fmt.Errorf("calibration images from the train split of %s: %w (pass --calib)", sp.Source, err)
		}
	}

	// 1. Probe.
	e.logf("== 1. probe")
	prof, err := device.Probe(device.ProbeOptions{})
	if err != nil {
		return err
	}
	cal, err := calibrate(e, prof, sopts.Kernels, false, false)
	if err != nil {
		return err
	}
	if !o.json {
		printProfile(e.stdout, prof)
		printCalibration(e.stdout, cal)
		fmt.Fprintln(e.stdout)
	}

	// 2. Budget.
	e.logf("== 2. budget")
	br, err := deriveBudget(e, m, sopts, tg, false, true)
	if err != nil {
		return err
	}
	if !o.json {
		fmt.Fprintf(e.stdout, "model     %s: %s MACs, %s params, predicted %.3f ms at %d threads\n", modelName, humanCount(br.MACs), humanCount(br.Params), br.PredictedMs, br.Threads)
		fmt.Fprintf(e.stdout, "budget    %s ⇒ ≤ %s MACs, ≤ %s params (binding: %s)\n", describeTargets(tg), humanCount(br.BudgetMACs), humanCount(br.BudgetParams), br.Binding)
		for _, x := range br.Explanation {
			fmt.Fprintf(e.stdout, "          %s\n", x)
		}
		fmt.Fprintln(e.stdout)
	}

	// 3. Compress.
	e.logf("== 3. compress (COBLA, %d calibration images)", calibDS.Len())
	var calib compress.Calibration
	if calib.Images, calib.Labels, err = loadImages(m, calibDS); err != nil {
		return err
	}
	copts := compress.Options{Method: compress.MethodCOBLA, Budget: compressBudget(br.Budget, br.MACs, br.Params), Calib: calib,
		Seed: o.seed, TimeLimit: o.timeLimit, Threads: sopts.Threads, Kernels: sopts.Kernels, DataAware: true, SourceSHA256: hashBytes(modelBytes)}
	res, err := runCompress(e, ctx, m, copts, "compress cobla")
	if err != nil {
		return impossible(err)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", o.out, err)
	}
	base := strings.TrimSuffix(filepath.Base(strings.TrimSuffix(modelName, " (embedded)")), ".onnx")
	outModel := filepath.Join(o.out, base+"-cobla.onnx")
	if err := res.Write(outModel); err != nil {
		return err
	}
	os.Chmod(outModel, 0o644) // compress writes through a private temp file
	cm, err := runtime.Load(outModel)
	if err != nil {
		return fmt.Errorf("loading the compressed model back: %w", err)
	}

	// 4. Evaluate and benchmark both.
	e.logf("== 4. evaluate and benchmark dense vs compressed")
	densePath := o.model
	if densePath == "" {
		tmp, err := os.CreateTemp("", "edge-demo-dense-*.onnx")
		if err != nil {
			return err
		}
		densePath = tmp.Name()
		defer os.Remove(densePath)
		_, werr := tmp.Write(modelBytes)
		if cerr := tmp.Close(); werr != nil || cerr != nil {
			return fmt.Errorf("writing the dense model for benchmarking: %v %v", werr, cerr)
		}
	}
	dense, err := measure(e, m, densePath, evalDS, sopts, o.disableISA, "dense")
	if err != nil {
		return err
	}
	comp, err := measure(e, cm, outModel, evalDS, sopts, o.disableISA, "compressed")
	if err != nil {
		return err
	}
	dense.ModelBytes = int64(len(modelBytes))

	// 5. Report.
	rep := &report.Report{Title: "edge demo: " + modelName, Generated: time.Now().UTC().Format(time.RFC3339), Version: versionString(),
		Device: reportDevice(prof, cal),
		Budget: report.Budget{Targets: describeTargets(tg), MACs: br.BudgetMACs, Params: br.BudgetParams, WeightBytes: br.BudgetBytes,
			PredictedMs: br.BudgetPredMs, Binding: br.Binding, Explanation: br.Explanation},
		Model: report.Model{Name: modelName, SHA256: hashBytes(modelBytes), Output: outModel, Method: string(res.Method), Scheme: "auto",
			MACsBefore: res.MACsBefore, MACsAfter: res.MACsAfter, ParamsBefore: res.ParamsBefore, ParamsAfter: res.ParamsAfter, Seconds: res.Seconds},
		Layers: reportLayers(res.Ranks), Dense: dense, Compact: comp,
		EvalData: fmt.Sprintf("%s (%d images)", evalDS.Name(), evalDS.Len()), CalibData: fmt.Sprintf("%s (%d images)", calibDS.Name(), calibDS.Len()),
	}
	htmlPath, jsonPath := filepath.Join(o.out, "report.html"), filepath.Join(o.out, "report.json")
	if err := writeReport(htmlPath, jsonPath, rep); err != nil {
		return err
	}
	files := []string{outModel, htmlPath, jsonPath}
	if o.json {
		return e.printJSON(DemoReport{Model: modelName, Device: rep.Device, Budget: rep.Budget, Dense: dense, Compressed: comp,
			Method: string(res.Method), Seconds: since(start), Files: files})
	}
	w := e.stdout
	fmt.Fprintf(w, "compressed with COBLA in %.1f s (%d iterations); evaluated on %s\n\n", res.Seconds, res.Iterations, rep.EvalData)
	printTable(w, compareRows(dense, comp))
	fmt.Fprintf(w, "\nwrote %s\ndone in %.1f s\n", strings.Join(files, ", "), since(start))
	return nil
}

// compareRows is the side-by-side table of dense vs compressed.
func compareRows(d, c *report.Measure) [][]string {
	acc := func(p *float64) string {
		if p == nil {
			return "–"
		}
		return fmt.Sprintf("%.4f", *p)
	}
	ratio := func(a, b float64) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	return [][]string{
		{"", "dense", "compressed", "compressed/dense"},
		{"MACs/image", humanCount(d.MACs), humanCount(c.MACs), ratio(float64(c.MACs), float64(d.MACs))},
		{"params", humanCount(d.Params), humanCount(c.Params), ratio(float64(c.Params), float64(d.Params))},
		{"top-1", acc(d.Top1), acc(c.Top1), ""},
		{"top-5", acc(d.Top5), acc(c.Top5), ""},
		{"p50 latency", fmt.Sprintf("%.3f ms", d.P50Ms), fmt.Sprintf("%.3f ms", c.P50Ms), ratio(c.P50Ms, d.P50Ms)},
		{"images/s", fmt.Sprintf("%.0f", d.ImagesPerS), fmt.Sprintf("%.0f", c.ImagesPerS), ratio(c.ImagesPerS, d.ImagesPerS)},
		{"model bytes", humanBytes(d.ModelBytes), humanBytes(c.ModelBytes), ratio(float64(c.ModelBytes), float64(d.ModelBytes))},
		{"peak RSS", fmt.Sprintf("%.1f MB", d.PeakRSSMB), fmt.Sprintf("%.1f MB", c.PeakRSSMB), ratio(c.PeakRSSMB, d.PeakRSSMB)},
	}
}
