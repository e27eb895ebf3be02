package kernels

import "sync"

// dwKernel is one depthwise convolution implementation (Group == InC ==
// OutC): it computes output rows [oy0, oy1) of one channel.
type dwKernel struct {
	name     string
	requires ISA
	// ok reports whether the kernel handles p.
	ok func(p ConvParams) bool
	// row3 computes n outputs of a 3×3 row with all taps inside the image:
	// out[i] = min(max(bias + Σ w[3ky+kx]·rows[ky][i·stride+kx], lo), hi).
	// nil: use the generic loop for every pixel.
	row3 func(out []float32, r0, r1, r2 []float32, w *[9]float32, bias float32, n int, lo, hi float32)
}

// dwKernels is the depthwise descriptor table, best first, generic last.
var dwKernels = append(append([]*dwKernel(nil), archDWKernels...),
	&dwKernel{name: "f32-dwconv-3x3s1-generic", ok: is3x3s(1), row3: dwRow3x3s1Generic},
	&dwKernel{name: "f32-dwconv-3x3s2-generic", ok: is3x3s(2), row3: dwRow3x3s2Generic},
	&dwKernel{name: "f32-dwconv-generic", ok: func(ConvParams) bool { return true }},
)

func is3x3s(s int) func(p ConvParams) bool {
	return func(p ConvParams) bool {
		return p.KH == 3 && p.KW == 3 && p.StrideH == s && p.StrideW == s && p.DilH == 1 && p.DilW == 1
	}
}

func selectDW(cfg Config, p ConvParams) *dwKernel {
	for _, k := range dwKernels {
		if cfg.Allows(k.requires) && k.ok(p) {
			return k
		}
	}
	return dwKernels[len(dwKernels)-1]
}

// runDepthwise runs the depthwise path, parallel over channel planes.
func (c *Conv2D) runDepthwise(pool *Pool, batch int, in, out []float32) {
	p := c.p
	oh, ow := p.OutH(), p.OutW()
	inPlane, outPlane := p.InH*p.InW, oh*ow
	taps := p.KH * p.KW
	if int64(batch)*p.MACs() < 16*1024 {
		pool = nil
	}
	parallelArgs(pool, &dwTasks, batch*p.OutC, dwArgs{c, in, out, inPlane, outPlane, taps}, (*dwArgs).planes)
}

// dwArgs are runDepthwise's operands for the pool.
type dwArgs struct {
	c                       *Conv2D
	in, out                 []float32
	inPlane, outPlane, taps int
}

var dwTasks sync.Pool

// planes convolves planes [lo,hi) (batch × channel).
func (a *dwArgs) planes(lo, hi int) {
	c, p := a.c, &a.c.p
	for pl := lo; pl < hi; pl++ {
		ch := pl % p.OutC
		var bias float32
		if c.bias != nil {
			bias = c.bias[ch]
		}
		dwPlane(c.dw, *p, a.in[pl*a.inPlane:(pl+1)*a.inPlane], c.weight[ch*a.taps:(ch+1)*a.taps], bias, a.out[pl*a.outPlane:(pl+1)*a.outPlane])
	}
}

