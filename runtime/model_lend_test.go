package runtime

import (
	"bufio"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
	"github.com/edgeml/edge/runtime/onnx"
)

// bigDenseModel writes a model whose weights are nearly all one fully
// connected layer: x (1×in) → Gemm(W out×in, transB) → Relu.
func bigDenseModel(t *testing.T, in, out int) string {
	t.Helper()
	rng := newTestRNG()
	w := ir.NewTensor(ir.Float32, ir.Shape{out, in})
	for i := range w.F32 {
		w.F32[i] = float32(rng.NormFloat64())
	}
	b := ir.NewTensor(ir.Float32, ir.Shape{out})
	g := &ir.Graph{
		Name:         "big-dense",
		Opset:        13,
		Inputs:       []ir.ValueInfo{{Name: "x", DType: ir.Float32, Shape: ir.Shape{-1, in}}},
		Outputs:      []ir.ValueInfo{{Name: "y", DType: ir.Float32, Shape: ir.Shape{-1, out}}},
		Initializers: map[string]*ir.Tensor{"w": w, "b": b},
		Nodes: []*ir.Node{
			{Name: "fc", OpType: "Gemm", Inputs: []string{"x", "w", "b"}, Outputs: []string{"h"}, Attrs: map[string]*ir.Attr{"transB": {Type: ir.AttrInt, I: 1}}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"h"}, Outputs: []string{"y"}},
		},
	}
	data, err := onnx.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "big-dense.onnx")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// procKB reads a "Vm...:" line of /proc/self/status in bytes (-1 when
// absent).
func procKB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// loadPeak returns how far Load of path raises the resident size above
// what it was before (VmHWM, reset through /proc/self/clear_refs), or -1
// when the system cannot tell.
func loadPeak(t *testing.T, path string) (int64, *Model) {
	t.Helper()
	goruntime.GC()
	debug.FreeOSMemory()
	base := procKB("VmRSS")
	if base < 0 || os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) != nil {
		return -1, nil
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return procKB("VmHWM") - base, m
}

// TestLoadBigDenseOnce checks that Load of a model whose weights are one
// large fully connected layer never holds that weight twice: it is lent
// to the packing (kernels.LendWeight), which gives the packed rows back
// to the operating system as it goes, so the resident size rises by
// little more than one copy (decoded, then packed). With lending off the
// same measure sees both copies, so the bar can fail.
func TestLoadBigDenseOnce(t *testing.T) {
	if goruntime.GOOS != "linux" || raceEnabled {
		t.Skip("VmHWM is read from /proc/self/status; race builds use more memory")
	}
	if !dropWorks() {
		t.Skip("madvise(MADV_DONTNEED) does not lower the resident size here (emulator)")
	}
	const in, out = 3072, 4096 // 48 MiB of weights
	path := bigDenseModel(t, in, out)
	w := int64(in*out) * 4
	for _, lend := range []bool{true, false} {
		name := "lent"
		if !lend {
			name = "kept"
		}
		t.Run(name, func(t *testing.T) {
			defer setLendDense(lend)()
			peak, m := loadPeak(t, path)
			if peak < 0 {
				t.Skip("VmHWM cannot be reset (/proc/self/clear_refs)")
			}
			t.Logf("Load raised the peak RSS by %.1f MB for %.1f MB of weights", float64(peak)/(1<<20), float64(w)/(1<<20))
			if got := m.Info().WeightBytes; got < w {
				t.Fatalf("WeightBytes %d, want at least %d", got, w)
			}
			switch {
			case lend && peak > w*3/2:
				t.Errorf("peak rose by %d B > 1.5 × the %d B weight: it was held twice", peak, w)
			case !lend && peak < w*7/4:
				t.Errorf("without lending the peak rose by %d B only, want ≥ 1.75 × %d B: the measure cannot see a second copy", peak, w)
			}
			if _, err := runBatch(t, m, 1); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// dropWorks reports whether dropPages lowers the resident size of a
// touched 32 MiB buffer by at least half of it (not under some user-mode
// emulators, which ignore the advice).
func dropWorks() bool {
	goruntime.GC()
	debug.FreeOSMemory()
	b := make([]float32, 8<<20)
	for i := range b {
		b[i] = 1
	}
	before := procKB("VmRSS")
	dropPages(b)
	after := procKB("VmRSS")
	goruntime.KeepAlive(b)
	return before >= 0 && before-after >= int64(len(b))*4/2
}

// TestLendSharedWeight checks that a weight whose memory another
// constant shares is not lent: W feeds one Gemm directly and another
// through a Reshape that folding turns into a view of W, so dropping W's
// pages would zero the other layer's weight. The loaded model must
// compute what the model built from the decoded graph does.
func TestLendSharedWeight(t *testing.T) {
	const in, out = 300, 1024
	rng := newTestRNG()
	w := ir.NewTensor(ir.Float32, ir.Shape{out, in})
	for i := range w.F32 {
		w.F32[i] = float32(rng.NormFloat64())
	}
	shape := &ir.Tensor{DType: ir.Int64, Shape: ir.Shape{2}, I64: []int64{out, in}}
	transB := map[string]*ir.Attr{"transB": {Type: ir.AttrInt, I: 1}}
	g := &ir.Graph{
		Name:         "shared-weight",
		Opset:        13,
		Inputs:       []ir.ValueInfo{{Name: "x", DType: ir.Float32, Shape: ir.Shape{-1, in}}},
		Outputs:      []ir.ValueInfo{{Name: "y", DType: ir.Float32, Shape: ir.Shape{-1, out}}},
		Initializers: map[string]*ir.Tensor{"w": w, "shape": shape},
		Nodes: []*ir.Node{
			{Name: "fc1", OpType: "Gemm", Inputs: []string{"x", "w"}, Outputs: []string{"a"}, Attrs: transB},
			{Name: "view", OpType: "Reshape", Inputs: []string{"w", "shape"}, Outputs: []string{"w2"}},
			{Name: "fc2", OpType: "Gemm", Inputs: []string{"x", "w2"}, Outputs: []string{"b"}, Attrs: transB},
			{Name: "sum", OpType: "Add", Inputs: []string{"a", "b"}, Outputs: []string{"y"}},
		},
	}
	data, err := onnx.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shared-weight.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := LoadBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	sameOutputs(t, m, ref)
}
