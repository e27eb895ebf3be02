//go:build gc && !purego

package kernels

// dwconv3x3s1NEON is the f32-dwconv-3x3s1-neon interior row on nblk
// blocks of 8 outputs; its generic twin is dwRow3x3s1Generic.
//
//go:noescape
func dwconv3x3s1NEON(out, r0, r1, r2 *float32, w *[9]float32, bias float32, nblk int, lo, hi float32)

// dwconv3x3s2NEON is the f32-dwconv-3x3s2-neon interior row on nblk
// blocks of 4 outputs; its generic twin is dwRow3x3s2Generic.
//
//go:noescape
func dwconv3x3s2NEON(out, r0, r1, r2 *float32, w *[9]float32, bias float32, nblk int, lo, hi float32)

func dwRow3x3s1NEON(out []float32, r0, r1, r2 []float32, w *[9]float32, bias float32, n int, lo, hi float32) {
	nb := n / 8
	if nb > 0 {
		_, _, _, _ = out[8*nb-1], r0[8*nb+1], r1[8*nb+1], r2[8*nb+1]
		dwconv3x3s1NEON(&out[0], &r0[0], &r1[0], &r2[0], w, bias, nb, lo, hi)
	}
	if d := 8 * nb; d < n {
		dwRow3x3s1Generic(out[d:], r0[d:], r1[d:], r2[d:], w, bias, n-d, lo, hi)
	}
}

func dwRow3x3s2NEON(out []float32, r0, r1, r2 []float32, w *[9]float32, bias float32, n int, lo, hi float32) {
	// A block of 4 outputs reads inputs [8i, 8i+10): keep the last block
	// for the generic loop unless its 10th input exists.
	nb := n / 4
	if nb > 0 && 8*nb+2 > len(r0) {
		nb--
	}
	if nb > 0 {
		_, _, _, _ = out[4*nb-1], r0[8*nb+1], r1[8*nb+1], r2[8*nb+1]
		dwconv3x3s2NEON(&out[0], &r0[0], &r1[0], &r2[0], w, bias, nb, lo, hi)
	}
	if d := 4 * nb; d < n {
		dwRow3x3s2Generic(out[d:], r0[2*d:], r1[2*d:], r2[2*d:], w, bias, n-d, lo, hi)
	}
}
