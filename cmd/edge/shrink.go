package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/edgeml/edge/cmd/edge/internal/report"
	"github.com/edgeml/edge/compress"
	"github.com/edgeml/edge/data"
	"github.com/edgeml/edge/device"
	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

// Helpers shared by `edge compress` and `edge demo`.

// loadImages preprocesses every image of ds for model m into one
// N×C×H×W tensor, with labels (nil when unlabeled).
func loadImages(m *runtime.Model, ds data.Dataset) (*ir.Tensor, []int, error) {
	ins := m.Inputs()
	if len(ins) != 1 {
		return nil, nil, fmt.Errorf("the model has %d inputs; compression needs a single image input", len(ins))
	}
	prep, err := data.FromModel(m.Info().Metadata, ins[0].Shape)
	if err != nil {
		return nil, nil, err
	}
	if err := prep.Validate(); err != nil {
		return nil, nil, err
	}
	if err := prep.CheckInput(ins[0].Shape); err != nil {
		return nil, nil, err
	}
	n := ds.Len()
	if n == 0 {
		return nil, nil, fmt.Errorf("dataset %s has no images", ds.Name())
	}
	t := ir.NewTensor(ir.Float32, ir.Shape(prep.Shape(n)))
	labels := make([]int, n)
	if err := prep.Fill(ds, 0, n, t.F32, labels, 4); err != nil {
		return nil, nil, err
	}
	for _, l := range labels {
		if l < 0 {
			labels = nil
			break
		}
	}
	return t, labels, nil
}

// compressBudget converts a device budget into compress's: only the
// constraints that bind below the dense model.
func compressBudget(b *device.Budget, macs, params int64) compress.Budget {
	var cb compress.Budget
	if b.MACs < macs {
		cb.MACs = b.MACs
	}
	if b.Params < params {
		cb.Params = b.Params
	}
	if cb == (compress.Budget{}) {
		cb.MACs = macs // the dense model fits: nothing to remove
	}
	return cb
}

// runCompress runs compress.Compress with a progress bar per stage and
// Ctrl-C cancelling the run.
func runCompress(e *env, ctx context.Context, m *runtime.Model, opts compress.Options, label string) (*compress.Result, error) {
	var bar *progress
	stage := ""
	opts.Progress = func(p compress.Progress) {
		if p.Stage != stage {
			bar.Done()
			stage = p.Stage
			bar = e.newProgress(fmt.Sprintf("%s: %s", label, stage), float64(p.MaxIter)).Tick()
		}
		bar.Set(float64(p.Iter))
		if !math.IsNaN(p.Objective) && p.Objective != 0 {
			bar.Status(fmt.Sprintf("objective %.4g", p.Objective))
		}
	}
	res, err := compress.Compress(ctx, m, opts)
	bar.Done()
	return res, err
}

