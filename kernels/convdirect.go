package kernels

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// The indirect-A direct convolution (f32-convKxKs1-6x64-avx512), in the
// style of MLAS's NCHWc kernels: the product is computed transposed,
// Cᵀ (positions × OutC) = im2colᵀ · Wᵀ, with the weights prepacked once
// as B panels of Wᵀ (k × NR, aligned, read in order) and the im2col
// matrix never built: row i of A (output position p) at K step l
// (channel, ky, kx) is the padded input at pos[p] + offs[l], so the
// micro-kernel broadcasts its MR positions from MR row pointers into
// the zero-padded planes through the per-layer offset table. The
// MR×NR tile (6 positions × 64 output channels) stays in registers
// across a whole K block; positions are the compact OutH·OutW grid, so
// no padding column is computed. Each chunk of dconvChunk positions ×
// NR channels is computed into a per-thread tile and transposed into
// the NCHW output 16×16 at a time.

// dconvFn is the ABI of the indirect-A micro-kernels:
//
//	v = Σ_l a[pos[i]+offs[l]]·b[l·NR+j]
//
// for i < mr and the columns j in mask, followed by the epilogue of
// microFn (flags, rowBias, colBias, lo, hi). b is a packed k×NR panel.
type dconvFn func(k int, a *float32, pos *int, b *float32, offs *int, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

// dconvKernel describes one indirect-A kernel: its tile, the ISA it
// needs, the micro-kernel and the 16×16 transposing copy-out (nil:
// transposeGeneric).
type dconvKernel struct {
	name     string // tile and ISA, e.g. "6x64-avx512"
	mr, nr   int
	requires ISA
	micro    dconvFn
	// micro3 is micro for K steps in groups of 3 consecutive inputs
	// (the taps of a 3-wide kernel row, dilation 1): offs holds one
	// offset per group, step u of a group reads a[pos[i]+offs[l/3]+u],
	// and k is a multiple of 3 (one offset load per 3 steps instead of
	// one per step: 6% in the kernel alone). nil: micro only.
	micro3 dconvFn
	// transpose16 stores the first ncols columns of the 16×16 block
	// at src (leading dimension lds) as rows of dst (leading dimension
	// ldd), each the 16 rows of src selected by mask.
	transpose16 func(dst *float32, ldd int, src *float32, lds, ncols int, mask uint64)
}

// dconvGeneric is the generic twin, a 4×16 tile; it runs only when a
// test asks for it (the generic builds keep the indirect-B path).
var dconvGeneric = &dconvKernel{name: "4x16-generic", mr: 4, nr: 16, micro: dconvGeneric4x16, micro3: dconvGeneric4x16g3}

// dconvKernels lists the indirect-A kernels, best first, generic last.
var dconvKernels = append(append([]*dconvKernel(nil), archDconv...), dconvGeneric)

// dconvChunk is the positions a thread computes into its tile per
// chunk: a multiple of 16 (the transpose) and of 6 (the tile rows).
const dconvChunk = 48

// selectDconv returns the best indirect-A assembly kernel cfg allows, or
// nil.
func selectDconv(cfg Config) *dconvKernel {
	if dconvTestKernel != nil {
		return dconvTestKernel
	}
	for _, d := range archDconv {
		if d.requires != 0 && cfg.Allows(d.requires) {
			return d
		}
	}
	return nil
}

// dconvOK reports whether p takes the indirect-A path when a kernel
// exists: every conv with more than one tap, at any stride, dilation
// and padding. 1×1 convs keep the GEMM paths: K is then only InC, and
// strided ones measured even or slower here (128→256 s2 at 28², thread
// CPU time: 0.099 → 0.105 ms; 64→128 0.127 → 0.111).
func dconvOK(p ConvParams) bool {
	return p.KH*p.KW > 1
}

// winogradDconvMinC is the fewest input and output channels for which
// Winograd is kept over the indirect-A path (thread CPU time, 3×3 s1:
// 64→64 at 56² Winograd 1.49 ms, indirect-A 1.17; 64→64 at 224² 21.8 /
// 18.7; 128→128 at 112² 15.6 / 17.1; 256→256 at 56² 11.6 / 16.8). A
// variable so tests can exercise Winograd on small shapes.
var winogradDconvMinC = 128

// prepareDirectA packs the weights of every group as B panels of Wᵀ
// (K block k0 at k0·npad, the panel of columns j at j·kc within it) and
// builds the position and K-step offset tables.
func (c *Conv2D) prepareDirectA(d *dconvKernel, weight []float32) {
	p := c.p
	m, k := p.OutC/p.Group, (p.InC/p.Group)*p.KH*p.KW
	npad := (m + d.nr - 1) / d.nr * d.nr
	c.dk = d
	c.wStride = npad * k
	c.packedW = make([]float32, p.Group*c.wStride)
	for g := 0; g < p.Group; g++ {
		packPanelsTo(c.packedW[g*c.wStride:(g+1)*c.wStride], d.nr, weight[g*m*k:(g+1)*m*k], k, c.blk.kc, 0, m)
	}
	hp, wp := c.dconvGeom()
	oh, ow := p.OutH(), p.OutW()
	c.dPos = make([]int, oh*ow)
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			c.dPos[y*ow+x] = y*p.StrideH*wp + x*p.StrideW
		}
	}
	taps := p.KH * p.KW
	c.dGrp = 1
	if d.micro3 != nil && p.KW == 3 && p.DilW == 1 && c.blk.kc%3 == 0 {
		c.dGrp = 3
	}
	c.wideOffs = make([]int, (p.InC/p.Group)*taps/c.dGrp)
	for r := range c.wideOffs {
		ch, t := r*c.dGrp/taps, r*c.dGrp%taps
		c.wideOffs[r] = ch*hp*wp + t/p.KW*p.DilH*wp + t%p.KW*p.DilW
	}
}

