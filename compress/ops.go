package compress

import (
	"fmt"
	"math"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// netOp is one differentiable operator of the calibration network, with
// static shapes for one batch size. Inputs are activations and, for Conv
// and Gemm, the (effective) weight as input 1. forward and backward read
// their inputs and write whole outputs; they are safe for concurrent use.
type netOp interface {
	kind() string
	inShapes() []ir.Shape
	outShape() ir.Shape
	// diff reports whether the gradient with respect to input i is needed.
	diff(i int) bool
	forward(p *kernels.Pool, in [][]float32, out []float32)
	// backward writes the gradient with respect to input i into gin
	// (overwriting it), given the output and its gradient gout.
	backward(p *kernels.Pool, i int, in [][]float32, out, gout, gin []float32)
}

// ---- Conv (group 1, float32, NCHW) ----

type convOp struct {
	p        kernels.ConvParams // InH/InW per image
	batch    int
	bias     []float32 // len OutC or nil
	needDX   bool
	needDW   bool
	gemm     *kernels.GemmKernel
	in, outS ir.Shape
}

func newConvOp(cfg kernels.Config, batch int, p kernels.ConvParams, bias []float32, needDX bool) (*convOp, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Group != 1 {
		return nil, fmt.Errorf("compress: grouped convolution (group %d) is not differentiable here", p.Group)
	}
	return &convOp{p: p, batch: batch, bias: bias, needDX: needDX, gemm: kernels.SelectGemm(cfg),
		in:   ir.Shape{batch, p.InC, p.InH, p.InW},
		outS: ir.Shape{batch, p.OutC, p.OutH(), p.OutW()}}, nil
}

func (c *convOp) kind() string { return "Conv" }
func (c *convOp) inShapes() []ir.Shape {
	return []ir.Shape{c.in, {c.p.OutC, c.p.InC, c.p.KH, c.p.KW}}
}
func (c *convOp) outShape() ir.Shape { return c.outS }
func (c *convOp) diff(i int) bool {
	if i == 0 {
		return c.needDX
	}
	return c.needDW
}

func (c *convOp) cols() (kk, hw int) {
	return c.p.InC * c.p.KH * c.p.KW, c.p.OutH() * c.p.OutW()
}

// chunk returns how many images one GEMM covers: enough that the GEMM
// has at least 512 columns (deep layers have tiny spatial sizes).
func (c *convOp) chunk() int {
	_, hw := c.cols()
	return max(1, min(c.batch, (512+hw-1)/hw))
}

// chunks runs fn over image ranges [lo, hi) of chunk() images: in
// parallel (each call with a nil GEMM pool) when there are enough chunks,
// else one after the other with the pool handed to the GEMMs.
func (c *convOp) chunks(pool *kernels.Pool, fn func(gp *kernels.Pool, worker, lo, hi int)) {
	cb := c.chunk()
	nc := (c.batch + cb - 1) / cb
	if nc >= pool.Threads() && pool.Threads() > 1 {
		pool.Parallel(pool.Threads(), func(wlo, whi int) {
			for w := wlo; w < whi; w++ {
				for ch := w; ch < nc; ch += pool.Threads() {
					fn(nil, w, ch*cb, min(c.batch, (ch+1)*cb))
				}
			}
		})
		return
	}
	for ch := 0; ch < nc; ch++ {
		fn(pool, 0, ch*cb, min(c.batch, (ch+1)*cb))
	}
}

func (c *convOp) forward(pool *kernels.Pool, in [][]float32, out []float32) {
	x, w := in[0], in[1]
	kk, hw := c.cols()
	isz := c.p.InC * c.p.InH * c.p.InW
	osz := c.p.OutC * hw
	cb := c.chunk()
	bufs := make([][2][]float32, pool.Threads())
	c.chunks(pool, func(gp *kernels.Pool, wk, lo, hi int) {
		cols := (hi - lo) * hw
		if bufs[wk][0] == nil {
			bufs[wk] = [2][]float32{make([]float32, kk*cb*hw), make([]float32, c.p.OutC*cb*hw)}
		}
		col, y := bufs[wk][0][:kk*cols], bufs[wk][1][:c.p.OutC*cols]
		for n := lo; n < hi; n++ {
			im2col(c.p, x[n*isz:(n+1)*isz], col, cols, (n-lo)*hw)
		}
		if hi-lo == 1 {
			y = out[lo*osz : (lo+1)*osz]
		}
		c.gemm.Sgemm(gp, false, false, c.p.OutC, cols, kk, 1, w, kk, col, cols, 0, y, cols)
		for n := lo; n < hi; n++ {
			dst := out[n*osz : (n+1)*osz]
			for k := 0; k < c.p.OutC; k++ {
				o := dst[k*hw : (k+1)*hw]
				if hi-lo > 1 {
					copy(o, y[k*cols+(n-lo)*hw:])
				}
				if c.bias != nil {
					b := c.bias[k]
					for i := range o {
						o[i] += b
					}
				}
			}
		}
	})
}

// gather copies gY of images [lo, hi) into an N × ((hi−lo)·hw) matrix.
func (c *convOp) gather(gout []float32, lo, hi int, g []float32) {
	_, hw := c.cols()
	osz := c.p.OutC * hw
	cols := (hi - lo) * hw
	for n := lo; n < hi; n++ {
		src := gout[n*osz:]
		for k := 0; k < c.p.OutC; k++ {
			copy(g[k*cols+(n-lo)*hw:k*cols+(n-lo+1)*hw], src[k*hw:(k+1)*hw])
		}
	}
}

func (c *convOp) backward(pool *kernels.Pool, i int, in [][]float32, _ []float32, gout, gin []float32) {
	x, w := in[0], in[1]
	kk, hw := c.cols()
	n := c.p.OutC
	isz := c.p.InC * c.p.InH * c.p.InW
	cb := c.chunk()
	threads := pool.Threads()
	bufs := make([][2][]float32, threads)
	acc := make([][]float32, threads)
	var wt []float32
	if i == 0 {
		wt = transpose(w, n, kk) // kk × N: avoids a transposed GEMM operand
	}
	c.chunks(pool, func(gp *kernels.Pool, wk, lo, hi int) {
		cols := (hi - lo) * hw
		if bufs[wk][0] == nil {
			bufs[wk] = [2][]float32{make([]float32, kk*cb*hw), make([]float32, n*cb*hw)}
		}
		col, g := bufs[wk][0][:kk*cols], bufs[wk][1][:n*cols]
		switch i {
		case 0: // dX = col2im(Wᵀ·gY)
			c.gather(gout, lo, hi, g)
			c.gemm.Sgemm(gp, false, false, kk, cols, n, 1, wt, n, g, cols, 0, col, cols)
			for m := lo; m < hi; m++ {
				dx := gin[m*isz : (m+1)*isz]
				clear(dx)
				col2im(c.p, col, cols, (m-lo)*hw, dx)
			}
		case 1: // dWᵀ += col · gYᵀ (kk × N), both operands untransposed
			c.gatherT(gout, lo, hi, g)
			for m := lo; m < hi; m++ {
				im2col(c.p, x[m*isz:(m+1)*isz], col, cols, (m-lo)*hw)
			}
			if acc[wk] == nil {
				acc[wk] = make([]float32, kk*n)
			}
			c.gemm.Sgemm(gp, false, false, kk, n, cols, 1, col, cols, g, n, 1, acc[wk], n)
		}
	})
	if i == 1 {
		clear(gin)
		for _, a := range acc {
			if a == nil {
				continue
			}
			for r := 0; r < kk; r++ {
				for o := 0; o < n; o++ {
					gin[o*kk+r] += a[r*n+o]
				}
			}
		}
	}
}

// gatherT copies gY of images [lo, hi) into a ((hi−lo)·hw) × N matrix.
func (c *convOp) gatherT(gout []float32, lo, hi int, g []float32) {
	_, hw := c.cols()
	n := c.p.OutC
	osz := n * hw
	for m := lo; m < hi; m++ {
		src := gout[m*osz:]
		base := (m - lo) * hw
		for k := 0; k < n; k++ {
			s := src[k*hw : (k+1)*hw]
			for p, v := range s {
				g[(base+p)*n+k] = v
			}
		}
	}
}

// im2col writes the (InC·KH·KW) × (OutH·OutW) patch matrix of one image
// into col, whose rows are ld apart, starting at column off.
func im2col(p kernels.ConvParams, img []float32, col []float32, ld, off int) {
	oh, ow := p.OutH(), p.OutW()
	r := 0
	for ch := 0; ch < p.InC; ch++ {
		plane := img[ch*p.InH*p.InW:]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				dst := col[r*ld+off : r*ld+off+oh*ow]
				r++
				// Valid output columns: 0 <= x*sW - pL + kx*dW < InW.
				x0, x1 := validRange(ow, p.StrideW, kx*p.DilW-p.PadLeft, p.InW)
				for y := 0; y < oh; y++ {
					d := dst[y*ow : (y+1)*ow]
					iy := y*p.StrideH - p.PadTop + ky*p.DilH
					if iy < 0 || iy >= p.InH || x0 >= x1 {
						clear(d)
						continue
					}
					row := plane[iy*p.InW : (iy+1)*p.InW]
					clear(d[:x0])
					clear(d[x1:])
					base := kx*p.DilW - p.PadLeft
					if p.StrideW == 1 {
						copy(d[x0:x1], row[x0+base:x1+base])
					} else {
						for x := x0; x < x1; x++ {
							d[x] = row[x*p.StrideW+base]
						}
					}
				}
			}
		}
	}
}

