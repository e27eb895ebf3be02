//go:build gc && !purego

package kernels

// archGemmKernels are the amd64 assembly GEMM kernels, best first.
var archGemmKernels = []*GemmKernel{
	{Name: "f32-gemm-14x32-avx512", MR: 14, NR: 32, Requires: AVX512, micro: gemmF32x14x32AVX512, masked: true},
	{Name: "f32-gemm-6x64-avx512", MR: 6, NR: 64, Requires: AVX512, micro: gemmF32x6x64AVX512, masked: true},
	{Name: "f32-gemm-6x16-avx2", MR: 6, NR: 16, Requires: AVX2, micro: gemmF32x6x16AVX2},
}

// gemmF32x14x32AVX512 is the f32-gemm-14x32-avx512 micro-kernel (see
// microFn); its generic twin is microRef(14, 32, ...).
//
//go:noescape
func gemmF32x14x32AVX512(k int, a, b, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

// gemmF32x6x64AVX512 is the f32-gemm-6x64-avx512 micro-kernel (see
// microFn); its generic twin is microRef(6, 64, ...).
//
//go:noescape
func gemmF32x6x64AVX512(k int, a, b, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

// gemmF32x6x16AVX2 is the f32-gemm-6x16-avx2 micro-kernel (see microFn);
// it needs mr == 6 and a full column mask. Its generic twin is
// microRef(6, 16, ...).
//
//go:noescape
func gemmF32x6x16AVX2(k int, a, b, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)
