package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/edgeml/edge/data"
	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

// prepFlags are the preprocessing overrides of run and eval.
type prepFlags struct {
	size, mean, std, scale string
	gray, rgb              bool
}

func (p *prepFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.size, "size", "", "input image size `HxW` or N for N×N (default: the model's input shape)")
	fs.StringVar(&p.mean, "mean", "", "per-channel `LIST` of means subtracted after scaling (default: preprocess.mean)")
	fs.StringVar(&p.std, "std", "", "per-channel `LIST` of stds dividing after the mean (default: preprocess.std)")
	fs.StringVar(&p.scale, "scale", "", "`FACTOR` applied to 0..255 pixels, e.g. 1/255 (default: preprocess.scale)")
	fs.BoolVar(&p.gray, "gray", false, "feed gray images (default: preprocess.color)")
	fs.BoolVar(&p.rgb, "rgb", false, "feed RGB images (default: preprocess.color)")
}

// classifier runs an image classification model batch by batch.
type classifier struct {
	model   *runtime.Model
	sess    *runtime.Session
	prep    data.Preprocess
	input   string
	output  string
	labels  []string // class names, possibly nil
	classes int      // output width (0 until the first run)
}

// newClassifier loads the preprocessing from the model and flags and
// opens a session.
func newClassifier(m *runtime.Model, pf *prepFlags, opts runtime.Options) (*classifier, error) {
	ins, outs := m.Inputs(), m.Outputs()
	if len(ins) != 1 {
		return nil, fmt.Errorf("the model has %d inputs; edge classifies with single-input models", len(ins))
	}
	if len(outs) < 1 {
		return nil, fmt.Errorf("the model has no outputs")
	}
	if ins[0].DType != ir.Float32 && ins[0].DType != ir.Undefined {
		return nil, fmt.Errorf("the model input %q is %v; image models take float32", ins[0].Name, ins[0].DType)
	}
	meta := m.Info().Metadata
	prep, err := data.FromModel(meta, ins[0].Shape)
	if err != nil {
		return nil, err
	}
	if pf.gray && pf.rgb {
		return nil, usagef("--gray and --rgb exclude each other")
	}
	o := data.Overrides{Size: pf.size, Mean: pf.mean, Std: pf.std, Scale: pf.scale}
	if pf.gray {
		o.Color = "gray"
	} else if pf.rgb {
		o.Color = "rgb"
	}
	if err := prep.Override(o); err != nil {
		return nil, usagef("%v", err)
	}
	if err := prep.Validate(); err != nil {
		return nil, err
	}
	if err := prep.CheckInput(ins[0].Shape); err != nil {
		return nil, err
	}
	sess, err := m.NewSession(opts)
	if err != nil {
		return nil, err
	}
	return &classifier{model: m, sess: sess, prep: prep, input: ins[0].Name, output: outs[0].Name, labels: data.Labels(meta)}, nil
}

func (c *classifier) Close() { c.sess.Close() }

// infer runs n preprocessed images in x and returns n rows of scores.
func (c *classifier) infer(x []float32, n int) ([]float32, error) {
	in := &ir.Tensor{DType: ir.Float32, Shape: ir.Shape(c.prep.Shape(n)), F32: x[:n*c.prep.Size()]}
	out, err := c.sess.RunIR(map[string]*ir.Tensor{c.input: in}, c.output)
	if err != nil {
		return nil, err
	}
	t := out[c.output]
	if t == nil || t.DType != ir.Float32 || len(t.Shape) == 0 || t.Shape[0] != n || t.Len() == 0 || t.Len()%n != 0 {
		return nil, fmt.Errorf("output %q has shape %v; edge expects N×classes float32 scores", c.output, outShape(t))
	}
	if k := t.Len() / n; c.classes == 0 {
		c.classes = k
	} else if k != c.classes {
		return nil, fmt.Errorf("output %q changed width from %d to %d", c.output, c.classes, k)
	}
	return t.F32, nil
}

func outShape(t *ir.Tensor) any {
	if t == nil {
		return "(missing)"
	}
	return t.Shape
}

// label names class i.
func (c *classifier) label(i int) string {
	if i >= 0 && i < len(c.labels) {
		return c.labels[i]
	}
	return fmt.Sprintf("class %d", i)
}

// topK returns the indices of the k largest scores, best first (ties:
// lower index first).
func topK(scores []float32, k int) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	return idx[:min(k, len(idx))]
}

// rank is 1 + the number of scores strictly above scores[label] (ties
// resolved in favour of the lower index, as topK).
func rank(scores []float32, label int) int {
	r := 1
	for j, s := range scores {
		if s > scores[label] || (s == scores[label] && j < label) {
			r++
		}
	}
	return r
}

// probabilities returns softmax(scores) unless the scores already are a
// probability distribution.
func probabilities(scores []float32) []float64 {
	p := make([]float64, len(scores))
	sum, inRange := 0.0, true
	for i, s := range scores {
		p[i] = float64(s)
		sum += p[i]
		if s < 0 || s > 1 {
			inRange = false
		}
	}
	if inRange && math.Abs(sum-1) < 1e-3 {
		return p
	}
	mx := math.Inf(-1)
	for _, v := range p {
		mx = math.Max(mx, v)
	}
	sum = 0
	for i, v := range p {
		p[i] = math.Exp(v - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// writeFileAtomic writes a file through a temporary file in the same
// directory and a rename, so a failed run leaves no partial output.
func writeFileAtomic(path string, write func(f *os.File) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	tmp := f.Name()
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// isNotExist reports whether err is a missing-file error.
func isNotExist(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, data.ErrNotFound)
}