// validRange returns [x0, x1): the outputs x in [0, n) with
// 0 <= x*s + base < limit.
func validRange(n, s, base, limit int) (int, int) {
	x0 := 0
	if base < 0 {
		x0 = (-base + s - 1) / s
	}
	x1 := n
	if last := (limit - 1 - base); last < 0 {
		x1 = 0
	} else {
		x1 = min(n, last/s+1)
	}
	if x0 > x1 {
		x0 = x1
	}
	return x0, x1
}

// col2im adds a patch matrix (rows ld apart, from column off) back into
// img: the adjoint of im2col.
func col2im(p kernels.ConvParams, col []float32, ld, off int, img []float32) {
	oh, ow := p.OutH(), p.OutW()
	r := 0
	for ch := 0; ch < p.InC; ch++ {
		plane := img[ch*p.InH*p.InW:]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				src := col[r*ld+off : r*ld+off+oh*ow]
				r++
				x0, x1 := validRange(ow, p.StrideW, kx*p.DilW-p.PadLeft, p.InW)
				base := kx*p.DilW - p.PadLeft
				for y := 0; y < oh; y++ {
					iy := y*p.StrideH - p.PadTop + ky*p.DilH
					if iy < 0 || iy >= p.InH {
						continue
					}
					row := plane[iy*p.InW : (iy+1)*p.InW]
					s := src[y*ow : (y+1)*ow]
					if p.StrideW == 1 {
						dst := row[x0+base : x1+base]
						for x, v := range s[x0:x1] {
							dst[x] += v
						}
					} else {
						for x := x0; x < x1; x++ {
							row[x*p.StrideW+base] += s[x]
						}
					}
				}
			}
		}
	}
}

