// Package devicetest holds reusable fakes for code that uses package
// device: fake /proc and /sys trees and hand-made calibrations, so tests
// of the CLI and of the compressor run without probing or measuring the
// machine.
package devicetest

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/edgeml/edge/device"
)

// Trees names the fake machines in device/testdata.
var Trees = []string{"rpi4b-32bit", "rpi4b-64bit", "rpi5", "jetson-nano", "jetson-orin-nano", "x86-container-512m"}

// TreeDir returns the absolute path of the fake root device/testdata/name
// (for ProbeOptions.Root or `edge probe --root`).
func TreeDir(name string) string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", name)
}

// WriteTree creates a fake root in a temporary directory of t with the
// given files (path relative to the root → contents) and returns it.
func WriteTree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// Calibration returns a synthetic calibration for threads 1..threads in
// which every convolution and matrix product runs at gflops per thread
// (scaled linearly with threads), copies run at bandwidth GB/s from
// cache and bandwidth/4 from DRAM, pool and elementwise operators move
// bandwidth/2 GB/s, and each operator costs overheadNs. With these round numbers
// Predict's results can be checked by hand.
func Calibration(gflops, bandwidth, overheadNs float64, threads int) *device.Calibration {
	c := &device.Calibration{Key: "devicetest", Version: "devicetest", CPUModel: "Fake CPU", Board: "fake",
		Arch: "amd64", Kernel: "f32-gemm-fake", CreatedAt: time.Unix(0, 0).UTC()}
	for t := 1; t <= max(threads, 1); t++ {
		c.Threads = append(c.Threads, t)
		c.Memory = append(c.Memory, device.MemoryResult{Threads: t, CacheBytes: 1 << 20, CacheGBs: bandwidth,
			DRAMBytes: 64 << 20, DRAMGBs: bandwidth / 4, OverheadNs: overheadNs})
		g := gflops * float64(t)
		for _, s := range []device.ShapeResult{
			{Name: "conv3x3", Category: device.CatConv, M: 128, N: 784, K: 1152},
			{Name: "conv1x1", Category: device.CatPointwise, M: 64, N: 3136, K: 64},
			{Name: "dwconv3x3", Category: device.CatDepthwise, M: 1, N: 784, K: 9},
			{Name: "fc", Category: device.CatFC, M: 1, N: 512, K: 512},
		} {
			s.Threads = t
			s.Flops = 2 * int64(s.M) * int64(s.N) * int64(s.K)
			s.GFLOPS, s.ComputeGFLOPS = g, g
			s.Ns = float64(s.Flops) / g
			c.Shapes = append(c.Shapes, s)
		}
		c.Shapes = append(c.Shapes,
			device.ShapeResult{Name: "maxpool", Category: device.CatPool, OpType: "MaxPool", Threads: t, RateGBs: bandwidth / 2},
			device.ShapeResult{Name: "relu", Category: device.CatElemwise, OpType: "Relu", Threads: t, RateGBs: bandwidth / 2})
	}
	return c
}
