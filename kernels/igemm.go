package kernels

import (
	"math/bits"
	"slices"
	"unsafe"
)

// The indirect-B GEMM: C = A·B with A prepacked (the conv weights) and
// row l of B read in place at b[offs[l]:] instead of being packed. The
// stride-1 convolution's B is the im2col matrix of a zero-padded image,
// whose row (channel, ky, kx) is one contiguous run of the padded planes
// at a fixed offset, so the micro-kernel can load its NR-wide rows
// straight from the planes (f32-conv3x3s1-igemm-direct): no B panels are
// packed, and the rows a tile reads overlap from tap to tap, so its
// working set is a few rows of each channel rather than a KC×NR panel.

// microIndFn is the ABI of the indirect-B micro-kernels. It is microFn
// with B given as a base pointer and a table of k row offsets (elements):
//
//	v = Σ_l a[l·MR+i]·b[offs[l]+j]
//
// for i < mr and the columns j in mask, followed by the epilogue of
// microFn (flags, rowBias, colBias, lo, hi). Only the columns in mask are
// read. microIndGeneric4x4 is the generic twin; tests compare the
// assembly kernels with microRef on B packed from the same rows.
type microIndFn func(k int, a, b *float32, offs *int, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

// microIndGeneric4x4 is the portable indirect-B micro-kernel: the 4×4
// tile of microGeneric4x4 with B rows read at b + offs[l]; mask must
// select a prefix of the 4 columns.
func microIndGeneric4x4(k int, a, b *float32, offs *int, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32) {
	nr := min(4, bits.TrailingZeros64(^mask))
	var acc [4][4]float32
	if nr == 4 {
		acc = mac4x4(k, a, b, offs)
	} else {
		// Read only the nr columns of each row.
		as := unsafe.Slice(a, k*4)
		for l, off := range unsafe.Slice(offs, k) {
			bs := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(b), off*4)), nr)
			for i := 0; i < mr; i++ {
				ai := as[l*4+i]
				for j, bv := range bs {
					acc[i][j] += ai * bv
				}
			}
		}
	}
	storeTile4x4(&acc, c, ldc, mr, nr, flags, rowBias, colBias, lo, hi)
}

// indEmit receives finished columns of C from runIndirect: rows
// [i0,i1) and columns [j0,j0+nc) of C are at tile[(i−i0)·ldt + j−j0].
// It is an interface so that a caller passes a pointer to state it
// pools rather than a closure allocated per call; emitFunc adapts a
// function.
type indEmit interface {
	emit(tile []float32, ldt, i0, i1, j0, nc int)
}

// emitFunc is a function as an indEmit.
type emitFunc func(tile []float32, ldt, i0, i1, j0, nc int)

func (f emitFunc) emit(tile []float32, ldt, i0, i1, j0, nc int) { f(tile, ldt, i0, i1, j0, nc) }

