package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProbe(t *testing.T) {
	for _, tc := range []struct {
		root, kind, name string
		threads          float64
	}{
		{"../../device/testdata/rpi4b-64bit", "raspberrypi", "Raspberry Pi 4 Model B", 4},
		{"../../device/testdata/x86-container-512m", "", "", 0},
	} {
		t.Run(filepath.Base(tc.root), func(t *testing.T) {
			r := edge(t, "probe", "--root", tc.root, "--json")
			if r.code != ExitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			j := jsonObject(t, r.stdout)
			if j["calibration"] != nil {
				t.Error("a fake root was calibrated")
			}
			board := j["board"].(map[string]any)
			if tc.kind != "" && (board["kind"] != tc.kind || board["name"] != tc.name) {
				t.Errorf("board %v", board)
			}
			if cpu := j["cpu"].(map[string]any); tc.threads > 0 && cpu["threads"].(float64) != tc.threads {
				t.Errorf("threads %v", cpu["threads"])
			}
			txt := edge(t, "probe", "--root", tc.root)
			for _, want := range []string{"board", "cpu", "simd", "cores", "caches", "memory"} {
				if !strings.Contains(txt.stdout, want) {
					t.Errorf("text lacks %q:\n%s", want, txt.stdout)
				}
			}
		})
	}
	r := edge(t, "probe", "--json", "--no-calibrate")
	j := jsonObject(t, r.stdout)
	if cpu := j["cpu"].(map[string]any); cpu["logical_cores"].(float64) < 1 {
		t.Errorf("host probe: %v", cpu)
	}
	if r := edge(t, "probe", "--root", "testdata/nowhere"); r.code != ExitFailure || !strings.Contains(r.stderr, "probe root") {
		t.Errorf("missing root: exit %d %s", r.code, r.stderr)
	}
}

func TestBudget(t *testing.T) {
	r := edge(t, "budget", "--model", testModel, "--macs", "0.5", "--json", "--quick")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	j := jsonObject(t, r.stdout)
	for _, k := range []string{"macs", "params", "activation_bytes", "predicted_ms", "budget_macs", "budget_bytes"} {
		if v, ok := j[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v", k, j[k])
		}
	}
	if got, want := j["budget_macs"].(float64), j["macs"].(float64)/2; got > want || got < want-1 {
		t.Errorf("budget_macs %v, want %v", got, want)
	}
	if j["binding"] != "macs" {
		t.Errorf("binding %v", j["binding"])
	}
	txt := edge(t, "budget", "--model", testModel, "--params", "60%", "--quick", "-v")
	for _, want := range []string{"predicted", "budget", "binding: params", "how:", "/2/Conv"} {
		if !strings.Contains(txt.stdout, want) {
			t.Errorf("text lacks %q:\n%s", want, txt.stdout)
		}
	}
}

func TestImpossibleBudget(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"budget macs", []string{"budget", "--model", testModel, "--macs", "0.001", "--quick"}},
		{"budget memory", []string{"budget", "--model", testModel, "--memory-mb", "1", "--quick"}},
		{"budget params", []string{"budget", "--model", testModel, "--params", "100"}},
		{"compress macs", []string{"compress", "--model", testModel, "--out", "OUT", "--macs", "1000", "--method", "greedy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "c.onnx")
			for i, a := range tc.args {
				if a == "OUT" {
					tc.args[i] = out
				}
			}
			r := edge(t, tc.args...)
			if r.code != ExitFailure {
				t.Fatalf("exit %d, want %d: %s", r.code, ExitFailure, r.stderr)
			}
			if !strings.Contains(r.stderr, "impossible budget") || !strings.Contains(r.stderr, "smallest reachable") {
				t.Fatalf("stderr:\n%s", r.stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a failed compression left an output file")
			}
		})
	}
}

func TestCompressUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"compress", "--model", testModel, "--macs", "0.5"}, "--out is required"},
		{[]string{"compress", "--model", testModel, "--out", "x.onnx"}, "give a budget target"},
		{[]string{"compress", "--model", testModel, "--out", "x.onnx", "--macs", "0.5", "--method", "best"}, `unknown method "best"`},
		{[]string{"compress", "--model", testModel, "--out", "x.onnx", "--macs", "0.5", "--scheme", "diagonal"}, `unknown scheme "diagonal"`},
		{[]string{"compress", "--model", testModel, "--out", "x.onnx", "--macs", "0.5", "--sweep", "0.5"}, "--sweep needs --data"},
		{[]string{"compress", "--model", testModel, "--out", "x.onnx", "--macs", "0.5", "--sweep", "2", "--data", "fashion-mnist"}, "--sweep"},
		{[]string{"compress", "--model", testModel, "--out", "x.onnx", "--macs", "lots"}, "macs target"},
		{[]string{"budget", "--model", testModel, "--latency-ms", "-3"}, "latency target"},
		{[]string{"demo", "--data", "fashion-mnist"}, "need --model"},
	} {
		t.Run(strings.Join(tc.args[3:], " "), func(t *testing.T) {
			r := edge(t, tc.args...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
		})
	}
}

func TestCompress(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "small-greedy.onnx")
	html := filepath.Join(dir, "report.html")
	r := edge(t, "compress", "--model", testModel, "--out", out, "--macs", "0.5", "--method", "greedy",
		"--data", "assets/fmnist:test:200", "--report", html, "--no-bench", "--json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	j := jsonObject(t, r.stdout)
	for _, k := range []string{"macs_before", "macs_after", "params_before", "params_after", "seconds"} {
		if _, ok := j[k].(float64); !ok {
			t.Errorf("%s = %v", k, j[k])
		}
	}
	if j["method"] != "greedy" || j["macs_after"].(float64) > j["macs_before"].(float64)/2 {
		t.Errorf("report %v", j)
	}
	ranks := j["ranks"].(map[string]any)
	if len(ranks) < 4 {
		t.Errorf("ranks %v", ranks)
	}
	ev := j["eval"].(map[string]any)
	if ev["top1_after"].(float64) < 0.5 {
		t.Errorf("compressed top-1 %v", ev["top1_after"])
	}
	// The output is a model edge runs.
	e := edge(t, "eval", "--model", out, "--data", "assets/fmnist:test:200", "--json")
	ej := jsonObject(t, e.stdout)
	if ej["top1"] != ev["top1_after"] {
		t.Errorf("eval of the output gives %v, compress reported %v", ej["top1"], ev["top1_after"])
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(page), "<svg ") != 2 {
		t.Errorf("report has %d charts, want 2 (ranks, MACs)", strings.Count(string(page), "<svg "))
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o644 {
		t.Errorf("output mode %v", st.Mode())
	}
}

// TestDemo runs the whole demo on the embedded model (skipped with -short).
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("demo takes tens of seconds")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	r := edge(t, "demo", "--out", dir, "--json", "--time-limit", "15s")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	j := jsonObject(t, r.stdout)
	d, c := j["dense"].(map[string]any), j["compressed"].(map[string]any)
	if c["macs"].(float64) > d["macs"].(float64)/2 {
		t.Errorf("compressed MACs %v > half of %v", c["macs"], d["macs"])
	}
	for _, m := range []map[string]any{d, c} {
		for _, k := range []string{"top1", "p50_ms", "images_per_s", "model_bytes", "peak_rss_mb"} {
			if v, ok := m[k].(float64); !ok || v <= 0 {
				t.Errorf("%s = %v", k, m[k])
			}
		}
	}
	if c["top1"].(float64) < d["top1"].(float64)-0.1 {
		t.Errorf("compressed top-1 %v vs dense %v", c["top1"], d["top1"])
	}
	for _, f := range []string{"fmnist-small-cobla.onnx", "report.html", "report.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if strings.Count(string(page), "<svg ") != 2 || !strings.Contains(string(page), "Dense vs compressed") {
		t.Errorf("report page incomplete")
	}
}
