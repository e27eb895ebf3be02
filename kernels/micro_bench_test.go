package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkMicro times the micro-kernels alone on L1-resident panels: the
// ceiling the blocked GEMM can reach.
func BenchmarkMicro(b *testing.B) {
	for _, g := range supportedGemm() {
		for _, k := range []int{64, 256} {
			b.Run(fmt.Sprintf("%s/k%d", g.Name, k), func(b *testing.B) {
				a := make([]float32, k*g.MR)
				bb := make([]float32, k*g.NR)
				c := make([]float32, g.MR*g.NR)
				var z [64]float32
				for b.Loop() {
					g.micro(k, &a[0], &bb[0], &c[0], g.NR, g.MR, ^uint64(0), flagAcc, &z[0], &z[0], 0, 0)
				}
				b.ReportMetric(2*float64(g.MR*g.NR*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
