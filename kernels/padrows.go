package kernels

// padRowsFn copies rows of w floats (src, contiguous) into rows of wp
// floats (dst, contiguous), each padLeft zeros, the w floats, then zeros
// to wp: the body of the copy of an image into zero-padded planes.
type padRowsFn func(dst, src []float32, rows, w, wp, padLeft int)

// padRowsMaxBorder is the widest border the assembly copy handles (one
// masked store per side).
const padRowsMaxBorder = 16

// selectPadRows returns the padded row copy of the direct conv path: the
// assembly one when
// cfg allows it and both borders are narrow enough, else padRowsGeneric.
func selectPadRows(cfg Config, padLeft, padRight int) padRowsFn {
	if archPadRows != nil && cfg.Allows(archPadRowsISA) && padLeft <= padRowsMaxBorder && padRight <= padRowsMaxBorder {
		return archPadRows
	}
	return padRowsGeneric
}

// padRowsGeneric is the generic twin of the assembly row copy.
func padRowsGeneric(dst, src []float32, rows, w, wp, padLeft int) {
	for r := range rows {
		d := dst[r*wp : (r+1)*wp]
		clear(d[:padLeft])
		copy(d[padLeft:padLeft+w], src[r*w:(r+1)*w])
		clear(d[padLeft+w:])
	}
}
