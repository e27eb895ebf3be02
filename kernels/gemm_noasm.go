//go:build !gc || purego || !(amd64 || arm64)

package kernels

// archGemmKernels is empty: this build has no assembly kernels.
var archGemmKernels []*GemmKernel

// archDWKernels is empty: this build has no assembly kernels.
var archDWKernels []*dwKernel

// archWino is nil: no SIMD Winograd transforms in this build.
var archWino *winoKernels

// archPackRows is nil: no assembly row packer in this build.
var (
	archPackRows    func(dst, src *float32, offs *int, kc, nfull, nr int)
	archPackRowsISA ISA
)

// archMaxRows is nil: the pooling row max is generic here.
var (
	archMaxRows    func(dst, a, b *float32, n int)
	archMaxRowsISA ISA
)
