//go:build !gc || purego || !(amd64 || arm64)

package kernels

// archGemmKernels is empty: this build has no assembly kernels.
var archGemmKernels []*GemmKernel

// archDWKernels is empty: this build has no assembly kernels.
var archDWKernels []*dwKernel

// archWino is nil: no SIMD Winograd transforms in this build.
var archWino *winoKernels
