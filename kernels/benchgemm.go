package kernels

import (
	"fmt"
	"time"
)

// GemmBenchResult is the outcome of BenchGemm.
type GemmBenchResult struct {
	Kernel  string  `json:"kernel"`
	M       int     `json:"m"`
	N       int     `json:"n"`
	K       int     `json:"k"`
	Threads int     `json:"threads"`
	GFLOPS  float64 `json:"gflops"` // best of iters rounds
	BestNs  float64 `json:"best_ns"`
}

// BenchGemm times C = A·B (row-major, beta = 0) for an m×n×k product with
// the kernel cfg selects, on pool's threads. Each of iters rounds repeats
// the product for at least minTime; the best round is reported. It backs
// `edge bench --gemm`.
func BenchGemm(cfg Config, pool *Pool, m, n, k, iters int, minTime time.Duration) (GemmBenchResult, error) {
	if m <= 0 || n <= 0 || k <= 0 {
		return GemmBenchResult{}, fmt.Errorf("kernels: GEMM bench sizes must be positive, got %d,%d,%d", m, n, k)
	}
	iters = max(iters, 1)
	g := SelectGemmFor(cfg, m, n, k)
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	c := make([]float32, m*n)
	s := uint32(1)
	next := func() float32 {
		s = s*1103515245 + 12345
		return float32(s>>16&0xff)/256 - 0.5
	}
	for i := range a {
		a[i] = next()
	}
	for i := range b {
		b[i] = next()
	}
	run := func() { g.Sgemm(pool, false, false, m, n, k, 1, a, k, b, n, 0, c, n) }
	t0 := time.Now()
	run()
	one := time.Since(t0)
	reps := 1
	if one > 0 {
		reps = max(1, int(minTime/one))
	}
	best := time.Duration(1<<63 - 1)
	for it := 0; it < iters; it++ {
		t0 := time.Now()
		for r := 0; r < reps; r++ {
			run()
		}
		best = min(best, time.Since(t0)/time.Duration(reps))
	}
	ns := float64(best.Nanoseconds())
	return GemmBenchResult{
		Kernel: g.Name, M: m, N: n, K: k, Threads: pool.Threads(),
		GFLOPS: 2 * float64(m) * float64(n) * float64(k) / ns,
		BestNs: ns,
	}, nil
}
