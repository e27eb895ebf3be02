package kernels

// The transposed GEMM path for convolutions with small output maps (the
// 8², 4², 2² layers of CIFAR/MNIST-size networks, ImageNet networks' last
// stages): C is computed as Cᵀ (positions × OutC) = im2colᵀ · Wᵀ, so the
// wide register tile dimension (NR) runs over the output channels, which
// are many, instead of over the H·W positions, which are few. The weights
// are packed once at creation as prepacked B panels (as Dense packs
// them); per run, the im2col matrix is written straight into the packed A
// layout, the threads split the output channels (each streams its share
// of the weights once) and Cᵀ is transposed into the NCHW output.

import "sync"

// convTMaxHW is the largest output map (OutH·OutW) that takes the
// transposed path: with H·W ≤ 64, N = H·W fills at most one 64-wide tile
// while OutC fills many (resnet 512×4²: 0.78 → see BenchmarkConv). A
// variable so tests can exercise the path on other shapes.
var convTMaxHW = 64

// convTOK reports whether p takes the transposed path. Pointwise convs
// (1×1, stride 1, unpadded) keep the plain GEMM, whose B is the input
// itself (squeezenet 32→128 1×1 at 8²: 3.9 µs there, 10.6 µs here),
// unless the map has at most convTPointwiseHW positions: the plain
// GEMM's column tile would then be mostly masked lanes (the 1×1 second
// factors of a compressed network's 2² stage: 177→512 at 2², one
// thread, 16 → 8 µs; 3² breaks even, 4² is 17 → 25 µs).
func convTOK(p ConvParams) bool {
	hw := p.OutH() * p.OutW()
	pointwise := p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0
	return p.Group == 1 && hw <= convTMaxHW && p.OutC >= 2*hw && (!pointwise || hw <= convTPointwiseHW)
}

// convTPointwiseHW is the largest map on which pointwise convs take the
// transposed path.
const convTPointwiseHW = 8

// prepareT packs the weights (OutC × K) as B panels of Wᵀ and builds
// the gather table of the im2col matrix. On maps of fewer than 8 row
// tiles (4², 2²: the product is bound by reading the weights, which
// stream from memory), when the GEMM kernel has narrow twins
// (GemmKernel.tails), the last OutC mod NR columns are packed as one
// panel of the narrowest twin that holds them instead of being padded
// to NR: a panel of zeros costs as much bandwidth as one of weights
// (512→135 3×3 at 4², two threads, weights cold: 135 columns took the
// time of 192; 128 columns 20% less).
func (c *Conv2D) prepareT(cfg Config, weight []float32) {
	p := c.p
	k := p.InC * p.KH * p.KW
	hw := p.OutH() * p.OutW()
	nr := c.gemm.NR
	c.nMain = p.OutC
	if rem := p.OutC % nr; rem != 0 && len(c.gemm.tails) > 0 && (hw+c.gemm.MR-1)/c.gemm.MR < 8 {
		if t := c.gemm.tails[min((rem+15)/16, len(c.gemm.tails))-1]; t.NR >= rem && t.NR < nr {
			c.tail, c.nMain = t, p.OutC-rem
		}
	}
	c.tapIdx = tapOffsets(p, c.gemm.MR)
	c.gather = selectGather(cfg)
	c.ctIdx = make([]int32, hw)
	for j := range c.ctIdx {
		c.ctIdx[j] = int32(j * p.OutC)
	}
	c.packedW = packPanels(nr, weight, k, c.blk.kc, 0, c.nMain)
	if c.tail != nil {
		c.packedWT = packPanels(c.tail.NR, weight, k, c.blk.kc, c.nMain, p.OutC-c.nMain)
	}
}

// packPanels packs columns [j0,j0+n) of Wᵀ (W is OutC × k) as prepacked
// B panels nr wide (packPanelsTo) into a new slice.
func packPanels(nr int, weight []float32, k, kcMax, j0, n int) []float32 {
	out := make([]float32, (n+nr-1)/nr*nr*k)
	packPanelsTo(out, nr, weight, k, kcMax, j0, n)
	return out
}

// packPanelsTo packs columns [j0,j0+n) of Wᵀ (W is OutC × k) into dst as
// prepacked B panels nr wide: K block k0 at k0·npad, panel q at q·nr·kc
// in it (npad = n rounded up to nr).
func packPanelsTo(dst []float32, nr int, weight []float32, k, kcMax, j0, n int) {
	npad := (n + nr - 1) / nr * nr
	for k0 := 0; k0 < k; k0 += kcMax {
		kc := min(kcMax, k-k0)
		packB(nr, dst[k0*npad:k0*npad+kc*npad], true, weight, k, k0, kc, j0, n)
	}
}

// tLens is the workspace of the transposed path: the packed im2col matrix
// (positions padded to MR) and Cᵀ.
func (c *Conv2D) tLens() (colLen, ctLen int) {
	p := c.p
	hw := p.OutH() * p.OutW()
	mr := c.gemm.MR
	return (hw + mr - 1) / mr * mr * p.InC * p.KH * p.KW, hw * p.OutC
}