// dconvGeom is the size of one zero-padded input plane of the
// indirect-A path (one plane per channel, at any stride).
func (c *Conv2D) dconvGeom() (hp, wp int) {
	p := &c.p
	return p.InH + p.PadTop + p.PadBottom, p.InW + p.PadLeft + p.PadRight
}

// runDirectA convolves one group's image on the indirect-A path: the
// input is copied into zero-padded planes (as runWide does), then the
// threads split chunks of positions × NR-wide channel panels.
func (c *Conv2D) runDirectA(pool *Pool, gimg, dst, ws []float32, ep Epilogue, m, k int, packedB []float32) {
	p := &c.p
	cg := p.InC / p.Group
	n := p.OutH() * p.OutW()
	t := dconvTasks.Get().(*dconvTask)
	defer func() {
		*t = dconvTask{next: t.next[:0]}
		dconvTasks.Put(t)
	}()
	*t = dconvTask{c: c, gimg: gimg, pad: ws[:c.dconvPadLen()], dst: dst, packedB: packedB, m: m, k: k, n: n, ep: ep,
		chunks: (n + dconvChunk - 1) / dconvChunk, next: t.next}
	t.lo, t.hi = actBounds(ep.Act)
	// The copy in runs on the pool too unless it is tiny; unpadded
	// convs read their image in place.
	if len(t.pad) == 0 {
		t.pad = gimg
	} else if len(t.pad) >= 1<<12 {
		pool.ParallelTask(cg, (*dconvCopyIn)(t))
	} else {
		(*dconvCopyIn)(t).Run(0, cg)
	}
	items := t.chunks * ((m + c.dk.nr - 1) / c.dk.nr)
	threads := min(pool.Threads(), items)
	if int64(m)*int64(n)*int64(k) < 32*1024 {
		threads = 1
	}
	// Thread r owns the contiguous items [r·items/threads, (r+1)·items/
	// threads) (about its share of the weights) and then helps the
	// others with what they have not started.
	if cap(t.next) < threads {
		t.next = make([]dconvCounter, threads)
	}
	t.next, t.items = t.next[:threads], items
	for r := range t.next {
		t.next[r].n.Store(int64(r * items / threads))
	}
	if threads == 1 {
		t.Run(0, 1)
		return
	}
	pool.ParallelTask(threads, t)
}

