package kernels

// Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions: each 2×2 output
// tile costs 16 multiplies per channel pair instead of 36. Weights are
// transformed at creation (U = G·g·Gᵀ, 16 matrices of OutC×InC, prepacked
// as GEMM A panels); per run, input tiles are transformed (V = Bᵀ·d·B)
// into 16 matrices of InC×tiles, the 16 products M = U·V run as GEMMs,
// and the output transform (Y = Aᵀ·M·A) adds the bias and activation.

import "sync"

// winoKernels are SIMD transforms of 16 horizontally adjacent tiles.
type winoKernels struct {
	requires ISA
	// in16 writes V[ξ] (16 floats at v + ξ·vstride bytes) for 16 tiles
	// whose 4 input rows (34 floats each) start at rows[r].
	in16 func(rows [4]*float32, v *float32, vstride int)
	// out16 writes 32 columns of output row out0 (and out1 if rows == 2).
	out16 func(m *float32, mstride int, out0, out1 *float32, rows int, bias, lo, hi float32)
}

// winogradOK reports whether p takes the Winograd path with transforms wk
// (nil: scalar): 3×3, stride 1, no dilation, one group, and enough
// channels for the GEMMs to dominate the transforms. With SIMD transforms
// the rows must also be wide enough (≥ 24 tiles) that border tiles, done
// in scalar code, are few.
func winogradOK(p ConvParams, wk *winoKernels) bool {
	if p.KH != 3 || p.KW != 3 || p.StrideH != 1 || p.StrideW != 1 || p.DilH != 1 || p.DilW != 1 ||
		p.Group != 1 || p.OutH() < 2 || p.OutW() < 2 {
		return false
	}
	th, tw := (p.OutH()+1)/2, (p.OutW()+1)/2
	if p.InC >= winogradScalarMinC && p.OutC >= winogradScalarMinC && th*tw >= winogradScalarMinTiles {
		return true
	}
	return wk != nil && p.InC >= winogradMinC && p.OutC >= winogradMinC && tw >= winogradMinTiles &&
		(p.InW-34+p.PadLeft)/2 >= (p.PadLeft+1)/2
}

// Winograd thresholds, measured on VGG/ResNet layers (BenchmarkConv): with
// AVX-512 transforms 128×112² gains 1.45×, 256×56² 1.7×, 64×224² 1.2×;
// with scalar transforms only 512-channel layers gain (10–15%). Variables
// so tests can exercise the paths on small shapes.
var (
	winogradMinC           = 64
	winogradScalarMinC     = 512
	winogradMinTiles       = 24
	winogradScalarMinTiles = 36 // 512×4² loses 1.6×, 512×14² (49 tiles) wins
)

// winogradTileCap, when positive, overrides the tiles per chunk (tests).
var winogradTileCap = 0

// winogradTiles returns the tile grid and the tiles per chunk.
func (c *Conv2D) winogradTiles() (th, tw, tc int) {
	p := c.p
	th, tw = (p.OutH()+1)/2, (p.OutW()+1)/2
	// A chunk's V and M matrices take about 4 MiB.
	tc = max(64, (1<<20)/(16*max(p.InC, p.OutC)))
	if winogradTileCap > 0 {
		tc = winogradTileCap
	}
	return th, tw, min(tc, th*tw)
}

// winoZeros stands in for input rows above and below the image.
var winoZeros [64]float32

// winogradWS is the workspace of the Winograd path: V and M of one chunk.
func (c *Conv2D) winogradWS() int {
	_, _, tc := c.winogradTiles()
	return 16 * tc * (c.p.InC + c.p.OutC)
}

// prepareWinograd transforms and packs the weights.
func (c *Conv2D) prepareWinograd(weight []float32) {
	p := c.p
	oc, ic := p.OutC, p.InC
	u := make([]float32, 16*oc*ic)
	for o := 0; o < oc; o++ {
		for i := 0; i < ic; i++ {
			g := weight[(o*ic+i)*9 : (o*ic+i)*9+9]
			// t = G·g (4×3), then U = t·Gᵀ (4×4).
			var t [4][3]float64
			for j := 0; j < 3; j++ {
				g0, g1, g2 := float64(g[j]), float64(g[3+j]), float64(g[6+j])
				t[0][j] = g0
				t[1][j] = (g0 + g1 + g2) / 2
				t[2][j] = (g0 - g1 + g2) / 2
				t[3][j] = g2
			}
			for r := 0; r < 4; r++ {
				g0, g1, g2 := t[r][0], t[r][1], t[r][2]
				row := [4]float64{g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2}
				for col := 0; col < 4; col++ {
					u[((r*4+col)*oc+o)*ic+i] = float32(row[col])
				}
			}
		}
	}
	c.wStride = prepackLen(c.gemm, c.blk, oc, ic)
	c.packedW = make([]float32, 16*c.wStride)
	for x := 0; x < 16; x++ {
		prepackA(c.gemm, c.blk, c.packedW[x*c.wStride:(x+1)*c.wStride], oc, ic, u[x*oc*ic:(x+1)*oc*ic], ic)
	}
}

// runWinograd convolves one image. Its state lives in a pooled
// winoTask, the pool's loop body, so a steady-state call allocates
// nothing.
func (c *Conv2D) runWinograd(pool *Pool, img, dst, ws []float32) {
	p := &c.p
	oc, ic := p.OutC, p.InC
	th, tw, tc := c.winogradTiles()
	tiles := th * tw
	w := winoTaskPool.Get().(*winoTask)
	defer func() {
		*w = winoTask{}
		winoTaskPool.Put(w)
	}()
	w.c, w.img, w.dst, w.tw = c, img, dst, tw
	w.lo, w.hi = actBounds(p.Act)
	for t0 := 0; t0 < tiles; t0 += tc {
		n := min(tc, tiles-t0)
		w.t0, w.n = t0, n
		w.v = ws[:16*ic*n]
		w.mm = ws[16*ic*tc : 16*ic*tc+16*oc*n]
		w.phase = winoIn
		pool.ParallelTask(ic, w)
		w.phase = winoGemm
		pool.ParallelTask(16, w)
		w.phase = winoOut
		pool.ParallelTask(oc, w)
	}
}

// winoTask is one runWinograd call's chunk of tiles [t0, t0+n): its
// Run does the phase over channels (winoIn), the 16 matrices (winoGemm)
// or output channels (winoOut).
type winoTask struct {
	c         *Conv2D
	img, dst  []float32
	v, mm     []float32
	t0, n, tw int
	lo, hi    float32
	phase     int
}

const (
	winoIn = iota
	winoGemm
	winoOut
)

var winoTaskPool = sync.Pool{New: func() any { return new(winoTask) }}

// Run does w's phase for indices [lo, hi).
func (w *winoTask) Run(lo, hi int) {
	c := w.c
	p := &c.p
	oc, ic, n := p.OutC, p.InC, w.n
	switch w.phase {
	case winoIn:
		for ch := lo; ch < hi; ch++ {
			winogradInput(c.wino, *p, w.img[ch*p.InH*p.InW:(ch+1)*p.InH*p.InW], w.v, ch, ic, w.t0, n, w.tw)
		}
	case winoGemm:
		mr := c.gemm.MR
		for x := lo; x < hi; x++ {
			src := gemmSrc{
				pa:         c.packedW[x*c.wStride : (x+1)*c.wStride],
				mpadA:      (oc + mr - 1) / mr * mr,
				prepackedA: true,
				bm:         w.v[x*ic*n : (x+1)*ic*n],
				ldb:        n,
			}
			c.gemm.run(nil, c.blk, oc, n, ic, &src, false, w.mm[x*oc*n:(x+1)*oc*n], n, Epilogue{})
		}
	case winoOut:
		for o := lo; o < hi; o++ {
			var bias float32
			if c.bias != nil {
				bias = c.bias[o]
			}
			winogradOutput(c.wino, *p, w.mm, w.dst[o*p.OutH()*p.OutW():(o+1)*p.OutH()*p.OutW()], o, oc, w.t0, n, w.tw, bias, w.lo, w.hi)
		}
	}
}

