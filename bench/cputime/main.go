//go:build linux

// Command cputime times one SGEMM (or one Conv2D) on one thread by thread
// CPU time, best of 15 rounds: a cross-check of bench/gemm.sh that is
// less disturbed when other processes share the CPUs.
//
//	go run ./bench/cputime M N K
//	go run ./bench/cputime conv InC H W OutC K stride pad group   (NOWINO=1: no Winograd)
//
// K may be KHxKW and pad PHxPW (e.g. 1x3 and 0x1, the first factor of a
// spatially factorized 3×3 conv).
//
// The OpenBLAS twin is bench/openblas/sgemm_bench.c with a 6th argument
// "cpu" (M N K 1 iters cpu).
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/edgeml/edge/kernels"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func best(f func()) float64 {
	b := 1e18
	for it := 0; it < 15; it++ {
		t0 := cpu()
		reps := 0
		for cpu()-t0 < 30*time.Millisecond {
			f()
			reps++
		}
		b = min(b, float64(cpu()-t0)/float64(reps))
	}
	return b
}

func main() {
	runtime.LockOSThread()
	atoi := func(s string) int { v, _ := strconv.Atoi(s); return v }
	if os.Args[1] == "conv" {
		// conv inC H W outC k stride pad group
		a := os.Args[2:]
		pair := func(s string) (int, int) {
			h, w, ok := strings.Cut(s, "x")
			if !ok {
				w = h
			}
			return atoi(h), atoi(w)
		}
		kh, kw := pair(a[4])
		ph, pw := pair(a[6])
		p := kernels.ConvParams{InC: atoi(a[0]), InH: atoi(a[1]), InW: atoi(a[2]), OutC: atoi(a[3]), KH: kh, KW: kw, StrideH: atoi(a[5]), StrideW: atoi(a[5]), DilH: 1, DilW: 1,
			PadTop: ph, PadLeft: pw, PadBottom: ph, PadRight: pw, Group: atoi(a[7])}
		w := make([]float32, p.OutC*(p.InC/p.Group)*kh*kw)
		c, err := kernels.NewConv2D(kernels.Config{NoWinograd: os.Getenv("NOWINO") != ""}, p, w, nil)
		if err != nil {
			panic(err)
		}
		x := make([]float32, p.InC*p.InH*p.InW)
		y := make([]float32, p.OutC*p.OutH()*p.OutW())
		ws := make([]float32, c.WorkspaceLen())
		ns := best(func() { c.Run(nil, 1, x, y, ws) })
		fmt.Printf("%v %s %.3f ms %.1f GFLOPS(cpu)\n", a, c.Kernel(), ns/1e6, 2*float64(p.MACs())/ns)
		return
	}
	m, n, k := atoi(os.Args[1]), atoi(os.Args[2]), atoi(os.Args[3])
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) - 3
	}
	for i := range b {
		b[i] = float32(i%5) - 2
	}
	g := kernels.SelectGemmFor(kernels.Config{}, m, n, k)
	ns := best(func() { g.Sgemm(nil, false, false, m, n, k, 1, a, k, b, n, 0, c, n) })
	fmt.Printf("%dx%dx%d %s %.1f GFLOPS(cpu)\n", m, n, k, g.Name, 2*float64(m*n*k)/ns)
}
