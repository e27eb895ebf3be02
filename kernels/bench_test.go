package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGEMM times Sgemm per kernel on square and conv-shaped GEMMs
// (M = output channels, N = H·W, K = input channels × taps).
func BenchmarkGEMM(b *testing.B) {
	shapes := [][3]int{{1024, 1024, 1024}, {64, 3136, 576}, {64, 3136, 64}, {128, 784, 1152}, {256, 196, 2304}, {512, 196, 4608}, {64, 3136, 9}, {256, 784, 32}}
	r := rand.New(rand.NewPCG(1, 1))
	for _, g := range supportedGemm() {
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			b.Run(fmt.Sprintf("%s/%dx%dx%d", g.Name, m, n, k), func(b *testing.B) {
				if g.Requires == 0 && m*n*k > 1<<26 {
					b.Skip("generic kernel on a large shape")
				}
				a, bb, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
				for b.Loop() {
					g.Sgemm(nil, false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
				}
				b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkConv times NewConv2D's choice on real layer shapes (ResNet-18,
// VGG-16, MobileNet depthwise, the 28×28 fixtures' small maps), one
// thread, under Config{} and Generic.
func BenchmarkConv(b *testing.B) {
	layers := []struct {
		name string
		p    ConvParams
	}{
		{"resnet-conv1-7x7s2", convCase(3, 224, 224, 64, 7, 2, 3, 1, 1)},
		{"resnet-3x3-64x56", convCase(64, 56, 56, 64, 3, 1, 1, 1, 1)},
		{"resnet-3x3s2-128x28", convCase(64, 56, 56, 128, 3, 2, 1, 1, 1)},
		{"resnet-3x3-256x14", convCase(256, 14, 14, 256, 3, 1, 1, 1, 1)},
		{"resnet-1x1s2-256", convCase(128, 28, 28, 256, 1, 2, 0, 1, 1)},
		{"vgg-3x3-128x112", convCase(128, 112, 112, 128, 3, 1, 1, 1, 1)},
		{"vgg-3x3-512x14", convCase(512, 14, 14, 512, 3, 1, 1, 1, 1)},
		{"squeeze-1x1-64x55", convCase(64, 55, 55, 256, 1, 1, 0, 1, 1)},
		{"fmnist-3x3-64x32", convCase(64, 32, 32, 64, 3, 1, 1, 1, 1)},
		{"fmnist-3x3-256x8", convCase(256, 8, 8, 256, 3, 1, 1, 1, 1)},
		{"fmnist-3x3-512x4", convCase(512, 4, 4, 512, 3, 1, 1, 1, 1)},
		{"fmnist-3x3-512x2", convCase(512, 2, 2, 512, 3, 1, 1, 1, 1)},
		{"fmnist-1x1s2-256x8", convCase(128, 16, 16, 256, 1, 2, 0, 1, 1)},
		{"mobilenet-dw3x3s1-144x56", convCase(144, 56, 56, 144, 3, 1, 1, 1, 144)},
		{"mobilenet-dw3x3s2-144x56", convCase(144, 56, 56, 144, 3, 2, 1, 1, 144)},
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, l := range layers {
		for _, cfg := range []Config{{}, Generic} {
			p := l.p
			p.Act = Activation{Kind: ActRelu}
			c, err := NewConv2D(cfg, p, randSlice(r, p.OutC*(p.InC/p.Group)*p.KH*p.KW), randSlice(r, p.OutC))
			if err != nil {
				b.Fatal(err)
			}
			b.Run(l.name+"/"+c.Kernel(), func(b *testing.B) {
				x := randSlice(r, p.InC*p.InH*p.InW)
				y := make([]float32, p.OutC*p.OutH()*p.OutW())
				ws := make([]float32, c.WorkspaceLen())
				for b.Loop() {
					c.Run(nil, 1, x, y, ws)
				}
				b.ReportMetric(2*float64(p.MACs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