// ---- Gemm: Y[M×N] = X[M×K]·Wᵀ + bias, W canonical N×K ----

type gemmOp struct {
	m, n, k int
	bias    []float32 // len N or nil (already scaled by beta)
	needDX  bool
	needDW  bool
	gemm    *kernels.GemmKernel
}

func (g *gemmOp) kind() string         { return "Gemm" }
func (g *gemmOp) inShapes() []ir.Shape { return []ir.Shape{{g.m, g.k}, {g.n, g.k}} }
func (g *gemmOp) outShape() ir.Shape   { return ir.Shape{g.m, g.n} }
func (g *gemmOp) diff(i int) bool {
	if i == 0 {
		return g.needDX
	}
	return g.needDW
}
func (g *gemmOp) forward(pool *kernels.Pool, in [][]float32, out []float32) {
	g.gemm.Sgemm(pool, false, true, g.m, g.n, g.k, 1, in[0], g.k, in[1], g.k, 0, out, g.n)
	if g.bias != nil {
		for r := 0; r < g.m; r++ {
			o := out[r*g.n : (r+1)*g.n]
			for j, b := range g.bias {
				o[j] += b
			}
		}
	}
}
func (g *gemmOp) backward(pool *kernels.Pool, i int, in [][]float32, _ []float32, gout, gin []float32) {
	switch i {
	case 0: // dX = gY·W
		g.gemm.Sgemm(pool, false, false, g.m, g.k, g.n, 1, gout, g.n, in[1], g.k, 0, gin, g.k)
	case 1: // dW = gYᵀ·X
		g.gemm.Sgemm(pool, true, false, g.n, g.k, g.m, 1, gout, g.n, in[0], g.k, 0, gin, g.k)
	}
}

