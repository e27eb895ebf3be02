//go:build !gc || purego || !(amd64 || arm64)

package kernels

// archGemmKernels is empty: this build has no assembly kernels.
var archGemmKernels []*GemmKernel

// archDWKernels is empty: this build has no assembly kernels.
var archDWKernels []*dwKernel
