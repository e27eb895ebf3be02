//go:build gc && !purego

package kernels

// maxPoolS2AVX512 is the AVX-512 plane kernel of 2-D max pooling with
// kernel width kw (2 or 3), stride 2 and no dilation along x: for each
// output row r < rows, dst[r·ldd+j] = max over the three input rows
// src[offs[3r+i]:] and kx < kw of row[2j+kx] for j < n, NaN
// propagating, taps at or past a row's avail elements skipped; masks are
// poolS2Masks(n, kw, avail); rows of n ≤ 8 outputs whose inputs fit 16
// lanes are computed two at a time. Its generic twin is maxPoolS2Generic.
//
//go:noescape
func maxPoolS2AVX512(dst, src *float32, offs *int, rows, ldd, n, kw int, masks *[5]uint16)

// archMaxPoolS2 is the assembly stride-2 max pooling row kernel and the
// ISA it needs.
var archMaxPoolS2, archMaxPoolS2ISA = maxPoolS2AVX512, AVX512

// sumF64AVX512 returns the sum of x[0:n] accumulated in float64 (four
// 8-lane partial sums). Its generic twin is sumF64Generic.
//
//go:noescape
func sumF64AVX512(x *float32, n int) float64

// archSumF64 is the assembly float64 sum of global average pooling and
// the ISA it needs.
var archSumF64, archSumF64ISA = sumF64AVX512, AVX512
