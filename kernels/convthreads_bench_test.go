package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchLayer is a convolution shape of a benchmark.
type benchLayer struct {
	name string
	p    ConvParams
}

// benchConvs times each layer (ReLU, NewConv2D's choice under Config{})
// on 1 and 2 threads. With cold, each run takes the next of enough copies
// of the layer (distinct weights, 64 MB in all) that its weights come from
// memory, as in a model; otherwise one copy stays in cache.
func benchConvs(b *testing.B, layers []benchLayer, cold bool) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, l := range layers {
		p := l.p
		p.Act = Activation{Kind: ActRelu}
		wlen := p.OutC * (p.InC / p.Group) * p.KH * p.KW
		copies := 1
		if cold {
			copies = max(2, (64<<20)/(4*wlen))
		}
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

// BenchmarkConvThreads runs small-map convolutions on 1 and 2 threads:
// their 2-thread scaling depends on how the GEMM splits the work.
func BenchmarkConvThreads(b *testing.B) {
	benchConvs(b, []benchLayer{
		{"small-32x28", convCase(32, 28, 28, 32, 3, 1, 1, 1, 1)},
		{"small-64x14", convCase(64, 14, 14, 64, 3, 1, 1, 1, 1)},
		{"r18-64x32", convCase(64, 32, 32, 64, 3, 1, 1, 1, 1)},
		{"r18-128x16", convCase(128, 16, 16, 128, 3, 1, 1, 1, 1)},
		// The spatial factors of fmnist-resnet18-0.4's layers.0.conv1.
		{"r18c-1x3-64x32-45", ConvParams{InC: 64, InH: 32, InW: 32, OutC: 45, KH: 1, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadLeft: 1, PadRight: 1, Group: 1}},
		{"r18c-3x1-45x32-64", ConvParams{InC: 45, InH: 32, InW: 32, OutC: 64, KH: 3, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadBottom: 1, Group: 1}},
		// Pointwise convs on small maps on the caller alone or split by
		// rows (gemmPool; more in BenchmarkConvPaths).
		{"sq-1x1-128x8-32", convCase(128, 8, 8, 32, 1, 1, 0, 1, 1)},
		{"sq-1x1-512x4-128", convCase(512, 4, 4, 128, 1, 1, 0, 1, 1)},
		{"r18c-1x1-135x4-512", convCase(135, 4, 4, 512, 1, 1, 0, 1, 1)},
		{"r18c-1x1-91x8-256", convCase(91, 8, 8, 256, 1, 1, 0, 1, 1)},
		// A 1×1 second factor of a 4² stage (fmnist-vgg16-0.4's /28).
		{"vggc-1x1-175x4-512", convCase(175, 4, 4, 512, 1, 1, 0, 1, 1)},
		// fmnist-resnet18-0.4's layers.5.conv1 first factor (transposed
		// path, split K).
		{"r18c-1x3-256x8-130", ConvParams{InC: 256, InH: 8, InW: 8, OutC: 130, KH: 1, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadLeft: 1, PadRight: 1, Group: 1}},
		// resnet18's 1×1 stride-2 downsampling at 8² and 4² outputs.
		{"r18-down-128x16", convCase(128, 16, 16, 256, 1, 2, 0, 1, 1)},
		{"r18-down-256x8", convCase(256, 8, 8, 512, 1, 2, 0, 1, 1)},
	}, false)
}

// BenchmarkConvCold runs the small-map layers of fmnist-resnet18 with
// their weights out of cache, as in a model (the prepacked weights
// stream from memory).
func BenchmarkConvCold(b *testing.B) {
	benchConvs(b, []benchLayer{
		{"r18-256x8", convCase(256, 8, 8, 256, 3, 1, 1, 1, 1)},
		{"r18-512x4", convCase(512, 4, 4, 512, 3, 1, 1, 1, 1)},
		// The rank-135 factor of layers.6 in fmnist-resnet18-0.4.
		{"r18c-512x4-135", convCase(512, 4, 4, 135, 3, 1, 1, 1, 1)},
		{"r18c-512x4-95", convCase(512, 4, 4, 95, 3, 1, 1, 1, 1)},
		// The first factors of fmnist-vgg16-0.4's 4² and 2² layers.
		{"vggc-512x4-175", convCase(512, 4, 4, 175, 3, 1, 1, 1, 1)},
		{"vggc-512x2-177", convCase(512, 2, 2, 177, 3, 1, 1, 1, 1)},
		{"vggc-512x2-114", convCase(512, 2, 2, 114, 3, 1, 1, 1, 1)},
	}, true)
}
