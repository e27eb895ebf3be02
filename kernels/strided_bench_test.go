package kernels

import "testing"

// BenchmarkConvStrided runs the strided convolutions of ImageNet
// resnet18 (the 7×7 s2 stem, the 3×3 s2 and 1×1 s2 downsampling layers)
// on 1 and 2 threads.
func BenchmarkConvStrided(b *testing.B) {
	benchConvs(b, []benchLayer{
		{"stem-3x224", convCase(3, 224, 224, 64, 7, 2, 3, 1, 1)},
		// SqueezeNet 1.1 features.0.
		{"sqstem-3x224", convCase(3, 224, 224, 64, 3, 2, 0, 1, 1)},
		{"s2-64x56", convCase(64, 56, 56, 128, 3, 2, 1, 1, 1)},
		{"s2-128x28", convCase(128, 28, 28, 256, 3, 2, 1, 1, 1)},
		{"s2-256x14", convCase(256, 14, 14, 512, 3, 2, 1, 1, 1)},
		{"ds-64x56", convCase(64, 56, 56, 128, 1, 2, 0, 1, 1)},
		{"ds-128x28", convCase(128, 28, 28, 256, 1, 2, 0, 1, 1)},
		{"ds-256x14", convCase(256, 14, 14, 512, 1, 2, 0, 1, 1)},
	}, false)
}

// BenchmarkConvSmall runs the 1×1 convolutions of fmnist-squeezenet1_1
// (squeeze, expand1x1 and the classifier, 16² to 4² maps) on 1 and 2
// threads: at a few µs each, waking the second thread may not pay.
func BenchmarkConvSmall(b *testing.B) {
	benchConvs(b, []benchLayer{
		{"sq-64x16-16", convCase(64, 16, 16, 16, 1, 1, 0, 1, 1)},
		{"sq-128x16-16", convCase(128, 16, 16, 16, 1, 1, 0, 1, 1)},
		{"ex-16x16-64", convCase(16, 16, 16, 64, 1, 1, 0, 1, 1)},
		{"sq-128x8-32", convCase(128, 8, 8, 32, 1, 1, 0, 1, 1)},
		{"sq-256x8-32", convCase(256, 8, 8, 32, 1, 1, 0, 1, 1)},
		{"ex-32x8-128", convCase(32, 8, 8, 128, 1, 1, 0, 1, 1)},
		{"sq-256x4-48", convCase(256, 4, 4, 48, 1, 1, 0, 1, 1)},
		{"sq-384x4-64", convCase(384, 4, 4, 64, 1, 1, 0, 1, 1)},
		{"sq-512x4-64", convCase(512, 4, 4, 64, 1, 1, 0, 1, 1)},
		{"ex-48x4-192", convCase(48, 4, 4, 192, 1, 1, 0, 1, 1)},
		{"ex-64x4-256", convCase(64, 4, 4, 256, 1, 1, 0, 1, 1)},
		{"cls-512x4-10", convCase(512, 4, 4, 10, 1, 1, 0, 1, 1)},
	}, false)
}
