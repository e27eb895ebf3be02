package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

// runAllocs is the steady-state cost of one Session.RunIR on a planned,
// warmed-up session: heap allocations and bytes per run.
func runAllocs(t testing.TB, path string, threads int) (allocs, bytes float64, layers int) {
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := m.Layers(1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession(Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	vi := m.Graph().Inputs[0]
	shape := ir.Shape{1}
	shape = append(shape, vi.Shape[1:]...)
	in := map[string]*ir.Tensor{vi.Name: randomInput(newTestRNG(), shape)}
	run := func() {
		if _, err := s.RunIR(in); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		run()
	}
	const runs = 10
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
// the number of runs. The bound covers the request (plan key) and its
// result (the map and the output tensors); before the pooled tasks a
// Run allocated 68-377 objects (4-10 per layer).
func TestRunAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	const maxAllocs = 32
	for _, path := range fixtureModels(t) {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", filepath.Base(path), threads), func(t *testing.T) {
				allocs, bytes, layers := runAllocs(t, path, threads)
				t.Logf("%.1f allocs, %.0f B per Run, %d layers", allocs, bytes, layers)
				if allocs > maxAllocs {
					t.Errorf("a steady-state Run allocates %.1f objects (%.0f B); want at most %d", allocs, bytes, maxAllocs)
				}
			})
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
			m, err := Load(path)
			if err != nil {
				b.Fatal(err)
			}
			s, err := m.NewSession(Options{Threads: 2})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			vi := m.Graph().Inputs[0]
			shape := append(ir.Shape{1}, vi.Shape[1:]...)
			in := map[string]*ir.Tensor{vi.Name: randomInput(newTestRNG(), shape)}
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
