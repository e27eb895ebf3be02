package device_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeml/edge/device"
	"github.com/edgeml/edge/device/devicetest"
	"github.com/edgeml/edge/kernels"
)

func TestCalibrateQuickAndCache(t *testing.T) {
	if testing.Short() {
		t.Skip("calibration takes about a second")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir, err := device.CacheDir()
	if err != nil || filepath.Base(dir) != "edge" || filepath.Dir(dir) != os.Getenv("XDG_CACHE_HOME") {
		t.Fatalf("CacheDir = %q, %v", dir, err)
	}
	prof, err := device.Probe(device.ProbeOptions{Root: devicetest.TreeDir("x86-container-512m")})
	if err != nil {
		t.Fatal(err)
	}
	opts := device.CalibrateOptions{Quick: true, Profile: prof, Threads: []int{1, 2}}
	start := time.Now()
	c1, err := device.Calibrate(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("quick calibration took %v (reported %.0f ms)", time.Since(start), c1.ElapsedMs)
	if c1.Cached {
		t.Error("first calibration came from an empty cache")
	}
	if c1.CPUModel != "AMD EPYC 9354 32-Core Processor" || c1.Board != "Dell Inc. PowerEdge R6625" || c1.Version == "" {
		t.Errorf("key fields: %q %q %q", c1.CPUModel, c1.Board, c1.Version)
	}
	if len(c1.Threads) == 0 || c1.Threads[0] != 1 {
		t.Fatalf("threads measured: %v", c1.Threads)
	}
	cats := map[string]bool{}
	for _, s := range c1.Shapes {
		cats[s.Category] = true
		if s.Ns <= 0 || (s.Flops > 0 && (s.GFLOPS <= 0 || s.ComputeGFLOPS <= 0)) {
			t.Errorf("shape %s at %d threads: %v ns, %v GFLOPS, %v compute", s.Name, s.Threads, s.Ns, s.GFLOPS, s.ComputeGFLOPS)
		}
		if (s.Category == device.CatPool || s.Category == device.CatElemwise) && s.RateGBs <= 0 {
			t.Errorf("shape %s: byte rate %v", s.Name, s.RateGBs)
		}
	}
	for _, c := range []string{device.CatConv, device.CatPointwise, device.CatDepthwise, device.CatFC, device.CatPool, device.CatElemwise} {
		if !cats[c] {
			t.Errorf("no calibrated shape of category %s", c)
		}
	}
	for _, m := range c1.Memory {
		if m.CacheGBs <= 0 || m.DRAMGBs <= 0 || m.OverheadNs <= 0 {
			t.Errorf("memory result %+v", m)
		}
	}
	if g := c1.PeakGFLOPS(1); g <= 0 {
		t.Errorf("peak GFLOPS %v", g)
	}

	// Second call: from the cache, identical.
	c2, err := device.Calibrate(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !c2.Cached || c2.Key != c1.Key || len(c2.Shapes) != len(c1.Shapes) || c2.Shapes[0] != c1.Shapes[0] || c2.Memory[0] != c1.Memory[0] {
		t.Errorf("cached calibration differs: cached=%v key %q vs %q", c2.Cached, c2.Key, c1.Key)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "calibration-amd-epyc-9354-*.json"))
	if len(files) != 1 {
		t.Errorf("cache files: %v", files)
	}
	// Recalibrate ignores the cache.
	opts.Recalibrate = true
	c3, err := device.Calibrate(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if c3.Cached {
		t.Error("Recalibrate returned the cached result")
	}
	// Another kernel choice is another key.
	opts.Recalibrate = false
	opts.Kernels = kernels.Generic
	opts.Threads = []int{1}
	c4, err := device.Calibrate(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if c4.Cached || c4.Key == c1.Key {
		t.Errorf("generic kernels reused key %q", c4.Key)
	}
}

func TestCalibrateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	prof := &device.Profile{CPU: device.CPU{Model: "x", Threads: 1}}
	if _, err := device.Calibrate(ctx, device.CalibrateOptions{Quick: true, NoCache: true, Profile: prof}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := device.Calibrate(context.Background(), device.CalibrateOptions{NoCache: true, Profile: prof, Threads: []int{0}}); err == nil {
		t.Error("thread count 0: no error")
	}
}

func TestCacheRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := devicetest.Calibration(10, 10, 1000, 2)
	c.Key = "Fake CPU|fake|devel|f32-gemm-fake|quick|[1 2]"
	if err := device.SaveCalibration(dir, c); err != nil {
		t.Fatal(err)
	}
	got, err := device.LoadCalibration(dir, c.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != c.Key || len(got.Shapes) != len(c.Shapes) || got.Shapes[3] != c.Shapes[3] || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Errorf("round trip changed the calibration")
	}
	if _, err := device.LoadCalibration(dir, "other"); !errors.Is(err, device.ErrNoCache) {
		t.Errorf("other key: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "calibration-*.json"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	os.WriteFile(files[0], []byte("{not json"), 0o644)
	if _, err := device.LoadCalibration(dir, c.Key); !errors.Is(err, device.ErrNoCache) {
		t.Errorf("corrupt file: %v", err)
	}
	c.Key = ""
	if err := device.SaveCalibration(dir, c); err == nil {
		t.Error("saving a keyless calibration: no error")
	}
}
