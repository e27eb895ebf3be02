package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/edgeml/edge/data"
)

var evalCommand = &command{
	name:    "eval",
	summary: "measure top-1/top-5 accuracy and images/s on a labeled dataset",
	usage: `Usage: edge eval --model M.onnx --data fashion-mnist|DIR [--split test|train] [--limit N]
                 [--batch 64] [--threads N] [--json] [--save-outputs F]

Runs the model over a dataset in batches and prints top-1 and top-5
accuracy and the throughput (images per second of wall time, decoding
included). --data is fashion-mnist (Debian's dataset-fashion-mnist, split
test = t10k or train), a directory of IDX files, or an ImageFolder tree
DIR/<class>/*.png|jpg (classes sorted by name = label order).
--save-outputs writes the raw outputs, float32 little-endian, N×classes
row-major, for comparison with other runtimes.

Examples:
  edge eval --model fmnist-small.onnx --data fashion-mnist
  edge eval --model fmnist-small.onnx --data fashion-mnist --split train --limit 1000 --json
  edge eval --model m.onnx --data ./photos --size 224 --rgb
  edge eval --model m.onnx --data fashion-mnist --save-outputs edge.f32`,
	newOpts: func() options { return &evalOpts{batch: 64, split: "test"} },
}

type evalOpts struct {
	common
	prep        prepFlags
	data        string
	split       string
	limit       int
	batch       int
	saveOutputs string
}

func (o *evalOpts) flags(fs *flag.FlagSet) {
	o.common.register(fs)
	o.prep.register(fs)
	flagData(fs, &o.data, "")
	fs.StringVar(&o.split, "split", "test", "dataset `SPLIT`: test or train (IDX datasets)")
	fs.IntVar(&o.limit, "limit", 0, "evaluate only the first `N` images (0 = all)")
	fs.IntVar(&o.batch, "batch", 64, "`B` images per inference")
	fs.StringVar(&o.saveOutputs, "save-outputs", "", "write raw float32 LE outputs (N×classes) to `FILE`")
}

// EvalReport is the JSON of `edge eval --json`.
type EvalReport struct {
	Model      string   `json:"model"`
	Data       string   `json:"data"`
	N          int      `json:"n"`
	Labeled    bool     `json:"labeled"`
	Top1       *float64 `json:"top1"` // null when the data has no labels
	Top5       *float64 `json:"top5"`
	ImagesPerS float64  `json:"images_per_s"`
	Seconds    float64  `json:"seconds"`
	Batch      int      `json:"batch"`
	Threads    int      `json:"threads"`
	Classes    int      `json:"classes"`
	Outputs    string   `json:"outputs,omitempty"`
}

// evalResult is what evaluate measures.
type evalResult struct {
	n, labeled, top1, top5 int
	seconds                float64
	outputs                []float32 // n×classes when kept
	classes                int
}

