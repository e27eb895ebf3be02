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
// itself (squeezenet 32→128 1×1 at 8²: 3.9 µs there, 10.6 µs here).
func convTOK(p ConvParams) bool {
	hw := p.OutH() * p.OutW()
	pointwise := p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0
	return p.Group == 1 && hw <= convTMaxHW && p.OutC >= 2*hw && !pointwise
}

// prepareT packs the weights (OutC × K) as B panels of Wᵀ.
func (c *Conv2D) prepareT(weight []float32) {
	p := c.p
	k := p.InC * p.KH * p.KW
	nr := c.gemm.NR
	npad := (p.OutC + nr - 1) / nr * nr
	c.tapIdx = tapOffsets(p)
	c.tapRun = tapRuns(p, c.tapIdx, c.gemm.MR)
	c.packedW = make([]float32, npad*k)
	for k0 := 0; k0 < k; k0 += c.blk.kc {
		kc := min(c.blk.kc, k-k0)
		packB(nr, c.packedW[k0*npad:k0*npad+kc*npad], true, weight, k, k0, kc, 0, p.OutC)
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

// tapOffsets returns, for every tap t = ky·KW + kx and output position
// j, the offset of the input pixel in its channel plane, or -1 when it
// falls in the padding (the transposed path's gather table).
func tapOffsets(p ConvParams) []int32 {
	oh, ow := p.OutH(), p.OutW()
	taps := p.KH * p.KW
	idx := make([]int32, taps*oh*ow)
	for t := 0; t < taps; t++ {
		ky, kx := t/p.KW, t%p.KW
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				iy := oy*p.StrideH - p.PadTop + ky*p.DilH
				ix := ox*p.StrideW - p.PadLeft + kx*p.DilW
				v := int32(-1)
				if iy >= 0 && iy < p.InH && ix >= 0 && ix < p.InW {
					v = int32(iy*p.InW + ix)
				}
				idx[(t*oh+oy)*ow+ox] = v
			}
		}
	}
	return idx
}

// tapRuns returns, for every tap and panel of mr positions, the offset of
// the panel's first input pixel when its mr pixels are consecutive in the
// input plane (a plain copy), else -1.
func tapRuns(p ConvParams, idx []int32, mr int) []int32 {
	hw := p.OutH() * p.OutW()
	panels := (hw + mr - 1) / mr
	taps := p.KH * p.KW
	runs := make([]int32, taps*panels)
	for t := 0; t < taps; t++ {
		for q := 0; q < panels; q++ {
			runs[t*panels+q] = -1
			if (q+1)*mr > hw {
				continue
			}
			row := idx[t*hw+q*mr : t*hw+(q+1)*mr]
			ok := row[0] >= 0
			for jj := 1; ok && jj < mr; jj++ {
				ok = row[jj] == row[0]+int32(jj)
			}
			if ok {
				runs[t*panels+q] = row[0]
			}
		}
	}
	return runs
}

// buildColT writes rows [r0,r1) of the im2col matrix of img (row r =
// channel, ky, kx; column j = output position) into col in the prepacked
// A layout of the transposed product: K block k0 at k0·mpad, position
// panel q at q·MR·kc, element (l, j mod MR) at l·MR + j mod MR. Padding
// positions j ≥ H·W are zero.
func (c *Conv2D) buildColT(img, col []float32, r0, r1 int) {
	p := c.p
	hw := p.OutH() * p.OutW()
	mr := c.gemm.MR
	mpad := (hw + mr - 1) / mr * mr
	panels := mpad / mr
	k := p.InC * p.KH * p.KW
	kcMax := c.blk.kc
	taps := p.KH * p.KW
	plen := p.InH * p.InW
	for r := r0; r < r1; r++ {
		k0 := r / kcMax * kcMax
		step := mr * min(kcMax, k-k0)
		base := col[k0*mpad+(r-k0)*mr:]
		ch, t := r/taps, r%taps
		plane := img[ch*plen : (ch+1)*plen]
		idx := c.tapIdx[t*hw : (t+1)*hw]
		runs := c.tapRun[t*panels : (t+1)*panels]
		for q, s := range runs {
			d := base[q*step : q*step+mr]
			if s >= 0 {
				copy(d, plane[s:int(s)+mr])
				continue
			}
			for jj := range d {
				v := float32(0)
				if j := q*mr + jj; j < hw {
					if s := idx[j]; s >= 0 {
						v = plane[s]
					}
				}
				d[jj] = v
			}
		}
	}
}

// runT convolves one image on the transposed path.
func (c *Conv2D) runT(pool *Pool, img, dst, ws []float32) {
	p := c.p
	hw := p.OutH() * p.OutW()
	k := p.InC * p.KH * p.KW
	g := c.gemm
	mr, nr := g.MR, g.NR
	npad := (p.OutC + nr - 1) / nr * nr
	colLen, ctLen := c.tLens()
	col, ct := ws[:colLen], ws[colLen:colLen+ctLen]
	a := convTArgs{c: c, img: img, col: col, ct: ct, dst: dst, hw: hw}
	colPool := pool
	if int64(k)*int64(hw) < 32*1024 {
		colPool = nil
	}
	parallelArgs(colPool, &convTTasks, k, a, (*convTArgs).buildCol)
	src := gemmSrc{
		pa:         col,
		mpadA:      (hw + mr - 1) / mr * mr,
		alignM:     mr,
		prepackedA: true,
		pb:         c.packedW,
		npadB:      npad,
		alignN:     nr,
		prepackedB: true,
	}
	ep := Epilogue{ColBias: c.bias, Act: p.Act}
	g.run(pool, c.blk, hw, p.OutC, k, &src, false, ct, p.OutC, ep)
	// Cᵀ → NCHW, on the pool when large.
	if hw*p.OutC < 1<<13 {
		pool = nil
	}
	parallelArgs(pool, &convTTasks, p.OutC, a, (*convTArgs).transpose)
}

// convTArgs are runT's operands for the pool.
type convTArgs struct {
	c                 *Conv2D
	img, col, ct, dst []float32
	hw                int
}

var convTTasks sync.Pool

// buildCol gathers the im2col rows [lo,hi).
func (a *convTArgs) buildCol(lo, hi int) { a.c.buildColT(a.img, a.col, lo, hi) }

// transpose writes output channels [lo,hi) of Cᵀ to the NCHW output.
func (a *convTArgs) transpose(lo, hi int) {
	outC, hw := a.c.p.OutC, a.hw
	for o := lo; o < hi; o++ {
		row := a.dst[o*hw : (o+1)*hw]
		for j := range row {
			row[j] = a.ct[j*outC+o]
		}
	}
}