// dconvTask is one runDirectA call's operands and its parallel loop
// body: item q is position chunk q mod chunks of channel panel q div
// chunks.
type dconvTask struct {
	c              *Conv2D
	gimg, pad, dst []float32
	packedB        []float32
	m, k, n        int
	chunks         int
	ep             Epilogue
	lo, hi         float32
	zero           [64]float32 // bias operand when there is none
	items          int
	next           []dconvCounter // per thread: its next unstarted item
}

// dconvCounter is a thread's next item, alone on its cache line.
type dconvCounter struct {
	n atomic.Int64
	_ [56]byte
}

var dconvTasks = sync.Pool{New: func() any { return new(dconvTask) }}

// dconvPadLen is the workspace of the indirect-A path: one group's
// zero-padded input planes, none for an unpadded conv.
func (c *Conv2D) dconvPadLen() int {
	p := &c.p
	if p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0 {
		return 0 // the planes are the image
	}
	hp, wp := c.dconvGeom()
	return c.p.InC / c.p.Group * hp * wp
}

// dconvCopyIn is a dconvTask as the loop body of the copy of the input
// into its zero-padded planes (over channels).
type dconvCopyIn dconvTask

// Run copies channels [lo, hi), zeroing only the border (padRows).
func (a *dconvCopyIn) Run(lo, hi int) {
	p := &a.c.p
	hp, wp := a.c.dconvGeom()
	for ch := lo; ch < hi; ch++ {
		plane := a.pad[ch*hp*wp : (ch+1)*hp*wp]
		clear(plane[:p.PadTop*wp])
		a.c.padRows(plane[p.PadTop*wp:(p.PadTop+p.InH)*wp], a.gimg[ch*p.InH*p.InW:(ch+1)*p.InH*p.InW], p.InH, p.InW, wp, p.PadLeft)
		clear(plane[(p.PadTop+p.InH)*wp:])
	}
}

// Run runs threads [lo, hi) of the call: each takes the items of its own
// range, then those left in the following ranges.
func (t *dconvTask) Run(lo, hi int) {
	s := getScratch(dconvChunk*t.c.dk.nr + 16)
	defer putScratch(s)
	threads := len(t.next)
	for r := lo; r < hi; r++ {
		for o := 0; o < threads; o++ {
			own := (r + o) % threads
			end := int64((own + 1) * t.items / threads)
			for {
				q := t.next[own].n.Add(1) - 1
				if q >= end {
					break
				}
				t.item(s.buf, int(q))
			}
		}
	}
}

// item computes item q: position chunk q mod chunks of channel panel q
// div chunks, through a tile in buf.
func (t *dconvTask) item(buf []float32, q int) {
	c := t.c
	d := c.dk
	mr, nr := d.mr, d.nr
	tile := aligned64(buf)[:dconvChunk*nr]
	npad := (t.m + nr - 1) / nr * nr
	kcMax := c.blk.kc
	micro := d.micro
	if c.dGrp == 3 {
		micro = d.micro3
	}
	zero := &t.zero
	{
		p0 := q % t.chunks * dconvChunk
		p1 := min(p0+dconvChunk, t.n)
		j := q / t.chunks * nr
		nrr := min(nr, t.m-j)
		mask := ^uint64(0) >> uint(64-nrr)
		for pc := 0; pc < t.k; pc += kcMax {
			kc := min(kcMax, t.k-pc)
			flags := 0
			if pc > 0 {
				flags |= flagAcc
			}
			cb := &zero[0]
			if pc+kc == t.k {
				if t.ep.RowBias != nil {
					flags |= flagColBias
					cb = &t.ep.RowBias[j]
				}
				if t.ep.Act.Kind != ActNone {
					flags |= flagClamp
				}
			}
			b := &t.packedB[pc*npad+j*kc]
			for i := p0; i < p1; i += mr {
				micro(kc, &t.pad[0], &c.dPos[i], b, &c.wideOffs[pc/c.dGrp], &tile[(i-p0)*nr], nr, min(mr, p1-i), mask, flags, &zero[0], cb, t.lo, t.hi)
			}
		}
		// Cᵀ tile → NCHW, 16 positions × 16 channels at a time.
		for i := p0; i < p1; i += 16 {
			np := min(16, p1-i)
			pm := uint64(1)<<uint(np) - 1
			for jj := 0; jj < nrr; jj += 16 {
				ncols := min(16, nrr-jj)
				if d.transpose16 != nil {
					d.transpose16(&t.dst[(j+jj)*t.n+i], t.n, &tile[(i-p0)*nr+jj], nr, ncols, pm)
				} else {
					transposeGeneric(t.dst[(j+jj)*t.n+i:], t.n, tile[(i-p0)*nr+jj:], nr, ncols, np)
				}
			}
		}
	}
}

