package kernels

import "unsafe"

// microRef is the reference definition of a micro-kernel with an MR×NR
// tile (see microFn). Tests compare every assembly kernel with it.
func microRef(MR, NR int, k int, a, b, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32) {
	as := unsafe.Slice(a, k*MR)
	bs := unsafe.Slice(b, k*NR)
	for i := 0; i < mr; i++ {
		for j := 0; j < NR; j++ {
			if mask>>uint(j)&1 == 0 {
				continue
			}
			var v float32
			for l := 0; l < k; l++ {
				v += as[l*MR+i] * bs[l*NR+j]
			}
			cp := (*float32)(unsafe.Add(unsafe.Pointer(c), (i*ldc+j)*4))
			if flags&flagAcc != 0 {
				v += *cp
			}
			if flags&flagRowBias != 0 {
				v += *(*float32)(unsafe.Add(unsafe.Pointer(rowBias), i*4))
			}
			if flags&flagColBias != 0 {
				v += *(*float32)(unsafe.Add(unsafe.Pointer(colBias), j*4))
			}
			if flags&flagClamp != 0 {
				v = min(max(v, lo), hi)
			}
			*cp = v
		}
	}
}

// microGeneric4x4 is the portable micro-kernel: a 4×4 tile held in sixteen
// scalar accumulators, with row and column tails (mask must select a
// prefix of the columns).
func microGeneric4x4(k int, a, b, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32) {
	acc := mac4x4(k, a, b, nil)
	nr := 0
	for nr < 4 && mask>>uint(nr)&1 != 0 {
		nr++
	}
	storeTile4x4(&acc, c, ldc, mr, nr, flags, rowBias, colBias, lo, hi)
}

// mac4x4 returns Σ_l a[l·4+i]·B[l][j] for a packed 4×k panel a, where
// row l of B is the 4 floats at b + 4·l (offs nil: a packed panel) or at
// b + offs[l] (the indirect-B kernels).
func mac4x4(k int, a, b *float32, offs *int) [4][4]float32 {
	as := unsafe.Slice(a, k*4)
	var os []int
	if offs != nil {
		os = unsafe.Slice(offs, k)
	}
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	for l := 0; l < k; l++ {
		off := 4 * l
		if os != nil {
			off = os[l]
		}
		bs := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(b), off*4)), 4)
		a4 := as[l*4 : l*4+4]
		a0, a1, a2, a3 := a4[0], a4[1], a4[2], a4[3]
		b0, b1, b2, b3 := bs[0], bs[1], bs[2], bs[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	return [4][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
}

// storeTile4x4 applies the micro-kernel epilogue (see microFn) to rows
// i < mr and columns j < nr of the 4×4 tile acc and stores them at c.
func storeTile4x4(acc *[4][4]float32, c *float32, ldc, mr, nr int, flags int, rowBias, colBias *float32, lo, hi float32) {
	var rb, cb []float32
	if flags&flagRowBias != 0 {
		rb = unsafe.Slice(rowBias, mr)
	}
	if flags&flagColBias != 0 {
		cb = unsafe.Slice(colBias, nr)
	}
	cs := unsafe.Slice(c, (mr-1)*ldc+nr)
	for i := 0; i < mr; i++ {
		row := cs[i*ldc : i*ldc+nr]
		for j := range row {
			v := acc[i][j]
			if flags&flagAcc != 0 {
				v += row[j]
			}
			if rb != nil {
				v += rb[i]
			}
			if cb != nil {
				v += cb[j]
			}
			if flags&flagClamp != 0 {
				v = min(max(v, lo), hi)
			}
			row[j] = v
		}
	}
}
