//go:build gc && !purego

package kernels

// winoIn16AVX512 is the AVX-512 Winograd input transform of 16 adjacent
// tiles (see kernels/_asm genWinograd); its generic twin is winogradInput.
//
//go:noescape
func winoIn16AVX512(rows *[4]*float32, v *float32, vstride, ngroups int, idx *int32)

// winoOut16AVX512 is the AVX-512 Winograd output transform of 16 adjacent
// tiles; its generic twin is winogradOutput.
//
//go:noescape
func winoOut16AVX512(m *float32, mstride int, out0, out1 *float32, rows, ngroups int, bias, lo, hi float32, idx *int32)

var winoInterleave = func() (idx [32]int32) {
	for j := 0; j < 8; j++ {
		idx[2*j], idx[2*j+1] = int32(j), int32(16+j)
		idx[16+2*j], idx[16+2*j+1] = int32(8+j), int32(24+j)
	}
	return idx
}()

// archWino is the SIMD Winograd transform pair of this architecture.
var archWino = &winoKernels{
	requires: AVX512,
	in16: func(rows [4]*float32, v *float32, vstride int) {
		winoIn16AVX512(&rows, v, vstride, 1, &dwS2Index[0])
	},
	out16: func(m *float32, mstride int, out0, out1 *float32, rows int, bias, lo, hi float32) {
		winoOut16AVX512(m, mstride, out0, out1, rows, 1, bias, lo, hi, &winoInterleave[0])
	},
}