// winogradInput writes V = Bᵀ·d·B of tiles [t0, t0+n) of one channel
// plane into the 16 matrices v[ξ][ch][t].
func winogradInput(wk *winoKernels, p ConvParams, plane, v []float32, ch, ic, t0, n, tw int) {
	var d [4][4]float32
	var rows [4]*float32
	// SIMD groups of 16 tiles may start at tx in [sLo, sHi]: their 34
	// input columns are inside the image. Groups may overlap (V is
	// rewritten with the same values), so only border tiles are scalar.
	sLo := (p.PadLeft + 1) / 2
	sHi := min((p.InW-34+p.PadLeft)/2, tw-16)
	for t := 0; t < n; t++ {
		ty, tx := (t0+t)/tw, (t0+t)%tw
		if s := min(tx, sHi); wk != nil && s >= sLo && tx-s < 16 && t-(tx-s)+16 <= n && t-(tx-s) >= 0 {
			g := t - (tx - s) // chunk index of the group's first tile
			y0, x0 := 2*ty-p.PadTop, 2*s-p.PadLeft
			for r := range rows {
				if y := y0 + r; y >= 0 && y < p.InH {
					rows[r] = &plane[y*p.InW+x0]
				} else {
					rows[r] = &winoZeros[0]
				}
			}
			_ = v[15*ic*n+ch*n+g+15]
			wk.in16(rows, &v[ch*n+g], ic*n*4)
			t = g + 15
			continue
		}
		y0, x0 := 2*ty-p.PadTop, 2*tx-p.PadLeft
		if y0 >= 0 && x0 >= 0 && y0+4 <= p.InH && x0+4 <= p.InW {
			for r := 0; r < 4; r++ {
				row := plane[(y0+r)*p.InW+x0 : (y0+r)*p.InW+x0+4]
				d[r] = [4]float32{row[0], row[1], row[2], row[3]}
			}
		} else {
			for r := 0; r < 4; r++ {
				y := y0 + r
				for cc := 0; cc < 4; cc++ {
					x := x0 + cc
					if y >= 0 && y < p.InH && x >= 0 && x < p.InW {
						d[r][cc] = plane[y*p.InW+x]
					} else {
						d[r][cc] = 0
					}
				}
			}
		}
		// Rows: Bᵀ·d.
		var b [4][4]float32
		for cc := 0; cc < 4; cc++ {
			b[0][cc] = d[0][cc] - d[2][cc]
			b[1][cc] = d[1][cc] + d[2][cc]
			b[2][cc] = d[2][cc] - d[1][cc]
			b[3][cc] = d[1][cc] - d[3][cc]
		}
		// Columns: (Bᵀ·d)·B.
		base := ch*n + t
		stride := ic * n
		for r := 0; r < 4; r++ {
			e := b[r]
			o := base + r*4*stride
			v[o] = e[0] - e[2]
			v[o+stride] = e[1] + e[2]
			v[o+2*stride] = e[2] - e[1]
			v[o+3*stride] = e[1] - e[3]
		}
	}
}

// winogradOutput writes Y = Aᵀ·M·A (+bias, clamped) of tiles [t0, t0+n)
// for output channel o.
func winogradOutput(wk *winoKernels, p ConvParams, mm, out []float32, o, oc, t0, n, tw int, bias, lo, hi float32) {
	oh, ow := p.OutH(), p.OutW()
	stride := oc * n
	sHi := min((ow-32)/2, tw-16)
	for t := 0; t < n; t++ {
		ty, tx := (t0+t)/tw, (t0+t)%tw
		if s := min(tx, sHi); wk != nil && s >= 0 && tx-s < 16 && t-(tx-s)+16 <= n && t-(tx-s) >= 0 {
			g := t - (tx - s)
			y := 2 * ty
			rows, out1 := 1, &out[y*ow+2*s]
			if y+1 < oh {
				rows, out1 = 2, &out[(y+1)*ow+2*s]
				_ = out[(y+1)*ow+2*s+31]
			}
			_ = mm[15*stride+o*n+g+15]
			wk.out16(&mm[o*n+g], stride*4, &out[y*ow+2*s], out1, rows, bias, lo, hi)
			t = g + 15
			continue
		}
		var m [4][4]float32
		base := o*n + t
		for x := 0; x < 16; x++ {
			m[x/4][x%4] = mm[base+x*stride]
		}
		// Rows: Aᵀ·M.
		var a [2][4]float32
		for cc := 0; cc < 4; cc++ {
			a[0][cc] = m[0][cc] + m[1][cc] + m[2][cc]
			a[1][cc] = m[1][cc] - m[2][cc] - m[3][cc]
		}
		for r := 0; r < 2; r++ {
			y := 2*ty + r
			if y >= oh {
				break
			}
			y0 := a[r][0] + a[r][1] + a[r][2] + bias
			y1 := a[r][1] - a[r][2] - a[r][3] + bias
			x := 2 * tx
			out[y*ow+x] = min(max(y0, lo), hi)
			if x+1 < ow {
				out[y*ow+x+1] = min(max(y1, lo), hi)
			}
		}
	}
}
