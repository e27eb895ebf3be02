//go:build gc && !purego

package kernels

// dconvF32x6x64AVX512 is the f32-conv*-6x64-avx512 micro-kernel (see
// dconvFn); its generic twin is dconvRef(6, 64, 1, ...).
//
//go:noescape
func dconvF32x6x64AVX512(k int, a *float32, pos *int, b *float32, offs *int, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

// dconvF32x6x64g3AVX512 is dconvF32x6x64AVX512 for K steps in groups
// of 3 (see dconvKernel.micro3); its generic twin is dconvRef(6, 64, 3, ...).
//
//go:noescape
func dconvF32x6x64g3AVX512(k int, a *float32, pos *int, b *float32, offs *int, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

// transpose16AVX512 is the AVX-512 copy-out of the indirect-A conv (see
// dconvKernel.transpose16); its generic twin is transposeGeneric.
//
//go:noescape
func transpose16AVX512(dst *float32, ldd int, src *float32, lds, ncols int, mask uint64)

// archDconv are the amd64 indirect-A conv kernels, best first.
var archDconv = []*dconvKernel{
	{name: "6x64-avx512", mr: 6, nr: 64, requires: AVX512, micro: dconvF32x6x64AVX512, micro3: dconvF32x6x64g3AVX512, transpose16: transpose16AVX512},
}
