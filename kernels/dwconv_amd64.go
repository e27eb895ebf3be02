//go:build gc && !purego

package kernels

// dwconv3x3s1AVX512 is the f32-dwconv-3x3s1-avx512 interior row; its
// generic twin is dwRow3x3s1Generic. tail masks the last n%16 outputs.
//
//go:noescape
func dwconv3x3s1AVX512(out, r0, r1, r2 *float32, w *[9]float32, bias float32, n int, tail uint64, lo, hi float32)

// dwconv3x3s2AVX512 is the f32-dwconv-3x3s2-avx512 interior row; its
// generic twin is dwRow3x3s2Generic. idx holds the even then odd lane
// indices 0,2,…,30 and 1,3,…,31; tail the five masks of the last n%16
// outputs (inputs at +0, +16, +2, +18, outputs).
//
//go:noescape
func dwconv3x3s2AVX512(out, r0, r1, r2 *float32, w *[9]float32, bias float32, n int, idx *int32, tail *uint16, lo, hi float32)

func dwRow3x3s1AVX512(out []float32, r0, r1, r2 []float32, w *[9]float32, bias float32, n int, lo, hi float32) {
	_, _, _, _ = out[n-1], r0[n+1], r1[n+1], r2[n+1]
	dwconv3x3s1AVX512(&out[0], &r0[0], &r1[0], &r2[0], w, bias, n, uint64(1)<<uint(n%16)-1, lo, hi)
}

var dwS2Index = func() (idx [32]int32) {
	for i := 0; i < 16; i++ {
		idx[i], idx[16+i] = int32(2*i), int32(2*i+1)
	}
	return idx
}()

func dwRow3x3s2AVX512(out []float32, r0, r1, r2 []float32, w *[9]float32, bias float32, n int, lo, hi float32) {
	_, _, _, _ = out[n-1], r0[2*n], r1[2*n], r2[2*n]
	t := n % 16
	// The tail reads inputs [base, base+2t+1) at +0 and [base+2, base+2t+1) at +2.
	lanes := func(c int) uint16 { return uint16(uint32(1)<<uint(min(max(c, 0), 16)) - 1) }
	need := 2*t + 1
	tail := [5]uint16{lanes(need), lanes(need - 16), lanes(need - 2), lanes(need - 18), lanes(t)}
	dwconv3x3s2AVX512(&out[0], &r0[0], &r1[0], &r2[0], w, bias, n, &dwS2Index[0], &tail[0], lo, hi)
}
