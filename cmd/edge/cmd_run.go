package main

import (
	"flag"
	"fmt"

	"github.com/edgeml/edge/data"
)

var runCommand = &command{
	name:    "run",
	summary: "classify images (JPEG/PNG) and print the top-k classes",
	usage: `Usage: edge run --model M.onnx [--top 5] [preprocessing flags] IMAGE...

Decodes each image, preprocesses it as the model's metadata_props say
(preprocess.scale/mean/std/layout/color; flags override them), runs the
model and prints the k most likely classes with their probability (softmax
of the outputs) and the class names of the model's "labels" metadata.

Examples:
  edge run --model fmnist-small.onnx boot.png
  edge run --model fmnist-small.onnx --top 3 a.png b.jpg
  edge run --model resnet.onnx --size 224 --rgb --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 cat.jpg
  edge run --model fmnist-small.onnx --json shirt.png | jq '.results[0].top[0]'`,
	newOpts: func() options { return &runOpts{top: 5} },
}

type runOpts struct {
	common
	prep prepFlags
	top  int
}

func (o *runOpts) flags(fs *flag.FlagSet) {
	o.common.register(fs)
	o.prep.register(fs)
	fs.IntVar(&o.top, "top", 5, "print the `K` most likely classes per image")
}

// RunReport is the JSON of `edge run --json`.
type RunReport struct {
	Model   string      `json:"model"`
	Results []RunResult `json:"results"`
}

// RunResult is one image's top-k.
type RunResult struct {
	Image string     `json:"image"`
	Top   []RunClass `json:"top"`
}

// RunClass is one predicted class.
type RunClass struct {
	Class int     `json:"class"`
	Label string  `json:"label"`
	Prob  float64 `json:"prob"`
	Score float32 `json:"score"` // raw model output
}

func (o *runOpts) run(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("give at least one image file")
	}
	if o.top < 1 {
		return usagef("--top %d: must be at least 1", o.top)
	}
	sopts, err := o.sessionOptions()
	if err != nil {
		return err
	}
	m, err := o.loadModel()
	if err != nil {
		return err
	}
	c, err := newClassifier(m, &o.prep, sopts)
	if err != nil {
		return err
	}
	defer c.Close()
	ds := data.NewFileDataset("images", args)
	rep := RunReport{Model: o.model}
	const batch = 32
	x := make([]float32, batch*c.prep.Size())
	for start := 0; start < ds.Len(); start += batch {
		n := min(batch, ds.Len()-start)
		if err := c.prep.Fill(ds, start, n, x, nil, 4); err != nil {
			return err
		}
		scores, err := c.infer(x, n)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			row := scores[i*c.classes : (i+1)*c.classes]
			p := probabilities(row)
			r := RunResult{Image: ds.Path(start + i)}
			for _, k := range topK(row, o.top) {
				r.Top = append(r.Top, RunClass{Class: k, Label: c.label(k), Prob: p[k], Score: row[k]})
			}
			rep.Results = append(rep.Results, r)
		}
	}
	if o.json {
		return e.printJSON(rep)
	}
	width := 0
	for _, r := range rep.Results {
		for _, t := range r.Top {
			width = max(width, len(t.Label))
		}
	}
	for i, r := range rep.Results {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprintln(e.stdout, r.Image)
		for j, t := range r.Top {
			fmt.Fprintf(e.stdout, "  %d. %-*s %6.2f%%  (class %d, score %.4g)\n", j+1, width, t.Label, 100*t.Prob, t.Class, t.Score)
		}
	}
	return nil
}