// tapOffsets returns the gather table of the transposed path: for every
// panel q of mr output positions, tap t = ky·KW + kx and position
// j = q·mr + jj, entry (q·taps + t)·mr + jj is the offset of the input
// pixel in its channel plane, or -1 when it falls in the padding or j is
// past H·W (the last panel's padding): the gather writes zero there. A
// channel's taps·mr entries of one panel are one run of the packed A.
func tapOffsets(p ConvParams, mr int) []int32 {
	oh, ow := p.OutH(), p.OutW()
	hw := oh * ow
	mpad := (hw + mr - 1) / mr * mr
	taps := p.KH * p.KW
	idx := make([]int32, taps*mpad)
	for j := range mpad {
		q, jj := j/mr, j%mr
		for t := range taps {
			v := int32(-1)
			if j < hw {
				iy := j/ow*p.StrideH - p.PadTop + t/p.KW*p.DilH
				ix := j%ow*p.StrideW - p.PadLeft + t%p.KW*p.DilW
				if iy >= 0 && iy < p.InH && ix >= 0 && ix < p.InW {
					v = int32(iy*p.InW + ix)
				}
			}
			idx[(q*taps+t)*mr+jj] = v
		}
	}
	return idx
}

// buildColT writes the im2col rows of channels [c0,c1) of img (row r =
// channel, ky, kx; column j = output position) into col in the prepacked
// A layout of the transposed product: K block k0 at k0·mpad, position
// panel q at q·MR·kc, element (l, j mod MR) at l·MR + j mod MR. A
// channel's rows in one panel are consecutive, so each (channel, panel)
// is one gather through the tapOffsets table (two when the channel's
// rows straddle a K block).
func (c *Conv2D) buildColT(img, col []float32, c0, c1 int) {
	p := c.p
	mr := c.gemm.MR
	hw := p.OutH() * p.OutW()
	mpad := (hw + mr - 1) / mr * mr
	k := p.InC * p.KH * p.KW
	kcMax := c.blk.kc
	taps := p.KH * p.KW
	plen := p.InH * p.InW
	for ch := c0; ch < c1; ch++ {
		plane := img[ch*plen : (ch+1)*plen]
		for t0 := 0; t0 < taps; {
			r := ch*taps + t0
			k0 := r / kcMax * kcMax
			kcb := min(kcMax, k-k0)
			rr := r - k0
			nt := min(taps-t0, kcb-rr) // taps of ch in this K block
			step := mr * kcb
			off := k0*mpad + rr*mr
			for q := 0; q < mpad/mr; q++ {
				e := (q*taps + t0) * mr
				c.gather.run(col[off+q*step:], plane, c.tapIdx[e:e+nt*mr])
			}
			t0 += nt
		}
	}
}

// runT convolves one image on the transposed path.
func (c *Conv2D) runT(pool *Pool, img, dst, ws []float32) {
	p := c.p
	hw := p.OutH() * p.OutW()
	k := p.InC * p.KH * p.KW
	colLen, ctLen := c.tLens()
	col, ct := ws[:colLen], ws[colLen:colLen+ctLen]
	a := convTArgs{c: c, img: img, col: col, ct: ct, dst: dst, hw: hw}
	colPool := pool
	if int64(k)*int64(hw) < 32*1024 {
		colPool = nil
	}
	parallelArgs(colPool, &convTTasks, p.InC, a, (*convTArgs).buildCol)
	src := c.tSrc(c.gemm, col, hw, c.nMain, c.packedW)
	ep := Epilogue{ColBias: c.bias, Act: p.Act}
	if c.tail != nil {
		// The NR-wide panels and the narrow last panel (prepareT).
		src2 := c.tSrc(c.tail, col, hw, p.OutC-c.nMain, c.packedWT)
		ep2 := ep
		if c.bias != nil {
			ep.ColBias, ep2.ColBias = c.bias[:c.nMain], c.bias[c.nMain:]
		}
		c.gemm.runPair(pool, c.blk, hw, c.nMain, p.OutC-c.nMain, k, &src, &src2, c.tail, ct, p.OutC, ep, ep2)
	} else {
		c.gemm.run(pool, c.blk, hw, p.OutC, k, &src, false, ct, p.OutC, ep)
	}
	// Cᵀ → NCHW, on the pool when large.
	if hw*p.OutC < 1<<13 {
		pool = nil
	}
	parallelArgs(pool, &convTTasks, p.OutC, a, (*convTArgs).transpose)
}

// tSrc describes the operands of the transposed product for kernel g:
// the packed im2col matrix col and the weight panels pw of n columns.
func (c *Conv2D) tSrc(g *GemmKernel, col []float32, hw, n int, pw []float32) gemmSrc {
	mr, nr := g.MR, g.NR
	return gemmSrc{
		pa:         col,
		mpadA:      (hw + mr - 1) / mr * mr,
		alignM:     mr,
		prepackedA: true,
		pb:         pw,
		npadB:      (n + nr - 1) / nr * nr,
		alignN:     nr,
		prepackedB: true,
	}
}

// convTArgs are runT's operands for the pool.
type convTArgs struct {
	c                 *Conv2D
	img, col, ct, dst []float32
	hw                int
}

var convTTasks sync.Pool

// buildCol gathers the im2col rows of channels [lo,hi).
func (a *convTArgs) buildCol(lo, hi int) { a.c.buildColT(a.img, a.col, lo, hi) }

// transpose writes output channels [lo,hi) of Cᵀ to the NCHW output.
// From 16 positions on, channel o is one gather of column o of Cᵀ
// (stride OutC; one thread, 128→256 1×1 s2 at 8²: 0.042 → 0.036 ms);
// shorter columns are copied in Go (177→512 1×1 at 2²: 8 µs, 10 µs
// with the gather's call per channel).
func (a *convTArgs) transpose(lo, hi int) {
	c, hw := a.c, a.hw
	if hw >= 16 {
		for o := lo; o < hi; o++ {
			c.gather.run(a.dst[o*hw:(o+1)*hw], a.ct[o:], c.ctIdx)
		}
		return
	}
	outC := c.p.OutC
	for o := lo; o < hi; o++ {
		row := a.dst[o*hw : (o+1)*hw]
		for j := range row {
			row[j] = a.ct[j*outC+o]
		}
	}
}
