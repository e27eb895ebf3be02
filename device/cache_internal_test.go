package device

import (
	"errors"
	"strings"
	"testing"
)

// TestCacheKeyFields checks that every input of the cache key changes
// it: a rebuilt binary, another calibration format, CPU, board, kernel,
// mode or thread list must not reuse a cached calibration.
func TestCacheKeyFields(t *testing.T) {
	prof := func(cpu, board string) *Profile {
		p := &Profile{}
		p.CPU.Model, p.Board.Name = cpu, board
		return p
	}
	base := cacheKey(prof("CPU A", "board A"), "f32-gemm-6x64-avx512", false, []int{1, 2})
	if !strings.Contains(base, buildFingerprint()) || !strings.Contains(base, "fmt2") || !strings.Contains(base, Version()) {
		t.Fatalf("key %q lacks the build fingerprint, format or version", base)
	}
	tests := []struct {
		name string
		key  func() string
	}{
		{"cpu", func() string { return cacheKey(prof("CPU B", "board A"), "f32-gemm-6x64-avx512", false, []int{1, 2}) }},
		{"board", func() string { return cacheKey(prof("CPU A", "board B"), "f32-gemm-6x64-avx512", false, []int{1, 2}) }},
		{"kernel", func() string { return cacheKey(prof("CPU A", "board A"), "f32-gemm-generic", false, []int{1, 2}) }},
		{"mode", func() string { return cacheKey(prof("CPU A", "board A"), "f32-gemm-6x64-avx512", true, []int{1, 2}) }},
		{"threads", func() string { return cacheKey(prof("CPU A", "board A"), "f32-gemm-6x64-avx512", false, []int{1}) }},
		{"build", func() string {
			defer swapFingerprint("0123456789ab+dirty/feedfacecafe")()
			return cacheKey(prof("CPU A", "board A"), "f32-gemm-6x64-avx512", false, []int{1, 2})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k := tt.key(); k == base {
				t.Errorf("changing the %s left the key %q", tt.name, k)
			}
		})
	}
	if again := cacheKey(prof("CPU A", "board A"), "f32-gemm-6x64-avx512", false, []int{1, 2}); again != base {
		t.Errorf("key not deterministic: %q vs %q", again, base)
	}
}

// TestCacheRebuiltBinary saves a calibration, simulates a rebuild (a new
// fingerprint) and checks the cached file is no longer found under the
// new key, while the old binary still finds it.
func TestCacheRebuiltBinary(t *testing.T) {
	dir := t.TempDir()
	p := &Profile{}
	p.CPU.Model, p.Board.Name = "Fake CPU", "fake"
	c := &Calibration{Threads: []int{1}, Memory: []MemoryResult{{Threads: 1, CacheGBs: 10}},
		Shapes: []ShapeResult{{Name: "conv", Category: CatConv, Threads: 1, Ns: 1, GFLOPS: 1}}}
	c.Key = cacheKey(p, "k", true, []int{1})
	if err := SaveCalibration(dir, c); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCalibration(dir, cacheKey(p, "k", true, []int{1})); err != nil {
		t.Fatalf("same binary: %v", err)
	}
	restore := swapFingerprint("ffffffffffff/000000000000")
	_, err := LoadCalibration(dir, cacheKey(p, "k", true, []int{1}))
	restore()
	if !errors.Is(err, ErrNoCache) {
		t.Errorf("rebuilt binary loaded the old calibration (err %v)", err)
	}
}

// TestBuildFingerprint checks the fingerprint names a revision (or
// "norev") and a 12-digit hash of the executable.
func TestBuildFingerprint(t *testing.T) {
	fp := Build()
	rev, hash, ok := strings.Cut(fp, "/")
	if !ok || rev == "" || len(hash) < 6 {
		t.Fatalf("fingerprint %q: want revision/hash", fp)
	}
	if exe := exeHash(); exe != hash || len(exe) != 12 {
		t.Errorf("hash part %q, executable hash %q", hash, exe)
	}
	if Build() != fp {
		t.Error("fingerprint not stable")
	}
}

func swapFingerprint(fp string) (restore func()) {
	old := buildFingerprint
	buildFingerprint = func() string { return fp }
	return func() { buildFingerprint = old }
}
