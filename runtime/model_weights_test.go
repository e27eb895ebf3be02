package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/edgeml/edge/runtime/ir"
	"github.com/edgeml/edge/runtime/onnx"
)

// copyModel copies a model file into a temporary directory.
func copyModel(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skip(err)
	}
	p := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runBatch runs m on a seeded random batch and returns the first output.
func runBatch(t *testing.T, m *Model, batch int) (*ir.Tensor, error) {
	t.Helper()
	in := m.Inputs()[0]
	shape := append([]int(nil), in.Shape...)
	shape[0] = batch
	rng := newTestRNG()
	x := ir.NewTensor(ir.Float32, ir.Shape(shape))
	for i := range x.F32 {
		x.F32[i] = float32(rng.NormFloat64())
	}
	s, err := m.NewSession(Options{Threads: 2})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out, err := s.RunIR(map[string]*ir.Tensor{in.Name: x})
	if err != nil {
		return nil, err
	}
	return out[m.Outputs()[0].Name], nil
}

// TestReleasedWeights checks that Load drops the weights the plan packed,
// and that the model still runs other shapes and returns its full graphs,
// read back from the file, exactly as a model built from the decoded graph.
func TestReleasedWeights(t *testing.T) {
	for _, path := range fixtureModels(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			p := copyModel(t, path)
			m, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			if !m.released {
				t.Fatal("Load released no weights")
			}
			g, err := onnx.DecodeFile(p)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := FromGraph(g)
			if err != nil {
				t.Fatal(err)
			}
			if m.Info().WeightBytes != ref.Info().WeightBytes || m.Info().Params != ref.Info().Params {
				t.Errorf("weights %d B / %d params, want %d / %d", m.Info().WeightBytes, m.Info().Params, ref.Info().WeightBytes, ref.Info().Params)
			}
			sameOutputs(t, m, ref) // batch 2 reads the weights back
			if m.released {
				t.Fatal("weights still released after a plan for batch 2")
			}
			for name, want := range ref.Graph().Initializers {
				got := m.Graph().Initializers[name]
				if got == nil || !got.Shape.Equal(want.Shape) || fmt.Sprint(got.F32) != fmt.Sprint(want.F32) {
					t.Fatalf("Graph initializer %q differs after reading the weights back", name)
				}
			}
			for name, want := range g.Initializers {
				if got := m.Source().Initializers[name]; got == nil || len(got.F32) != len(want.F32) {
					t.Fatalf("Source initializer %q differs after reading the weights back", name)
				}
			}
		})
	}
}

// TestReleasedWeightsFileChanged checks that a model whose file was
// modified in place reports it instead of reading other weights.
func TestReleasedWeightsFileChanged(t *testing.T) {
	p := copyModel(t, "testdata/fmnist-small.onnx")
	m, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
	if _, err := runBatch(t, m, 1); err != nil {
		t.Fatalf("batch 1 (planned at Load) fails: %v", err)
	}
	if _, err := runBatch(t, m, 3); !errors.Is(err, ErrInvalidModel) || !strings.Contains(err.Error(), "modified") {
		t.Fatalf("batch 3 after the file changed: %v, want ErrInvalidModel (modified)", err)
	}
	for name, tn := range m.Graph().Initializers {
		if isReleased(tn) {
			t.Fatalf("Graph returns the released initializer %q", name)
		}
	}
}

// TestReleasedWeightsFileReplaced checks that replacing the file by a
// rename, as writeFileAtomic does, leaves the loaded model intact.
func TestReleasedWeightsFileReplaced(t *testing.T) {
	p := copyModel(t, "testdata/fmnist-small.onnx")
	m, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p+".new", []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
	if _, err := runBatch(t, m, 2); err != nil {
		t.Fatalf("batch 2 after the file was replaced: %v", err)
	}
}