func (o *evalOpts) run(e *env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	if o.data == "" {
		return usagef("--data is required (fashion-mnist or a directory)")
	}
	if o.batch < 1 || o.limit < 0 {
		return usagef("--batch must be ≥ 1 and --limit ≥ 0")
	}
	if o.split != "test" && o.split != "train" {
		return usagef("--split %q: use test or train", o.split)
	}
	sopts, err := o.sessionOptions()
	if err != nil {
		return err
	}
	m, err := o.loadModel()
	if err != nil {
		return err
	}
	ds, err := data.Open(o.data, o.split)
	if err != nil {
		return err
	}
	if o.limit > 0 {
		ds = data.Slice(ds, 0, o.limit)
	}
	if ds.Len() == 0 {
		return fmt.Errorf("dataset %s has no images", ds.Name())
	}
	c, err := newClassifier(m, &o.prep, sopts)
	if err != nil {
		return err
	}
	defer c.Close()
	bar := e.newProgress("eval "+ds.Name(), float64(ds.Len()))
	res, err := evaluate(c, ds, o.batch, o.saveOutputs != "", bar)
	bar.Done()
	if err != nil {
		return err
	}
	if n := len(ds.Classes()); n > res.classes {
		e.logf("warning: the dataset has %d classes, the model outputs %d scores", n, res.classes)
	}
	if o.saveOutputs != "" {
		if err := saveFloat32(o.saveOutputs, res.outputs); err != nil {
			return err
		}
	}
	rep := EvalReport{Model: o.model, Data: ds.Name(), N: res.n, Labeled: res.labeled > 0,
		ImagesPerS: float64(res.n) / res.seconds, Seconds: res.seconds, Batch: o.batch,
		Threads: c.sess.Threads(), Classes: res.classes, Outputs: o.saveOutputs}
	if res.labeled > 0 {
		t1, t5 := float64(res.top1)/float64(res.labeled), float64(res.top5)/float64(res.labeled)
		rep.Top1, rep.Top5 = &t1, &t5
	}
	if o.json {
		return e.printJSON(rep)
	}
	w := e.stdout
	fmt.Fprintf(w, "model   %s\ndata    %s (%d images)\n", o.model, rep.Data, rep.N)
	if rep.Top1 != nil {
		fmt.Fprintf(w, "top-1   %.4f (%d/%d)\ntop-5   %.4f (%d/%d)\n", *rep.Top1, res.top1, res.labeled, *rep.Top5, res.top5, res.labeled)
	} else {
		fmt.Fprintln(w, "top-1   n/a (unlabeled images)")
	}
	fmt.Fprintf(w, "speed   %.1f images/s (%.2f s, batch %d, %d threads)\n", rep.ImagesPerS, rep.Seconds, rep.Batch, rep.Threads)
	if o.saveOutputs != "" {
		fmt.Fprintf(w, "outputs %s (%d×%d float32 LE)\n", o.saveOutputs, res.n, res.classes)
	}
	return nil
}

// evaluate runs c over ds in batches; preprocessing of the next batch
// overlaps inference of the current one.
func evaluate(c *classifier, ds data.Dataset, batch int, keep bool, bar *progress) (evalResult, error) {
	type job struct {
		start, n int
		x        []float32
		labels   []int
		err      error
	}
	size := c.prep.Size()
	free := make(chan *job, 2)
	for i := 0; i < 2; i++ {
		free <- &job{x: make([]float32, batch*size), labels: make([]int, batch)}
	}
	ready := make(chan *job, 2)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(ready)
		for start := 0; start < ds.Len(); start += batch {
			var j *job
			select {
			case j = <-free:
			case <-stop:
				return
			}
			j.start, j.n = start, min(batch, ds.Len()-start)
			j.err = c.prep.Fill(ds, j.start, j.n, j.x, j.labels, 4)
			select {
			case ready <- j:
			case <-stop:
				return
			}
			if j.err != nil {
				return
			}
		}
	}()
	var r evalResult
	t0 := time.Now()
	for j := range ready {
		if j.err != nil {
			return r, j.err
		}
		scores, err := c.infer(j.x, j.n)
		if err != nil {
			return r, err
		}
		k := c.classes
		if keep {
			r.outputs = append(r.outputs, scores[:j.n*k]...)
		}
		for i := 0; i < j.n; i++ {
			l := j.labels[i]
			if l < 0 {
				continue
			}
			r.labeled++
			if l >= k {
				continue // a class the model cannot output counts as wrong
			}
			rk := rank(scores[i*k:(i+1)*k], l)
			if rk == 1 {
				r.top1++
			}
			if rk <= 5 {
				r.top5++
			}
		}
		r.n += j.n
		bar.Set(float64(r.n))
		free <- j
	}
	r.seconds = time.Since(t0).Seconds()
	r.classes = c.classes
	return r, nil
}

// saveFloat32 writes v as little-endian float32 (temp file + rename).
func saveFloat32(path string, v []float32) error {
	return writeFileAtomic(path, func(f *os.File) error {
		w := bufio.NewWriterSize(f, 1<<16)
		var b [4]byte
		for _, x := range v {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
			if _, err := w.Write(b[:]); err != nil {
				return err
			}
		}
		return w.Flush()
	})
}
