package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// edgeBin is the binary built once by TestMain.
var edgeBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "edge-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	edgeBin = filepath.Join(dir, "edge")
	gobin := filepath.Join(goruntime.GOROOT(), "bin", "go")
	cmd := exec.Command(gobin, "build", "-o", edgeBin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building edge:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testModel = "assets/fmnist-small.onnx"

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// edge runs the built binary in the package directory.
func edge(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(edgeBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "EDGE_PROGRESS=")
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running edge %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// golden compares got with testdata/golden/name (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// jsonObject checks that s is exactly one JSON object and decodes it.
func jsonObject(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, s)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", s)
	}
	return v
}

// TestHelp checks the help text of every command against golden files.
func TestHelp(t *testing.T) {
	r := edge(t, "help")
	if r.code != ExitOK {
		t.Fatalf("edge help: exit %d", r.code)
	}
	golden(t, "help.txt", r.stdout)
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			r := edge(t, "help", c.name)
			if r.code != ExitOK || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "Flags:") {
				t.Errorf("help lacks examples or flags:\n%s", r.stdout)
			}
			golden(t, "help-"+c.name+".txt", r.stdout)
			if h := edge(t, c.name, "--help"); h.code != ExitOK || h.stdout != r.stdout {
				t.Errorf("edge %s --help differs from edge help %s (exit %d)", c.name, c.name, h.code)
			}
		})
	}
}

