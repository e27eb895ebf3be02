package kernels

import "testing"

// BenchmarkConvPaths runs the convolutions of the paths in convs2.go on
// 1 and 2 threads: SqueezeNet 1.1's first layer (rows), ResNet-18's 1×1
// s2 downsampling (subsample), and fmnist-squeezenet1_1's squeeze and
// expand 1×1 convs at 16² to 4² (direct for ≤ 64 output channels, the
// serial GEMM of small row-split products above).
func BenchmarkConvPaths(b *testing.B) {
	benchConvs(b, []benchLayer{
		{"sqstem-3x224", convCase(3, 224, 224, 64, 3, 2, 0, 1, 1)},
		{"ds-64x56", convCase(64, 56, 56, 128, 1, 2, 0, 1, 1)},
		{"ds-128x28", convCase(128, 28, 28, 256, 1, 2, 0, 1, 1)},
		{"sq-64x16-16", convCase(64, 16, 16, 16, 1, 1, 0, 1, 1)},
		{"sq-256x8-32", convCase(256, 8, 8, 32, 1, 1, 0, 1, 1)},
		{"sq-512x4-64", convCase(512, 4, 4, 64, 1, 1, 0, 1, 1)},
		{"ex-32x8-128", convCase(32, 8, 8, 128, 1, 1, 0, 1, 1)},
		{"ex-48x4-192", convCase(48, 4, 4, 192, 1, 1, 0, 1, 1)},
		{"ex-64x4-256", convCase(64, 4, 4, 256, 1, 1, 0, 1, 1)},
	}, false)
}