// hashFile returns the hex SHA-256 of a file ("" when unreadable).
func hashFile(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashBytes returns the hex SHA-256 of b.
func hashBytes(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// accuracy evaluates m on ds (batch 64) and returns top-1 and top-5
// (nil when ds is unlabeled).
func accuracy(e *env, m *runtime.Model, ds data.Dataset, sopts runtime.Options, label string) (top1, top5 *float64, err error) {
	c, err := newClassifier(m, &prepFlags{}, sopts)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	bar := e.newProgress(label, float64(ds.Len()))
	r, err := evaluate(c, ds, 64, false, bar)
	bar.Done()
	if err != nil || r.labeled == 0 {
		return nil, nil, err
	}
	t1, t5 := float64(r.top1)/float64(r.labeled), float64(r.top5)/float64(r.labeled)
	return &t1, &t5, nil
}

// benchSubprocess runs `edge bench --model path --json` in a child
// process so each model's peak RSS is its own.
func benchSubprocess(e *env, path string, threads int, disableISA string) (*BenchReport, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the edge binary to benchmark with: %w", err)
	}
	args := []string{"bench", "--model", path, "--json", "--quiet", "--threads", fmt.Sprint(threads)}
	if disableISA != "" {
		args = append(args, "--disable-isa", disableISA)
	}
	cmd := exec.Command(self, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	bar := e.newProgress("bench "+path, 0).Tick()
	out, err := cmd.Output()
	bar.Done()
	if err != nil {
		return nil, fmt.Errorf("benchmarking %s: %v: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	var r BenchReport
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("benchmarking %s: %v", path, err)
	}
	return &r, nil
}

// measure evaluates and benchmarks the model in file path.
func measure(e *env, m *runtime.Model, path string, ds data.Dataset, sopts runtime.Options, disableISA, label string) (*report.Measure, error) {
	info := m.Info()
	ms := &report.Measure{MACs: info.MACs, Params: info.Params, ModelBytes: fileSize(path)}
	if ds != nil {
		t1, t5, err := accuracy(e, m, ds, sopts, "eval "+label)
		if err != nil {
			return nil, err
		}
		ms.Top1, ms.Top5, ms.N = t1, t5, ds.Len()
	}
	b, err := benchSubprocess(e, path, sopts.Threads, disableISA)
	if err != nil {
		return nil, err
	}
	ms.P50Ms, ms.ImagesPerS, ms.PeakRSSMB = b.P50MS, b.ImagesPerS, b.PeakRSSMB
	return ms, nil
}

// reportLayers converts compress ranks for the report.
func reportLayers(rs []compress.Rank) []report.Layer {
	out := make([]report.Layer, len(rs))
	for i, r := range rs {
		out[i] = report.Layer{Name: r.Layer, Op: r.OpType, Scheme: r.Scheme, Kept: r.Kept, Full: r.Full, Dense: r.Dense, MACsBefore: r.MACsBefore, MACsAfter: r.MACsAfter}
	}
	return out
}

// reportDevice summarises a probe and calibration for the report.
func reportDevice(prof *device.Profile, cal *device.Calibration) report.Device {
	d := report.Device{Board: prof.Board.Name, CPU: strings.TrimSpace(prof.CPU.Vendor + " " + prof.CPU.Model), Arch: prof.CPU.Arch,
		Features: prof.CPU.Features, Threads: prof.CPU.Threads, MemoryLimit: prof.Memory.Limit}
	if cal != nil {
		d.PeakGFLOPS = map[string]float64{}
		for _, t := range cal.Threads {
			d.PeakGFLOPS[fmt.Sprint(t)] = math.Round(cal.PeakGFLOPS(t)*10) / 10
		}
		d.Calibration = cal.Kernel
	}
	return d
}

// writeReport writes the HTML report and its JSON twin (same name,
// .json) atomically.
func writeReport(htmlPath, jsonPath string, r *report.Report) error {
	if err := writeFileAtomic(htmlPath, func(f *os.File) error { return report.Write(f, r) }); err != nil {
		return err
	}
	return writeFileAtomic(jsonPath, func(f *os.File) error { return report.WriteJSON(f, r) })
}

// jsonPathFor returns the JSON twin of an HTML report path.
func jsonPathFor(html string) string {
	if i := strings.LastIndex(html, "."); i > strings.LastIndex(html, "/") {
		return html[:i] + ".json"
	}
	return html + ".json"
}

// describeTargets renders targets as the flags that set them.
func describeTargets(t device.Targets) string {
	var parts []string
	if t.LatencyMs > 0 {
		parts = append(parts, fmt.Sprintf("--latency-ms %g", t.LatencyMs))
	}
	if t.MemoryMB > 0 {
		parts = append(parts, fmt.Sprintf("--memory-mb %g", t.MemoryMB))
	}
	if t.MACsFraction > 0 {
		parts = append(parts, fmt.Sprintf("--macs %g", t.MACsFraction))
	}
	if t.MACs > 0 {
		parts = append(parts, fmt.Sprintf("--macs %d", t.MACs))
	}
	if t.ParamsFraction > 0 {
		parts = append(parts, fmt.Sprintf("--params %g", t.ParamsFraction))
	}
	if t.Params > 0 {
		parts = append(parts, fmt.Sprintf("--params %d", t.Params))
	}
	if t.Auto {
		parts = append(parts, "--auto")
	}
	return strings.Join(parts, " ")
}

// impossible rewrites budget errors from device and compress into one
// message form and keeps them matchable with errors.Is.
func impossible(err error) error {
	if (errors.Is(err, device.ErrImpossibleBudget) || errors.Is(err, compress.ErrImpossibleBudget)) && !strings.Contains(err.Error(), "impossible budget") {
		return fmt.Errorf("impossible budget: %w", err)
	}
	return err
}

func nanToNil(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }
