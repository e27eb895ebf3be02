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

func (c *convOp) forward(pool *kernels.Pool, in [][]float32, out []float32) {
	x, w := in[0], in[1]
	kk, hw := c.cols()
	isz := c.p.InC * c.p.InH * c.p.InW
	osz := c.p.OutC * hw
	oneByOne := c.p.KH == 1 && c.p.KW == 1 && c.p.StrideH == 1 && c.p.StrideW == 1 &&
		c.p.PadTop == 0 && c.p.PadLeft == 0 && c.p.PadBottom == 0 && c.p.PadRight == 0
	pool.Parallel(c.batch, func(lo, hi int) {
		var col []float32
		if !oneByOne {
			col = make([]float32, kk*hw)
		}
		for n := lo; n < hi; n++ {
			img := x[n*isz : (n+1)*isz]
			src := img
			if !oneByOne {
				im2col(c.p, img, col)
				src = col
			}
			dst := out[n*osz : (n+1)*osz]
			c.gemm.Sgemm(nil, false, false, c.p.OutC, hw, kk, 1, w, kk, src, hw, 0, dst, hw)
			if c.bias != nil {
				for k := 0; k < c.p.OutC; k++ {
					b := c.bias[k]
					o := dst[k*hw : (k+1)*hw]
					for i := range o {
						o[i] += b
					}
				}
			}
		}
	})
}

func (c *convOp) backward(pool *kernels.Pool, i int, in [][]float32, _ []float32, gout, gin []float32) {
	x, w := in[0], in[1]
	kk, hw := c.cols()
	isz := c.p.InC * c.p.InH * c.p.InW
	osz := c.p.OutC * hw
	switch i {
	case 0: // dX = col2im(Wᵀ·gY)
		pool.Parallel(c.batch, func(lo, hi int) {
			col := make([]float32, kk*hw)
			for n := lo; n < hi; n++ {
				c.gemm.Sgemm(nil, true, false, kk, hw, c.p.OutC, 1, w, kk, gout[n*osz:(n+1)*osz], hw, 0, col, hw)
				dx := gin[n*isz : (n+1)*isz]
				clear(dx)
				col2im(c.p, col, dx)
			}
		})
	case 1: // dW = Σ_n gY_n · col_nᵀ
		threads := min(pool.Threads(), c.batch)
		parts := make([][]float32, threads)
		pool.Parallel(threads, func(lo, hi int) {
			col := make([]float32, kk*hw)
			for t := lo; t < hi; t++ {
				acc := make([]float32, c.p.OutC*kk)
				for n := t * c.batch / threads; n < (t+1)*c.batch/threads; n++ {
					im2col(c.p, x[n*isz:(n+1)*isz], col)
					c.gemm.Sgemm(nil, false, true, c.p.OutC, kk, hw, 1, gout[n*osz:(n+1)*osz], hw, col, hw, 1, acc, kk)
				}
				parts[t] = acc
			}
		})
		copy(gin, parts[0])
		for _, p := range parts[1:] {
			for j, v := range p {
				gin[j] += v
			}
		}
	}
}

// im2col writes the (InC·KH·KW) × (OutH·OutW) patch matrix of one image.
func im2col(p kernels.ConvParams, img []float32, col []float32) {
	oh, ow := p.OutH(), p.OutW()
	i := 0
	for ch := 0; ch < p.InC; ch++ {
		plane := img[ch*p.InH*p.InW:]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				for y := 0; y < oh; y++ {
					iy := y*p.StrideH - p.PadTop + ky*p.DilH
					if iy < 0 || iy >= p.InH {
						clear(col[i : i+ow])
						i += ow
						continue
					}
					row := plane[iy*p.InW:]
					for x := 0; x < ow; x++ {
						ix := x*p.StrideW - p.PadLeft + kx*p.DilW
						if ix >= 0 && ix < p.InW {
							col[i] = row[ix]
						} else {
							col[i] = 0
						}
						i++
					}
				}
			}
		}
	}
}

// col2im adds the patch matrix col back into img (the adjoint of im2col).
func col2im(p kernels.ConvParams, col []float32, img []float32) {
	oh, ow := p.OutH(), p.OutW()
	i := 0
	for ch := 0; ch < p.InC; ch++ {
		plane := img[ch*p.InH*p.InW:]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				for y := 0; y < oh; y++ {
					iy := y*p.StrideH - p.PadTop + ky*p.DilH
					if iy < 0 || iy >= p.InH {
						i += ow
						continue
					}
					row := plane[iy*p.InW:]
					for x := 0; x < ow; x++ {
						ix := x*p.StrideW - p.PadLeft + kx*p.DilW
						if ix >= 0 && ix < p.InW {
							row[ix] += col[i]
						}
						i++
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