// runIndirect computes C (m×n) = A·B with the epilogue ep, where A is
// prepacked by prepackA for g and blk (K block k0 at k0·Mpad, panels of
// kc×MR) and row r < k of B is b[offs[r]:offs[r]+n]. With emit nil, C is
// written at c with leading dimension ldc; otherwise each column panel
// of C is computed in a per-thread tile (in L1) and handed to emit, and
// c is not used. The threads split the columns (and the rows when there
// are few column panels); each takes chunks from a shared counter.
// g.ind must be set.
func (g *GemmKernel) runIndirect(p *Pool, blk blocking, m, n, k int, packedA, b []float32, offs []int, c []float32, ldc int, ep Epilogue, emit indEmit) {
	if m <= 0 || n <= 0 {
		return
	}
	if len(offs) < k || (emit == nil && len(c) < (m-1)*ldc+n) || len(packedA) < prepackLen(g, blk, m, k) {
		panic("kernels: runIndirect operands too short")
	}
	if k <= 0 {
		if emit == nil {
			scaleC(m, n, 0, c, ldc, ep)
			return
		}
		tile := make([]float32, m*g.NR)
		for j := 0; j < n; j += g.NR {
			nc := min(g.NR, n-j)
			cb := ep
			if cb.ColBias != nil {
				cb.ColBias = cb.ColBias[j : j+nc]
			}
			scaleC(m, nc, 0, tile, g.NR, cb)
			emit.emit(tile, g.NR, 0, m, j, nc)
		}
		return
	}
	// Every read is below the largest row offset plus n.
	_ = b[slices.Max(offs[:k])+n-1]
	t := newGemmTask(g, blk, m, k, &gemmSrc{}, false, c, ldc, ep)
	defer t.release()
	t.n = n
	t.packedA, t.b, t.offs, t.emit = packedA, b, offs, emit
	t.mpad = (m + g.MR - 1) / g.MR * g.MR
	threads := p.Threads()
	if int64(m)*int64(n)*int64(k) < 32*1024 {
		threads = 1
	}
	// About four chunks per thread: column panels first, and row tiles
	// too when there are fewer panels than that (16² maps: 5 panels, of
	// which the last is partial, would leave one thread idle for one).
	t.groups = chunkBoundsTo(t.groups[:0], n, g.NR, 4*threads)
	t.parts = append(t.parts[:0], 0, m)
	if nc := len(t.groups) - 1; nc < 4*threads && threads > 1 {
		t.parts = chunkBoundsTo(t.parts[:0], m, g.MR, (4*threads+nc-1)/nc)
	}
	chunks := (len(t.parts) - 1) * (len(t.groups) - 1)
	if threads == 1 {
		for ci := 0; ci < chunks; ci++ {
			t.indirectChunk(ci)
		}
		return
	}
	t.dynamic(p, threads, jobIndirect, chunks)
}

// indirectChunk runs chunk ci of runIndirect: row chunk ci mod the row
// chunks (t.parts) of column chunk ci div them (t.groups).
func (t *gemmTask) indirectChunk(ci int) {
	nrc := len(t.parts) - 1
	t.indirect(t.parts[ci%nrc], t.parts[ci%nrc+1], t.groups[ci/nrc], t.groups[ci/nrc+1], t.mpad, t.packedA, t.b, t.offs, t.emit)
}

// indirect computes the rectangle [i0,i1)×[j0,j1) of C: for each NR-wide
// column panel and K block, every MR-row tile, so that the rows of B the
// panel reads stay in L1 across the row tiles. mpad is the MR-padded row
// count of the prepacked A. With emit, each panel goes through a tile.
func (t *gemmTask) indirect(i0, i1, j0, j1, mpad int, packedA, b []float32, offs []int, emit indEmit) {
	g, c, ldc, ep := t.g, t.c, t.ldc, &t.ep
	mr, nr := g.MR, g.NR
	zero := &t.zero[0]
	var tile []float32
	if emit != nil {
		s := getScratch((i1-i0)*nr + 16)
		defer putScratch(s)
		tile = aligned64(s.buf)[:(i1-i0)*nr]
		ldc = nr
	}
	for j := j0; j < j1; j += nr {
		nrr := min(nr, j1-j)
		mask := uint64(1)<<uint(nrr) - 1
		if nrr == 64 {
			mask = ^uint64(0)
		}
		for pc := 0; pc < t.k; pc += t.blk.kc {
			kc := min(t.blk.kc, t.k-pc)
			flags := t.flags(pc, kc)
			cb := zero
			if flags&flagColBias != 0 {
				cb = &ep.ColBias[j]
			}
			for i := i0; i < i1; i += mr {
				rb := zero
				if flags&flagRowBias != 0 {
					rb = &ep.RowBias[i]
				}
				var cp *float32
				if emit != nil {
					cp = &tile[(i-i0)*nr]
				} else {
					cp = &c[i*ldc+j]
				}
				g.ind(kc, &packedA[pc*mpad+i*kc], &b[j], &offs[pc], cp, ldc, min(mr, i1-i), mask, flags, rb, cb, t.lo, t.hi)
			}
		}
		if emit != nil {
			emit.emit(tile, nr, i0, i1, j, nrr)
		}
	}
}
