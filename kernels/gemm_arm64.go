//go:build gc && !purego

package kernels

// archGemmKernels are the arm64 assembly GEMM kernels, best first.
var archGemmKernels []*GemmKernel

// archDWKernels are the arm64 depthwise kernels, best first.
var archDWKernels []*dwKernel
