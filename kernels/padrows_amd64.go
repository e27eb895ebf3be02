//go:build gc && !purego

package kernels

// padRowsAVX512 is the assembly padded row copy (see padRowsFn); both
// borders must be at most padRowsMaxBorder wide.
//
//go:noescape
func padRowsAVX512(dst, src *float32, rows, w, wp, padLeft int)

// archPadRows is the assembly padded row copy; archPadRowsISA the ISA it
// needs.
var (
	archPadRows    padRowsFn = padRowsAVX
	archPadRowsISA           = AVX512
)

// padRowsAVX checks the slices once and runs padRowsAVX512.
func padRowsAVX(dst, src []float32, rows, w, wp, padLeft int) {
	if rows == 0 || w == 0 {
		padRowsGeneric(dst, src, rows, w, wp, padLeft)
		return
	}
	_, _ = dst[rows*wp-1], src[rows*w-1]
	padRowsAVX512(&dst[0], &src[0], rows, w, wp, padLeft)
}