// dwPlane convolves one channel plane: rows and columns whose taps are all
// inside the image go through k.row3 when set (rows above and below the
// image read a zero row); border columns go through the generic
// per-pixel loop.
func dwPlane(k *dwKernel, p ConvParams, in, w []float32, bias float32, out []float32) {
	oh, ow := p.OutH(), p.OutW()
	if k.row3 != nil && p.PadTop|p.PadLeft|p.PadBottom|p.PadRight != 0 {
		// Copy the plane into a zero-padded one: every output pixel is
		// then interior and runs through the SIMD row.
		hp, wp := p.InH+p.PadTop+p.PadBottom, p.InW+p.PadLeft+p.PadRight
		s := getScratch(hp * wp)
		defer putScratch(s)
		buf := s.buf[:hp*wp]
		clear(buf)
		for y := 0; y < p.InH; y++ {
			copy(buf[(y+p.PadTop)*wp+p.PadLeft:], in[y*p.InW:(y+1)*p.InW])
		}
		in = buf
		p.InH, p.InW = hp, wp
		p.PadTop, p.PadLeft, p.PadBottom, p.PadRight = 0, 0, 0, 0
	}
	// Interior output columns: every tap inside the image.
	xLo, xHi := interior(p.PadLeft, p.StrideW, p.DilW, p.KW, p.InW, ow)
	var w9 [9]float32
	if k.row3 != nil {
		copy(w9[:], w)
	}
	lo, hi := actBounds(p.Act)
	var zeros []float32
	for oy := 0; oy < oh; oy++ {
		row := out[oy*ow : (oy+1)*ow]
		if k.row3 == nil || xHi <= xLo {
			dwPixels(p, in, w, bias, row, oy, 0, ow)
			p.Act.ApplySlice(row)
			continue
		}
		// Rows outside the image read a zero row, so border rows use
		// the SIMD row too; only border columns go pixel by pixel.
		iy := oy*p.StrideH - p.PadTop
		ix := xLo*p.StrideW - p.PadLeft
		var r [3][]float32
		for ky := range r {
			y := iy + ky
			if y < 0 || y >= p.InH {
				if zeros == nil {
					zeros = make([]float32, p.InW+2)
				}
				r[ky] = zeros[ix:]
			} else {
				r[ky] = in[y*p.InW+ix : (y+1)*p.InW]
			}
		}
		k.row3(row[xLo:xHi], r[0], r[1], r[2], &w9, bias, xHi-xLo, lo, hi)
		if xLo > 0 || xHi < ow {
			dwPixels(p, in, w, bias, row, oy, 0, xLo)
			dwPixels(p, in, w, bias, row, oy, xHi, ow)
			p.Act.ApplySlice(row[:xLo])
			p.Act.ApplySlice(row[xHi:])
		}
	}
}

// interior returns the output range [lo, hi) whose kernel window lies
// inside [0, in) along one axis.
func interior(pad, stride, dil, k, in, out int) (lo, hi int) {
	lo = (pad + stride - 1) / stride
	// o·stride − pad + dil·(k−1) ≤ in − 1
	last := in - 1 + pad - dil*(k-1)
	if last < 0 {
		return 0, 0
	}
	hi = min(out, last/stride+1)
	return min(lo, hi), hi
}

// dwPixels computes output pixels [x0, x1) of row oy with bounds checks.
func dwPixels(p ConvParams, in, w []float32, bias float32, row []float32, oy, x0, x1 int) {
	for ox := x0; ox < x1; ox++ {
		s := bias
		for ky := 0; ky < p.KH; ky++ {
			iy := oy*p.StrideH - p.PadTop + ky*p.DilH
			if iy < 0 || iy >= p.InH {
				continue
			}
			for kx := 0; kx < p.KW; kx++ {
				ix := ox*p.StrideW - p.PadLeft + kx*p.DilW
				if ix < 0 || ix >= p.InW {
					continue
				}
				s += w[ky*p.KW+kx] * in[iy*p.InW+ix]
			}
		}
		row[ox] = s
	}
}

// dwRow3x3s1Generic is the portable 3×3 stride-1 interior row.
func dwRow3x3s1Generic(out []float32, r0, r1, r2 []float32, w *[9]float32, bias float32, n int, lo, hi float32) {
	out = out[:n]
	r0, r1, r2 = r0[:n+2], r1[:n+2], r2[:n+2]
	for i := range out {
		s := bias
		s += w[0]*r0[i] + w[1]*r0[i+1] + w[2]*r0[i+2]
		s += w[3]*r1[i] + w[4]*r1[i+1] + w[5]*r1[i+2]
		s += w[6]*r2[i] + w[7]*r2[i+1] + w[8]*r2[i+2]
		out[i] = min(max(s, lo), hi)
	}
}

// dwRow3x3s2Generic is the portable 3×3 stride-2 interior row.
func dwRow3x3s2Generic(out []float32, r0, r1, r2 []float32, w *[9]float32, bias float32, n int, lo, hi float32) {
	out = out[:n]
	r0, r1, r2 = r0[:2*n+1], r1[:2*n+1], r2[:2*n+1]
	for i := range out {
		j := 2 * i
		s := bias
		s += w[0]*r0[j] + w[1]*r0[j+1] + w[2]*r0[j+2]
		s += w[3]*r1[j] + w[4]*r1[j+1] + w[5]*r1[j+2]
		s += w[6]*r2[j] + w[7]*r2[j+1] + w[8]*r2[j+2]
		out[i] = min(max(s, lo), hi)
	}
}