// transposeGeneric is the generic twin of transpose16: dst[c·ldd+r] =
// src[r·lds+c] for c < ncols, r < nrows.
func transposeGeneric(dst []float32, ldd int, src []float32, lds, ncols, nrows int) {
	for cc := 0; cc < ncols; cc++ {
		row := dst[cc*ldd : cc*ldd+nrows]
		for r := range row {
			row[r] = src[r*lds+cc]
		}
	}
}

// dconvGeneric4x16 is the generic indirect-A micro-kernel (tile 4×16).
func dconvGeneric4x16(k int, a *float32, pos *int, b *float32, offs *int, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32) {
	dconvRef(4, 16, 1, k, a, pos, b, offs, c, ldc, mr, mask, flags, rowBias, colBias, lo, hi)
}

// dconvGeneric4x16g3 is dconvGeneric4x16 for K steps in groups of 3
// (see dconvKernel.micro3).
func dconvGeneric4x16g3(k int, a *float32, pos *int, b *float32, offs *int, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32) {
	dconvRef(4, 16, 3, k, a, pos, b, offs, c, ldc, mr, mask, flags, rowBias, colBias, lo, hi)
}

// dconvRef is the reference indirect-A micro-kernel for an MR×NR tile
// (see dconvFn) with K steps in groups of grp (1: none; see
// dconvKernel.micro3): it gathers the MR×k block of A into a packed
// panel and runs microRef, so it reads only the columns in mask.
func dconvRef(MR, NR, grp int, k int, a *float32, pos *int, b *float32, offs *int, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32) {
	ps := unsafe.Slice(pos, mr)
	os := unsafe.Slice(offs, k/grp)
	panel := make([]float32, max(k, 1)*MR)
	for l := 0; l < k; l++ {
		for i, p := range ps {
			panel[l*MR+i] = *(*float32)(unsafe.Add(unsafe.Pointer(a), (p+os[l/grp]+l%grp)*4))
		}
	}
	microRef(MR, NR, k, &panel[0], b, c, ldc, mr, mask, flags, rowBias, colBias, lo, hi)
}

// dconvKC is the K block of the indirect-A path: all of K up to 3072
// (the 64-wide weight panel, ≤ 768 KiB, is read from L2 by every tile),
// otherwise equal blocks of at most 2048 (thread CPU time, 512→512 3×3
// at 14²: K = 4608 in one block 5.1 ms, blocks of 1536 4.7 ms, 256→256
// at 14², K = 2304: one block 1.15 ms, 288 1.18 ms).
func dconvKC(k int) int {
	if k <= 3072 {
		return max(k, 1)
	}
	nb := (k + 2047) / 2048
	return ((k+nb-1)/nb + 23) / 24 * 24 // a multiple of 8 and of 3 (micro3)
}

// dconvTestKernel, when set (tests), replaces the kernel selectDconv
// chooses, so the generic twin can run the whole path.
var dconvTestKernel *dconvKernel
