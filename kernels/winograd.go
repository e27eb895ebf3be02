package kernels

// Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions: each 2×2 output
// tile costs 16 multiplies per channel pair instead of 36. Weights are
// transformed at creation (U = G·g·Gᵀ, 16 matrices of OutC×InC, prepacked
// as GEMM A panels); per run, input tiles are transformed (V = Bᵀ·d·B)
// into 16 matrices of InC×tiles, the 16 products M = U·V run as GEMMs,
// and the output transform (Y = Aᵀ·M·A) adds the bias and activation.

// winogradOK reports whether p takes the Winograd path: 3×3, stride 1,
// no dilation, one group, and enough channels for the GEMMs to dominate
// the transforms.
func winogradOK(p ConvParams) bool {
	return p.KH == 3 && p.KW == 3 && p.StrideH == 1 && p.StrideW == 1 && p.DilH == 1 && p.DilW == 1 &&
		p.Group == 1 && p.InC >= winogradMinC && p.OutC >= winogradMinC && p.OutH() >= 2 && p.OutW() >= 2
}

// winogradMinC is the channel count from which F(2×2, 3×3) wins with the
// scalar transforms (measured: 512×512 at 28² and 14² gain 10–15%, 256
// channels lose). A variable so tests can exercise the path cheaply.
var winogradMinC = 512

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

// runWinograd convolves one image.
func (c *Conv2D) runWinograd(pool *Pool, img, dst, ws []float32) {
	p := c.p
	oc, ic := p.OutC, p.InC
	th, tw, tc := c.winogradTiles()
	tiles := th * tw
	for t0 := 0; t0 < tiles; t0 += tc {
		n := min(tc, tiles-t0)
		v := ws[:16*ic*n]
		mm := ws[16*ic*tc : 16*ic*tc+16*oc*n]
		pool.Parallel(ic, func(lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				winogradInput(p, img[ch*p.InH*p.InW:(ch+1)*p.InH*p.InW], v, ch, ic, t0, n, tw)
			}
		})
		nr := c.gemm.NR
		pool.Parallel(16, func(lo, hi int) {
			for x := lo; x < hi; x++ {
				vx := v[x*ic*n : (x+1)*ic*n]
				src := gemmSrc{
					packA:      prepackedA(c.packedW[x*c.wStride:(x+1)*c.wStride], c.gemm.MR, oc),
					prepackedA: true,
					packB: func(dst []float32, k0, kc, j0, nc int) []float32 {
						packB(nr, dst, false, vx, n, k0, kc, j0, nc)
						return dst
					},
				}
				c.gemm.run(nil, c.blk, oc, n, ic, &src, false, mm[x*oc*n:(x+1)*oc*n], n, Epilogue{})
			}
		})
		lo, hi := actBounds(p.Act)
		pool.Parallel(oc, func(a, b int) {
			for o := a; o < b; o++ {
				var bias float32
				if c.bias != nil {
					bias = c.bias[o]
				}
				winogradOutput(p, mm, dst[o*p.OutH()*p.OutW():(o+1)*p.OutH()*p.OutW()], o, oc, t0, n, tw, bias, lo, hi)
			}
		})
	}
}

// winogradInput writes V = Bᵀ·d·B of tiles [t0, t0+n) of one channel
// plane into the 16 matrices v[ξ][ch][t].
func winogradInput(p ConvParams, plane, v []float32, ch, ic, t0, n, tw int) {
	var d [4][4]float32
	for t := 0; t < n; t++ {
		ty, tx := (t0+t)/tw, (t0+t)%tw
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
func winogradOutput(p ConvParams, mm, out []float32, o, oc, t0, n, tw int, bias, lo, hi float32) {
	oh, ow := p.OutH(), p.OutW()
	stride := oc * n
	for t := 0; t < n; t++ {
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
		ty, tx := (t0+t)/tw, (t0+t)%tw
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