// ---- MaxPool (NCHW, with pads, strides, dilations, ceil_mode) ----

type poolOp struct {
	n, c, h, w     int
	kh, kw         int
	sh, sw, dh, dw int
	pt, pl         int
	oh, ow         int
	avg            bool // global average pool when true (kh=h, kw=w)
}

func (p *poolOp) kind() string {
	if p.avg {
		return "GlobalAveragePool"
	}
	return "MaxPool"
}
func (p *poolOp) inShapes() []ir.Shape { return []ir.Shape{{p.n, p.c, p.h, p.w}} }
func (p *poolOp) outShape() ir.Shape   { return ir.Shape{p.n, p.c, p.oh, p.ow} }
func (p *poolOp) diff(int) bool        { return true }

func (p *poolOp) forward(pool *kernels.Pool, in [][]float32, out []float32) {
	x := in[0]
	pool.Parallel(p.n*p.c, func(lo, hi int) {
		for pc := lo; pc < hi; pc++ {
			plane := x[pc*p.h*p.w : (pc+1)*p.h*p.w]
			o := out[pc*p.oh*p.ow : (pc+1)*p.oh*p.ow]
			if p.avg {
				var s float64
				for _, v := range plane {
					s += float64(v)
				}
				o[0] = float32(s / float64(len(plane)))
				continue
			}
			for y := 0; y < p.oh; y++ {
				for xo := 0; xo < p.ow; xo++ {
					o[y*p.ow+xo] = plane[p.argmax(plane, y, xo)]
				}
			}
		}
	})
}

// argmax returns the index in plane of the first maximum of window (y, x).
func (p *poolOp) argmax(plane []float32, y, x int) int {
	best, bi := float32(math.Inf(-1)), -1
	for ky := 0; ky < p.kh; ky++ {
		iy := y*p.sh - p.pt + ky*p.dh
		if iy < 0 || iy >= p.h {
			continue
		}
		for kx := 0; kx < p.kw; kx++ {
			ix := x*p.sw - p.pl + kx*p.dw
			if ix < 0 || ix >= p.w {
				continue
			}
			if v := plane[iy*p.w+ix]; v > best || bi < 0 {
				best, bi = v, iy*p.w+ix
			}
		}
	}
	return bi
}

