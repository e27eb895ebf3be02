package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

// modelSession loads path and opens a session of threads on it, closed
// at the end of the test, with a random batch-1 input.
func modelSession(tb testing.TB, path string, threads int) (*Model, *Session, map[string]*ir.Tensor) {
	m, err := Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := m.NewSession(Options{Threads: threads})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	vi := m.Graph().Inputs[0]
	shape := append(ir.Shape{1}, vi.Shape[1:]...)
	return m, s, map[string]*ir.Tensor{vi.Name: randomInput(newTestRNG(), shape)}
}

// runAllocs is the steady-state cost of one Session.RunIR (with reuse,
// RunIRTo into the previous run's results) on a planned, warmed-up
// session: heap allocations and bytes per run.
func runAllocs(t testing.TB, path string, threads int, reuse bool) (allocs, bytes float64, layers int) {
	m, s, in := modelSession(t, path, threads)
	ls, err := m.Layers(1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.RunIR(in)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]*ir.Tensor
	run := func() {
		if !reuse {
			out = nil
		}
		if out, err = s.RunIRTo(out, in); err != nil {
			t.Fatal(err)
		}
		for name, w := range want {
			if !slices.Equal(out[name].F32, w.F32) || !slices.Equal(out[name].Shape, w.Shape) {
				t.Fatalf("output %q differs from the first run's", name)
			}
		}
	}
	// Collect the loads' garbage first and hold the collector off, so
	// that no collection empties the kernels' sync.Pools during the
	// measured runs (a Run allocates a few hundred bytes: the collector
	// would run only between runs in a real program); the warm-up runs
	// refill them.
	goruntime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for range 10 {
		run()
	}
	const runs = 50
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	for range runs {
		run()
	}
	goruntime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / runs, float64(after.TotalAlloc-before.TotalAlloc) / runs, len(ls)
}

// TestRunAllocs checks that a steady-state Run allocates a few objects
// whatever the model's size: GEMM tasks and pool work items are pooled,
// kernels take no per-call closures, scratch comes from the session, so
// garbage (and with it the RSS of a long benchmark) does not grow with
// the number of runs, and a run with the previous run's input shapes
// reuses its plan without building the plan key. The bound covers the
// result (the map and the output tensors); before the pooled tasks a Run
// allocated 68-377 objects (4-10 per layer).
func TestRunAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, path := range fixtureModels(t) {
		for _, threads := range []int{1, 2} {
			for _, reuse := range []bool{false, true} {
				// The result map and its tensors; reusing them, nothing
				// but the kernels' sync.Pools settling (a worker that
				// moved to another P misses its per-P cache at times; a
				// collection during the runs empties them).
				maxAllocs := 12.0
				if reuse {
					maxAllocs = 4
				}
				t.Run(fmt.Sprintf("%s/threads=%d/reuse=%v", filepath.Base(path), threads, reuse), func(t *testing.T) {
					allocs, bytes, layers := runAllocs(t, path, threads, reuse)
					t.Logf("%.1f allocs, %.0f B per Run, %d layers", allocs, bytes, layers)
					if allocs > maxAllocs {
						t.Errorf("a steady-state Run allocates %.1f objects (%.0f B); want at most %g", allocs, bytes, maxAllocs)
					}
				})
			}
		}
	}
}

// BenchmarkRunAllocs reports the allocations of one Run of each fixture
// model (and bench/out/imagenet-*.onnx when present) at 2 threads:
// go test -run X -bench RunAllocs -benchmem ./runtime/
func BenchmarkRunAllocs(b *testing.B) {
	paths, _ := filepath.Glob("/work/shared/models/fmnist-*.onnx")
	im, _ := filepath.Glob("../bench/out/imagenet-*.onnx")
	paths = append(paths, im...)
	for _, path := range paths {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		b.Run(filepath.Base(path), func(b *testing.B) {
			_, s, in := modelSession(b, path, 2)
			for range 2 {
				if _, err := s.RunIR(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.RunIR(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSessionSamePlan checks the plan reuse of consecutive runs: a run
// with other input shapes or bad inputs does not take the previous plan,
// and results do not depend on the path taken.
func TestSessionSamePlan(t *testing.T) {
	m, s, _ := modelSession(t, "testdata/fmnist-small.onnx", 2)
	vi := m.Inputs()[0]
	rng := newTestRNG()
	x1 := randomInput(rng, append(ir.Shape{1}, vi.Shape[1:]...))
	x2 := randomInput(rng, append(ir.Shape{2}, vi.Shape[1:]...))
	run := func(x *ir.Tensor) *ir.Tensor {
		t.Helper()
		out, err := s.RunIR(map[string]*ir.Tensor{vi.Name: x})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out {
			return v
		}
		t.Fatal("no output")
		return nil
	}
	first := run(x1)
	if again := run(x1); !slices.Equal(again.F32, first.F32) {
		t.Error("a repeated run (same plan) gives another result")
	}
	if b2 := run(x2); b2.Shape[0] != 2 {
		t.Errorf("batch 2 after batch 1: output shape %v", b2.Shape)
	}
	bad := &ir.Tensor{DType: ir.Float32, Shape: x2.Shape, F32: x1.F32}
	if _, err := s.RunIR(map[string]*ir.Tensor{vi.Name: bad}); !errors.Is(err, ErrInput) {
		t.Errorf("a tensor shorter than its shape after a run of that shape: err %v, want ErrInput", err)
	}
	if _, err := s.RunIR(map[string]*ir.Tensor{vi.Name: x2, "nope": x2}); !errors.Is(err, ErrInput) {
		t.Errorf("an unknown extra input: err %v, want ErrInput", err)
	}
	if again := run(x1); !slices.Equal(again.F32, first.F32) {
		t.Error("batch 1 after batch 2 gives another result")
	}
}
