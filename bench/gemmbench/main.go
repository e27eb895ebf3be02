// Command gemmbench prints edge's SGEMM GFLOPS for one shape, the Go
// side of bench/gemm.sh (the same numbers as `edge bench --gemm`).
//
//	go run ./bench/gemmbench -m 1024 -n 1024 -k 1024 -threads 2
//
// Output: one line "M N K threads gflops kernel".
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/edgeml/edge/kernels"
)

func main() {
	m := flag.Int("m", 1024, "rows of C")
	n := flag.Int("n", 1024, "columns of C")
	k := flag.Int("k", 1024, "inner dimension")
	threads := flag.Int("threads", 1, "threads")
	iters := flag.Int("iters", 5, "timed rounds (best is reported)")
	disable := flag.String("disable-isa", "", "instruction sets not to use, e.g. avx512")
	flag.Parse()
	dis, err := kernels.ParseISA(*disable)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gemmbench:", err)
		os.Exit(2)
	}
	pool := kernels.NewPool(*threads)
	defer pool.Close()
	r, err := kernels.BenchGemm(kernels.Config{Disabled: dis}, pool, *m, *n, *k, *iters, 50*time.Millisecond)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gemmbench:", err)
		os.Exit(2)
	}
	fmt.Printf("%d %d %d %d %.2f %s\n", r.M, r.N, r.K, r.Threads, r.GFLOPS, r.Kernel)
}