// TestUsageErrors checks exit code 2 and the message for command-line
// mistakes.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"no args", nil, "Usage:"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown help topic", []string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"eval", "--bogus"}, "flag provided but not defined: --bogus"},
		{"bad flag value", []string{"bench", "--iters", "many"}, `invalid value "many" for flag -iters`},
		{"run without model", []string{"run", "testdata/images/trouser.png"}, "--model is required"},
		{"run without images", []string{"run", "--model", testModel}, "give at least one image file"},
		{"run bad top", []string{"run", "--model", testModel, "--top", "0", "x.png"}, "--top 0"},
		{"run gray and rgb", []string{"run", "--model", testModel, "--gray", "--rgb", "testdata/images/trouser.png"}, "exclude each other"},
		{"run bad size", []string{"run", "--model", testModel, "--size", "0x3", "testdata/images/trouser.png"}, "size"},
		{"eval without data", []string{"eval", "--model", testModel}, "--data is required"},
		{"eval bad split", []string{"eval", "--model", testModel, "--data", "fashion-mnist", "--split", "dev"}, `--split "dev"`},
		{"eval extra arg", []string{"eval", "--model", testModel, "--data", "fashion-mnist", "extra"}, `unexpected argument "extra"`},
		{"negative threads", []string{"eval", "--model", testModel, "--data", "testdata/folder", "--threads", "-1"}, "--threads -1"},
		{"bad isa", []string{"bench", "--model", testModel, "--disable-isa", "sse9"}, `unknown instruction set "sse9"`},
		{"bench bad gemm", []string{"bench", "--gemm", "1,2"}, "give M,N,K"},
		{"bench gemm and model", []string{"bench", "--gemm", "8,8,8", "--model", testModel}, "either --model or --gemm"},
		{"version extra arg", []string{"version", "now"}, `unexpected argument "now"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := edge(t, tc.args...)
			if r.code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, ExitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("stderr lacks %q:\n%s", tc.msg, r.stderr)
			}
			if r.stdout != "" {
				t.Fatalf("stdout not empty on usage error:\n%s", r.stdout)
			}
		})
	}
}

// TestFailures checks exit code 1 and the message for bad input files.
func TestFailures(t *testing.T) {
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"missing model", []string{"run", "--model", "testdata/missing.onnx", "testdata/images/trouser.png"}, "cannot read model: stat testdata/missing.onnx: no such file"},
		{"model is dir", []string{"bench", "--model", "testdata"}, "is a directory"},
		{"corrupt model", []string{"run", "--model", "testdata/corrupt.onnx", "testdata/images/trouser.png"}, "not a valid ONNX model"},
		{"truncated model", []string{"eval", "--model", "testdata/truncated.onnx", "--data", "testdata/folder"}, "corrupt or truncated"},
		{"corrupt model bench", []string{"bench", "--model", "testdata/corrupt.onnx"}, "not a valid ONNX model"},
		{"missing image", []string{"run", "--model", testModel, "testdata/images/nope.png"}, "not found: image testdata/images/nope.png"},
		{"corrupt image", []string{"run", "--model", testModel, "testdata/images/broken.png"}, "cannot decode image testdata/images/broken.png"},
		{"missing data", []string{"eval", "--model", testModel, "--data", "testdata/nowhere"}, "not found: dataset testdata/nowhere"},
		{"data is a file", []string{"eval", "--model", testModel, "--data", "testdata/corrupt.onnx"}, "is not a directory"},
		{"wrong size for model", []string{"run", "--model", testModel, "--size", "32", "testdata/images/trouser.png"}, "does not accept NCHW images of [1 1 32 32]"},
		{"rgb into gray model", []string{"run", "--model", testModel, "--rgb", "testdata/images/trouser.png"}, "does not accept"},
		{"conformance missing dir", []string{"conformance", "--dir", "testdata/nowhere"}, "no test suites"},
		{"save outputs to missing dir", []string{"eval", "--model", testModel, "--data", "testdata/folder", "--save-outputs", "testdata/nowhere/x.f32"}, "cannot write testdata/nowhere/x.f32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := edge(t, tc.args...)
			if r.code != ExitFailure {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, ExitFailure, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("stderr lacks %q:\n%s", tc.msg, r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "edge ") {
				t.Fatalf("message does not name the command:\n%s", r.stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	r := edge(t, "version")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "edge ") || !strings.Contains(r.stdout, goruntime.Version()) || !strings.Contains(r.stdout, "selected") {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	j := jsonObject(t, edge(t, "version", "--json").stdout)
	for _, k := range []string{"version", "go", "arch", "isa", "selected", "gemm_kernels"} {
		if _, ok := j[k]; !ok {
			t.Errorf("version JSON lacks %q", k)
		}
	}
	if j["arch"] != goruntime.GOARCH {
		t.Errorf("arch %v", j["arch"])
	}
	g := jsonObject(t, edge(t, "version", "--json", "--disable-isa", "all").stdout)
	sel := g["selected"].(map[string]any)
	if !strings.HasSuffix(sel["gemm"].(string), "-generic") {
		t.Errorf("--disable-isa all selected %v", sel["gemm"])
	}
}

func TestRun(t *testing.T) {
	r := edge(t, "run", "--model", testModel, "--top", "3", "--threads", "1",
		"testdata/images/ankle-boot.png", "testdata/images/pullover.png", "testdata/images/trouser.png", "testdata/images/trouser-rgb.jpg")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "run.txt", r.stdout)
	// Flags after the images, JSON.
	r = edge(t, "run", "testdata/images/ankle-boot.png", "--model", testModel, "--json", "--top", "2")
	j := jsonObject(t, r.stdout)
	res := j["results"].([]any)
	top := res[0].(map[string]any)["top"].([]any)
	first := top[0].(map[string]any)
	if len(top) != 2 || first["label"] != "Ankle boot" || first["class"].(float64) != 9 {
		t.Fatalf("top: %v", top)
	}
	if p := first["prob"].(float64); p <= 0.5 || p > 1 {
		t.Fatalf("prob %v", p)
	}
}

func TestEvalFolder(t *testing.T) {
	r := edge(t, "eval", "--model", testModel, "--data", "testdata/folder", "--json", "--batch", "5")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	j := jsonObject(t, r.stdout)
	if j["n"].(float64) != 12 || j["top1"].(float64) < 0.9 || j["top5"].(float64) < j["top1"].(float64) || j["images_per_s"].(float64) <= 0 {
		t.Fatalf("report %v", j)
	}
	r = edge(t, "eval", "--model", testModel, "--data", "testdata/folder")
	for _, want := range []string{"top-1", "top-5", "images/s", "12 images"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestEvalSaveOutputs checks that the saved outputs reproduce the
// reported accuracy and have the documented layout.
func TestEvalSaveOutputs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.f32")
	r := edge(t, "eval", "--model", testModel, "--data", "assets/fmnist:test:300", "--json", "--save-outputs", out)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	j := jsonObject(t, r.stdout)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 300*10*4 {
		t.Fatalf("outputs hold %d bytes, want %d", len(b), 300*10*4)
	}
	ds := mustOpen(t, "assets/fmnist:test:300")
	correct := 0
	for i := 0; i < 300; i++ {
		best, arg := float32(math.Inf(-1)), -1
		for k := 0; k < 10; k++ {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[(i*10+k)*4:]))
			if v > best {
				best, arg = v, k
			}
		}
		if arg == ds.Label(i) {
			correct++
		}
	}
	if got := float64(correct) / 300; math.Abs(got-j["top1"].(float64)) > 1e-12 {
		t.Fatalf("top-1 from saved outputs %v, reported %v", got, j["top1"])
	}
	if j["top1"].(float64) < 0.85 {
		t.Fatalf("top-1 %v is implausibly low for fmnist-small", j["top1"])
	}
	// No temporary files are left next to the output.
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 1 {
		t.Fatalf("directory holds %d files", len(ents))
	}
}

func TestBench(t *testing.T) {
	r := edge(t, "bench", "--model", testModel, "--iters", "5", "--threads", "1", "--json", "-v")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	j := jsonObject(t, r.stdout)
	for _, k := range []string{"p50_ms", "images_per_s", "peak_rss_mb", "min_ms", "p99_ms"} {
		if v, ok := j[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v", k, j[k])
		}
	}
	if j["min_ms"].(float64) > j["p50_ms"].(float64) || j["p50_ms"].(float64) > j["p99_ms"].(float64) {
		t.Errorf("latencies out of order: %v", j)
	}
	layers := j["layers"].([]any)
	if len(layers) < 6 {
		t.Fatalf("%d layers", len(layers))
	}
	convs := 0
	for _, l := range layers {
		l := l.(map[string]any)
		if l["op"] == "Conv" {
			convs++
			if l["kernel"] == "-" || l["kernel"] == "" {
				t.Errorf("conv layer %v has no kernel", l["name"])
			}
		}
	}
	if convs != 4 {
		t.Errorf("%d Conv layers, want 4", convs)
	}
	txt := edge(t, "bench", "--model", testModel, "--iters", "3", "-v", "--disable-isa", "all")
	if !strings.Contains(txt.stdout, "p50") || !strings.Contains(txt.stdout, "generic") {
		t.Errorf("bench -v --disable-isa all:\n%s", txt.stdout)
	}
	g := edge(t, "bench", "--gemm", "64,48,32", "--threads", "1", "--json")
	gj := jsonObject(t, g.stdout)
	if gj["gflops"].(float64) <= 0 || gj["m"].(float64) != 64 {
		t.Fatalf("gemm report %v", gj)
	}
}

func TestConformance(t *testing.T) {
	if _, err := os.Stat("/usr/share/libonnx-testdata/data/node"); err != nil {
		t.Skip("Debian libonnx-testdata not installed (make deps-test)")
	}
	r := edge(t, "conformance", "--filter", "test_relu", "--json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	j := jsonObject(t, r.stdout)
	if p := j["passed_cases"].([]any); len(p) == 0 || j["passed"].(float64) != float64(len(p)) {
		t.Fatalf("no relu case passed: %v", j)
	}
	if f := j["failed_cases"].([]any); len(f) != 0 || j["failed"].(float64) != 0 {
		t.Fatalf("failed: %v", f)
	}
	txt := edge(t, "conformance", "--filter", "test_relu")
	if !strings.Contains(txt.stdout, "passed") || !strings.Contains(txt.stdout, "failed  0") {
		t.Fatalf("text:\n%s", txt.stdout)
	}
}

// TestProgressHidden checks that progress never reaches a non-terminal
// stderr and that EDGE_PROGRESS=1 forces it.
func TestProgressHidden(t *testing.T) {
	r := edge(t, "eval", "--model", testModel, "--data", "assets/fmnist:test:200")
	if strings.Contains(r.stderr, "ETA") || strings.Contains(r.stderr, "\r") {
		t.Fatalf("progress written to a pipe:\n%q", r.stderr)
	}
	cmd := exec.Command(edgeBin, "eval", "--model", testModel, "--data", "assets/fmnist:test:200", "--batch", "10")
	cmd.Env = append(os.Environ(), "EDGE_PROGRESS=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "ETA") {
		t.Fatalf("EDGE_PROGRESS=1 shows no bar:\n%q", errb.String())
	}
	cmd = exec.Command(edgeBin, "eval", "--quiet", "--model", testModel, "--data", "assets/fmnist:test:200", "--batch", "10")
	cmd.Env = append(os.Environ(), "EDGE_PROGRESS=1")
	errb.Reset()
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil || errb.Len() != 0 {
		t.Fatalf("--quiet: err %v, stderr %q", err, errb.String())
	}
}
