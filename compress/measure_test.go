package compress

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMeasure produces the accuracy table of COMPRESSION.md. It runs only
// when EDGE_COMPRESS_MEASURE lists runs as model@budget (e.g.
// "fmnist-vgg16@0.4,fmnist-resnet18@0.5"); results are appended to
// $EDGE_COMPRESS_OUT (default compress-measure.txt). Calibration: 1024
// train images; evaluation: the first $EDGE_COMPRESS_EVAL test images
// (default 10000).
func TestMeasure(t *testing.T) {
	spec := os.Getenv("EDGE_COMPRESS_MEASURE")
	if spec == "" {
		t.Skip("set EDGE_COMPRESS_MEASURE to run")
	}
	out := os.Getenv("EDGE_COMPRESS_OUT")
	if out == "" {
		out = "compress-measure.txt"
	}
	nEval := 10000
	if v, err := strconv.Atoi(os.Getenv("EDGE_COMPRESS_EVAL")); err == nil {
		nEval = v
	}
	limit := 5 * time.Minute
	if v, err := time.ParseDuration(os.Getenv("EDGE_COMPRESS_LIMIT")); err == nil {
		limit = v
	}
	methods := []Method{MethodUniform, MethodGreedy, MethodCOBLA}
	if v := os.Getenv("EDGE_COMPRESS_METHODS"); v != "" {
		methods = nil
		for _, m := range strings.Split(v, ",") {
			methods = append(methods, Method(m))
		}
	}
	cal := loadCalib(t, "train", 0, 1024)
	test := loadCalib(t, "t10k", 0, nEval)
	f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, run := range strings.Split(spec, ",") {
		name, frac, _ := strings.Cut(run, "@")
		fr, err := strconv.ParseFloat(frac, 64)
		if err != nil {
			t.Fatalf("bad run %q", run)
		}
		m := loadFixture(t, name)
		info := m.Info()
		dense := top1(t, m.Graph(), test)
		fmt.Fprintf(f, "%s dense top1=%.4f macs=%d params=%d eval=%d\n", name, dense, info.MACs, info.Params, nEval)
		for _, method := range methods {
			da := false
			if strings.HasSuffix(string(method), "+refit") {
				method, da = Method(strings.TrimSuffix(string(method), "+refit")), true
			}
			budget := Budget{MACs: int64(fr * float64(info.MACs))}
			res, err := Compress(context.Background(), m, Options{Method: method, Budget: budget, Calib: cal, Seed: 1, Threads: 2, TimeLimit: limit, DataAware: da,
				Progress: func(p Progress) {
					if p.Stage == "solve" && p.Iter > 0 {
						t.Logf("%s %s it %d f %.4f elapsed %v", name, method, p.Iter, p.Objective, p.Elapsed.Round(time.Second))
					}
				}})
			if err != nil {
				fmt.Fprintf(f, "%s@%.2f %s error: %v\n", name, fr, method, err)
				continue
			}
			acc := top1(t, res.Graph, test)
			line := fmt.Sprintf("%s@%.2f %s refit=%v top1=%.4f macs=%d/%d params=%d/%d iters=%d seconds=%.0f heldout_obj=%.4f heldout_top1=%.4f",
				name, fr, method, da, acc, res.MACsAfter, res.MACsBefore, res.ParamsAfter, res.ParamsBefore, res.Iterations, res.Seconds, res.HeldOutObjective, res.HeldOutTop1After)
			t.Log(line)
			fmt.Fprintln(f, line)
		}
	}
}
