package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkConvCold runs the small-map layers of fmnist-resnet18 with
// their weights out of cache, as in a model: it cycles through enough
// copies of the layer (distinct weights) that each run streams its
// weights from memory.
func BenchmarkConvCold(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, l := range []struct {
		name string
		p    ConvParams
	}{
		{"r18-256x8", convCase(256, 8, 8, 256, 3, 1, 1, 1, 1)},
		{"r18-512x4", convCase(512, 4, 4, 512, 3, 1, 1, 1, 1)},
		// The rank-135 factor of layers.6 in fmnist-resnet18-0.4.
		{"r18c-512x4-135", convCase(512, 4, 4, 135, 3, 1, 1, 1, 1)},
	} {
		p := l.p
		p.Act = Activation{Kind: ActRelu}
		wlen := p.OutC * p.InC * p.KH * p.KW
		copies := max(2, (64<<20)/(4*wlen))
		convs := make([]*Conv2D, copies)
		w := randSlice(r, wlen)
		for i := range convs {
			w[0] = float32(i)
			c, err := NewConv2D(Config{}, p, w, randSlice(r, p.OutC))
			if err != nil {
				b.Fatal(err)
			}
			convs[i] = c
		}
		for _, th := range []int{1, 2} {
			pool := NewPool(th)
			b.Run(fmt.Sprintf("%s/%s/threads=%d", l.name, convs[0].Kernel(), th), func(b *testing.B) {
				x := randSlice(r, p.InC*p.InH*p.InW)
				y := make([]float32, p.OutC*p.OutH()*p.OutW())
				ws := make([]float32, convs[0].WorkspaceLen())
				i := 0
				for b.Loop() {
					convs[i%copies].Run(pool, 1, x, y, ws)
					i++
				}
				b.ReportMetric(2*float64(p.MACs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
			pool.Close()
		}
	}
}
