//go:build gc && !purego

package kernels

// archGemmKernels are the amd64 assembly GEMM kernels, best first.
var archGemmKernels = []*GemmKernel{
	{Name: "f32-gemm-6x64-avx512", MR: 6, NR: 64, Requires: AVX512, micro: gemmF32x6x64AVX512, masked: true, eff: 1.0, packCost: 0.6, packA: packAAVX512, gemv4: gemvAVX512,
		ind: igemmF32x6x64AVX512, IndName: "f32-gemm-6x64-indirectb-avx512", tails: gemm6xTailsAVX512},
	{Name: "f32-gemm-14x32-avx512", MR: 14, NR: 32, Requires: AVX512, micro: gemmF32x14x32AVX512, masked: true, eff: 0.93, packCost: 0.3, packA: packAAVX512, gemv4: gemvAVX512,
		ind: igemmF32x14x32AVX512, IndName: "f32-gemm-14x32-indirectb-avx512"},
	{Name: "f32-gemm-6x16-avx2", MR: 6, NR: 16, Requires: AVX2, micro: gemmF32x6x16AVX2, eff: 1},
}

// gemm6xTailsAVX512 are the narrow twins of f32-gemm-6x64-avx512 (its
// tails): 16, 32 and 48 columns, the same 6-row A panels.
var gemm6xTailsAVX512 = []*GemmKernel{
	{Name: "f32-gemm-6x16-avx512", MR: 6, NR: 16, Requires: AVX512, micro: gemmF32x6x16AVX512, masked: true, eff: 1.0},
	{Name: "f32-gemm-6x32-avx512", MR: 6, NR: 32, Requires: AVX512, micro: gemmF32x6x32AVX512, masked: true, eff: 1.0},
	{Name: "f32-gemm-6x48-avx512", MR: 6, NR: 48, Requires: AVX512, micro: gemmF32x6x48AVX512, masked: true, eff: 1.0},
}