func (p *poolOp) backward(pool *kernels.Pool, _ int, in [][]float32, _ []float32, gout, gin []float32) {
	x := in[0]
	pool.Parallel(p.n*p.c, func(lo, hi int) {
		for pc := lo; pc < hi; pc++ {
			plane := x[pc*p.h*p.w : (pc+1)*p.h*p.w]
			g := gin[pc*p.h*p.w : (pc+1)*p.h*p.w]
			gy := gout[pc*p.oh*p.ow : (pc+1)*p.oh*p.ow]
			if p.avg {
				v := gy[0] / float32(len(g))
				for i := range g {
					g[i] = v
				}
				continue
			}
			clear(g)
			for y := 0; y < p.oh; y++ {
				for xo := 0; xo < p.ow; xo++ {
					g[p.argmax(plane, y, xo)] += gy[y*p.ow+xo]
				}
			}
		}
	})
}

// ---- Relu ----

type reluOp struct{ s ir.Shape }

func (r *reluOp) kind() string         { return "Relu" }
func (r *reluOp) inShapes() []ir.Shape { return []ir.Shape{r.s} }
func (r *reluOp) outShape() ir.Shape   { return r.s }
func (r *reluOp) diff(int) bool        { return true }
func (r *reluOp) forward(_ *kernels.Pool, in [][]float32, out []float32) {
	for i, v := range in[0] {
		out[i] = max(v, 0)
	}
}
func (r *reluOp) backward(_ *kernels.Pool, _ int, in [][]float32, _ []float32, gout, gin []float32) {
	for i, v := range in[0] {
		if v > 0 {
			gin[i] = gout[i]
		} else {
			gin[i] = 0
		}
	}
}

// ---- Add (equal shapes) ----

type addOp struct{ s ir.Shape }

func (a *addOp) kind() string         { return "Add" }
func (a *addOp) inShapes() []ir.Shape { return []ir.Shape{a.s, a.s} }
func (a *addOp) outShape() ir.Shape   { return a.s }
func (a *addOp) diff(int) bool        { return true }
func (a *addOp) forward(_ *kernels.Pool, in [][]float32, out []float32) {
	for i := range out {
		out[i] = in[0][i] + in[1][i]
	}
}
func (a *addOp) backward(_ *kernels.Pool, _ int, _ [][]float32, _ []float32, gout, gin []float32) {
	copy(gin, gout)
}

// ---- Reshape / Flatten (data unchanged) ----

type reshapeOp struct{ from, to ir.Shape }

func (r *reshapeOp) kind() string         { return "Reshape" }
func (r *reshapeOp) inShapes() []ir.Shape { return []ir.Shape{r.from} }
func (r *reshapeOp) outShape() ir.Shape   { return r.to }
func (r *reshapeOp) diff(int) bool        { return true }
func (r *reshapeOp) forward(_ *kernels.Pool, in [][]float32, out []float32) {
	copy(out, in[0])
}
func (r *reshapeOp) backward(_ *kernels.Pool, _ int, _ [][]float32, _ []float32, gout, gin []float32) {
	copy(gin, gout)
}

// ---- Concat ----

type concatOp struct {
	ins   []ir.Shape
	out   ir.Shape
	outer int   // product of dims before axis
	inner []int // per input: size of dims from axis on
}

func (c *concatOp) kind() string         { return "Concat" }
func (c *concatOp) inShapes() []ir.Shape { return c.ins }
func (c *concatOp) outShape() ir.Shape   { return c.out }
func (c *concatOp) diff(int) bool        { return true }
func (c *concatOp) total() int {
	t := 0
	for _, v := range c.inner {
		t += v
	}
	return t
}
func (c *concatOp) forward(_ *kernels.Pool, in [][]float32, out []float32) {
	t := c.total()
	for o := 0; o < c.outer; o++ {
		off := o * t
		for i, sz := range c.inner {
			copy(out[off:off+sz], in[i][o*sz:(o+1)*sz])
			off += sz
		}
	}
}
func (c *concatOp) backward(_ *kernels.Pool, i int, _ [][]float32, _ []float32, gout, gin []float32) {
	t := c.total()
	start := 0
	for j := 0; j < i; j++ {
		start += c.inner[j]
	}
	sz := c.inner[i]
	for o := 0; o < c.outer; o++ {
		copy(gin[o*sz:(o+1)*sz], gout[o*t+start:o*t+start+sz])
	}
}

