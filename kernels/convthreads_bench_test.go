package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkConvThreads runs small-map convolutions on 1 and 2 threads:
// their 2-thread scaling depends on how the GEMM splits the work.
func BenchmarkConvThreads(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, l := range []struct {
		name string
		p    ConvParams
	}{
		{"small-32x28", convCase(32, 28, 28, 32, 3, 1, 1, 1, 1)},
		{"small-64x14", convCase(64, 14, 14, 64, 3, 1, 1, 1, 1)},
		{"r18-64x32", convCase(64, 32, 32, 64, 3, 1, 1, 1, 1)},
		{"r18-128x16", convCase(128, 16, 16, 128, 3, 1, 1, 1, 1)},
	} {
		for _, th := range []int{1, 2} {
			p := l.p
			p.Act = Activation{Kind: ActRelu}
			c, err := NewConv2D(Config{}, p, randSlice(r, p.OutC*p.InC*9), randSlice(r, p.OutC))
			if err != nil {
				b.Fatal(err)
			}
			pool := NewPool(th)
			b.Run(l.name+"/"+c.Kernel()+fmt.Sprintf("/threads=%d", th), func(b *testing.B) {
				x := randSlice(r, p.InC*p.InH*p.InW)
				y := make([]float32, p.OutC*p.OutH()*p.OutW())
				ws := make([]float32, c.WorkspaceLen())
				for b.Loop() {
					c.Run(pool, 1, x, y, ws)
				}
				b.ReportMetric(2*float64(p.MACs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
			pool.Close()
		}
	}
}