// heapBytes is the heap in use after two collections: the first moves
// pooled GEMM scratch (sync.Pool, transient and not held by a model) to
// the victim cache, the second frees it.
func heapBytes() int64 {
	goruntime.GC()
	goruntime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// TestLoadMemory checks that a loaded, run model holds its weights once
// (packed) plus activations: heap in use after Load, NewSession and Run
// is at most 1.1 × (weights + planned peak activations) + 4 MB over the
// heap before.
func TestLoadMemory(t *testing.T) {
	path := "/work/shared/models/fmnist-resnet18.onnx"
	if _, err := os.Stat(path); err != nil || raceEnabled {
		path = "testdata/fmnist-small.onnx"
	}
	base := heapBytes()
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runBatch(t, m, 1); err != nil {
		t.Fatal(err)
	}
	used := heapBytes() - base
	in := m.Info()
	limit := (in.WeightBytes+in.PeakActivationBytes)*11/10 + 4<<20
	t.Logf("%s: heap %.1f MB, weights %.1f MB, activations %.1f MB, limit %.1f MB", filepath.Base(path), float64(used)/(1<<20), float64(in.WeightBytes)/(1<<20), float64(in.PeakActivationBytes)/(1<<20), float64(limit)/(1<<20))
	if used > limit {
		t.Errorf("heap in use %d B exceeds %d B: the weights are held more than once", used, limit)
	}
	goruntime.KeepAlive(m)
}

// TestPeakRSS runs Load, NewSession and two Runs of the fixture models
// in a fresh process (this test binary) and checks its peak RSS (VmHWM)
// against 1.2 × (weights + planned peak activations) + 30 MB, the bar of
// `edge bench`.
func TestPeakRSS(t *testing.T) {
	if path := os.Getenv("EDGE_PEAK_RSS_MODEL"); path != "" {
		m, err := Load(path)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		for range 2 {
			if _, err := runBatch(t, m, 1); err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
		}
		in := m.Info()
		fmt.Printf("peak %d weights %d activations %d\n", vmHWM(), in.WeightBytes, in.PeakActivationBytes)
		os.Exit(0)
	}
	if goruntime.GOOS != "linux" || raceEnabled {
		t.Skip("VmHWM is read from /proc/self/status; race builds use more memory")
	}
	if testing.Short() {
		t.Skip("-short: the child process cannot be started under an emulator (-exec qemu); the native run measures it")
	}
	paths := fixtureModels(t)
	// The ImageNet-shape exports of bench/ (not in git) when present:
	// imagenet-vgg16's 392 MB fc6 weight must not be held twice.
	for _, name := range []string{"imagenet-resnet18", "imagenet-squeezenet1_1", "imagenet-vgg16"} {
		if p := filepath.Join("..", "bench", "out", name+".onnx"); fileExists(p) {
			paths = append(paths, p)
		}
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			abs, _ := filepath.Abs(path)
			cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSS$")
			cmd.Env = append(os.Environ(), "EDGE_PEAK_RSS_MODEL="+abs)
			start := time.Now()
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var peak, w, a int64
			if _, err := fmt.Sscanf(string(out), "peak %d weights %d activations %d", &peak, &w, &a); err != nil {
				t.Fatalf("child output %q: %v", out, err)
			}
			bar := (w+a)*6/5 + 30<<20
			t.Logf("peak RSS %.1f MB, bar %.1f MB (weights %.1f MB, activations %.1f MB), %v", float64(peak)/(1<<20), float64(bar)/(1<<20), float64(w)/(1<<20), float64(a)/(1<<20), time.Since(start).Round(time.Millisecond))
			if peak > bar {
				t.Errorf("peak RSS %d B exceeds the bar %d B", peak, bar)
			}
		})
	}
}

// vmHWM is the process's peak resident set size in bytes (0 when
// unknown).
func vmHWM() int64 { return max(procKB("VmHWM"), 0) }

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// sameOutputs checks that m gives ref's outputs bit for bit at batch 1
// and then batch 2 (ref: the model built from the decoded graph).
func sameOutputs(t *testing.T, m, ref *Model) {
	t.Helper()
	for _, batch := range []int{1, 2} {
		got, err := runBatch(t, m, batch)
		if err != nil {
			t.Fatal(err)
		}
		want, err := runBatch(t, ref, batch)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Shape.Equal(want.Shape) || fmt.Sprint(got.F32) != fmt.Sprint(want.F32) {
			t.Fatalf("batch %d: output differs from the model built from the decoded graph", batch)
		}
	}
}