// gemmF32x6x16AVX512, gemmF32x6x32AVX512 and gemmF32x6x48AVX512 are the
// micro-kernels of the tails of f32-gemm-6x64-avx512 (see microFn); their
// generic twins are microRef(6, 16·v, ...).
//
//go:noescape
func gemmF32x6x16AVX512(k int, a, b, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

//go:noescape
func gemmF32x6x32AVX512(k int, a, b, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

//go:noescape
func gemmF32x6x48AVX512(k int, a, b, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

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

// igemmF32x14x32AVX512 is the f32-gemm-14x32-indirectb-avx512
// micro-kernel (see microIndFn); its generic twin is microIndGeneric4x4
// (tile 4×4), and tests compare it with microRef(14, 32, ...).
//
//go:noescape
func igemmF32x14x32AVX512(k int, a, b *float32, offs *int, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

// igemmF32x6x64AVX512 is the f32-gemm-6x64-indirectb-avx512 micro-kernel
// (see microIndFn); tests compare it with microRef(6, 64, ...).
//
//go:noescape
func igemmF32x6x64AVX512(k int, a, b *float32, offs *int, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

// gemmF32x6x16AVX2 is the f32-gemm-6x16-avx2 micro-kernel (see microFn);
// it needs mr == 6 and a full column mask. Its generic twin is
// microRef(6, 16, ...).
//
//go:noescape
func gemmF32x6x16AVX2(k int, a, b, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

// packAGatherAVX512 packs one A panel with AVX-512 gathers: for l < kc,
// dst[l·mr+r] = alpha·src[idx[r]+l] for the rows r in gmask and 0 for the
// other lanes in smask. Its generic twin is the row loop of packA.
//
//go:noescape
func packAGatherAVX512(dst, src *float32, idx *int32, kc, mr int, gmask, smask uint64, alpha float32)

// packA14AVX512 packs nblk blocks of 16 columns of 14 rows of A into the
// 14-wide panel at dst with an in-register 16×16 transpose; rows[r]
// points at row r (rows 14, 15 are not read). Its generic twin is packA.
//
//go:noescape
func packA14AVX512(dst *float32, rows *[16]*float32, nblk int)

// packA6AVX512 is packA14AVX512 for 6-row panels.
//
//go:noescape
func packA6AVX512(dst *float32, rows *[16]*float32, nblk int)

// zeroRow stands in for missing rows of a partial 14-row panel.
var zeroRow [512]float32

// packAAVX512 packs A (not transposed) for an AVX-512 kernel with MR ≤ 16:
// 14- and 6-row panels by transposing 16×16 blocks, the rest by gathers.
func packAAVX512(mr int, dst []float32, alpha float32, a []float32, lda, i0, mc, k0, kc int) {
	var idx [16]int32
	for r := range idx {
		idx[r] = int32(r * lda)
	}
	smask := uint64(1)<<uint(mr) - 1
	for p := 0; p < mc; p += mr {
		rows := min(mr, mc-p)
		_ = a[(i0+p+rows-1)*lda+k0+kc-1] // bounds: the last element read
		done := 0
		if (mr == 14 || mr == 6) && alpha == 1 && kc >= 16 && kc <= len(zeroRow) {
			var ptrs [16]*float32
			for r := range ptrs {
				ptrs[r] = &zeroRow[0]
				if r < rows {
					ptrs[r] = &a[(i0+p+r)*lda+k0]
				}
			}
			done = kc / 16 * 16
			if mr == 14 {
				packA14AVX512(&dst[p*kc], &ptrs, kc/16)
			} else {
				packA6AVX512(&dst[p*kc], &ptrs, kc/16)
			}
		}
		if done < kc {
			packAGatherAVX512(&dst[p*kc+done*mr], &a[(i0+p)*lda+k0+done], &idx[0], kc-done, mr, uint64(1)<<uint(rows)-1, smask, alpha)
		}
	}
}

// archDWKernels are the amd64 depthwise kernels, best first.
var archDWKernels = []*dwKernel{
	{name: "f32-dwconv-3x3s1-avx512", requires: AVX512, ok: is3x3s(1), row3: dwRow3x3s1AVX512},
	{name: "f32-dwconv-3x3s2-avx512", requires: AVX512, ok: is3x3s(2), row3: dwRow3x3s2AVX512},
}

var gemvAVX512 = &gemvKernels{dot4: sdot4AVX512, axpy64: saxpy64AVX512}

// sdot4AVX512 is the AVX-512 dot product of x with four rows of b (see
// gemvKernels.dot4); its generic twin is the scalar loop of gemvT.
//
//go:noescape
func sdot4AVX512(k int, x, b *float32, ldb int, acc *[64]float32)

// saxpy64AVX512 is the AVX-512 row-vector × matrix kernel on 64 columns
// (see gemvKernels.axpy64); its generic twin is the scalar loop of gemvN.
//
//go:noescape
func saxpy64AVX512(k int, x, b *float32, ldb int, y *float32, mask uint64)

// packRowsAVX packs the stride-1 convolution's B panels: for rr < kc it
// copies the nfull·nr floats at src + offs[rr] into row rr of nfull
// panels of kc×nr (nr a multiple of 16). Its generic twin is
// packRowsGeneric.
//
//go:noescape
func packRowsAVX(dst, src *float32, offs *int, kc, nfull, nr int)

// archPackRows is the assembly row packer and the ISA it needs.
var archPackRows, archPackRowsISA = packRowsAVX, AVX2

// maxRowsAVX512 sets dst[i] = max(a[i], b[i]) for i < n, NaN
// propagating (dst may be a). Its generic twin is maxRowsGeneric.
//
//go:noescape
func maxRowsAVX512(dst, a, b *float32, n int)

// archMaxRows is the assembly row max of 2-D max pooling and the ISA it needs.
var archMaxRows, archMaxRowsISA = maxRowsAVX512, AVX512