// ---- Pad (constant, 4-D) ----

type padOp struct {
	in, out ir.Shape
	pads    [8]int // begin n,c,h,w then end n,c,h,w
	value   float32
}

func (p *padOp) kind() string         { return "Pad" }
func (p *padOp) inShapes() []ir.Shape { return []ir.Shape{p.in} }
func (p *padOp) outShape() ir.Shape   { return p.out }
func (p *padOp) diff(int) bool        { return true }
func (p *padOp) each(fn func(src, dst int)) {
	n, c, h, w := p.in[0], p.in[1], p.in[2], p.in[3]
	on, oc, oh, ow := p.out[0], p.out[1], p.out[2], p.out[3]
	_ = on
	for a := 0; a < n; a++ {
		for b := 0; b < c; b++ {
			for y := 0; y < h; y++ {
				src := ((a*c+b)*h + y) * w
				dst := (((a+p.pads[0])*oc+b+p.pads[1])*oh+y+p.pads[2])*ow + p.pads[3]
				fn(src, dst)
			}
		}
	}
}
func (p *padOp) forward(_ *kernels.Pool, in [][]float32, out []float32) {
	for i := range out {
		out[i] = p.value
	}
	w := p.in[3]
	p.each(func(src, dst int) { copy(out[dst:dst+w], in[0][src:src+w]) })
}
func (p *padOp) backward(_ *kernels.Pool, _ int, _ [][]float32, _ []float32, gout, gin []float32) {
	w := p.in[3]
	p.each(func(src, dst int) { copy(gin[src:src+w], gout[dst:dst+w]) })
}

// ---- Loss: Σ_b w_b · Σ_j −t_bj·log softmax(z_b)_j ----

type lossOp struct{ b, k int }

func (l *lossOp) kind() string         { return "SoftmaxCrossEntropy" }
func (l *lossOp) inShapes() []ir.Shape { return []ir.Shape{{l.b, l.k}, {l.b, l.k}, {l.b}} }
func (l *lossOp) outShape() ir.Shape   { return ir.Shape{} }
func (l *lossOp) diff(i int) bool      { return i == 0 }

// logSoftmax writes log softmax(z) into dst (float64 for accuracy).
func logSoftmax(z []float32, dst []float64) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - mx)
	}
	ls := mx + math.Log(s)
	for j, v := range z {
		dst[j] = float64(v) - ls
	}
}

func (l *lossOp) forward(_ *kernels.Pool, in [][]float32, out []float32) {
	z, t, w := in[0], in[1], in[2]
	ls := make([]float64, l.k)
	var tot float64
	for b := 0; b < l.b; b++ {
		if w[b] == 0 {
			continue
		}
		logSoftmax(z[b*l.k:(b+1)*l.k], ls)
		var ce float64
		for j := 0; j < l.k; j++ {
			if tv := t[b*l.k+j]; tv != 0 {
				ce -= float64(tv) * ls[j]
			}
		}
		tot += float64(w[b]) * ce
	}
	out[0] = float32(tot)
}

func (l *lossOp) backward(_ *kernels.Pool, _ int, in [][]float32, _ []float32, gout, gin []float32) {
	z, t, w := in[0], in[1], in[2]
	ls := make([]float64, l.k)
	g := gout[0]
	for b := 0; b < l.b; b++ {
		row := gin[b*l.k : (b+1)*l.k]
		if w[b] == 0 {
			clear(row)
			continue
		}
		logSoftmax(z[b*l.k:(b+1)*l.k], ls)
		for j := range row {
			row[j] = g * w[b] * float32(math.Exp(ls[j])-float64(t[b*l.k+j]))
		}
	}
}
