package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkMicro(b *testing.B) {
	for _, g := range supportedGemm() {
		for _, k := range []int{64, 256, 512} {
			b.Run(fmt.Sprintf("%s/k%d", g.Name, k), func(b *testing.B) {
				a := make([]float32, k*g.MR)
				bb := make([]float32, k*g.NR)
				c := make([]float32, g.MR*g.NR)
				var z [64]float32
				for b.Loop() {
					g.micro(k, &a[0], &bb[0], &c[0], g.NR, g.MR, ^uint64(0), 1, &z[0], &z[0], 0, 0)
				}
				b.ReportMetric(2*float64(g.MR*g.NR*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkGEMMProfile(b *testing.B) {
	g := SelectGemm(Config{})
	m, n, k := 256, 196, 2304
	a := randSlice(rand.New(rand.NewPCG(1, 1)), m*k)
	bb := randSlice(rand.New(rand.NewPCG(1, 1)), k*n)
	c := make([]float32, m*n)
	for b.Loop() {
		g.Sgemm(nil, false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
