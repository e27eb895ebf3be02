package kernels

import (
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

// microFn is the ABI of every GEMM micro-kernel (assembly or Go). It
// multiplies a packed MR×k panel of A by a packed k×NR panel of B and
// writes rows i < mr and the columns j whose bit is set in mask (bit j
// for column j; kernels without masks need mr == MR and a full mask) of
// the tile at c (leading dimension ldc elements):
//
//	v = Σ_l a[l·MR+i]·b[l·NR+j]
//	if flags&flagAcc != 0 { v += c[i·ldc+j] }
//	if flags&flagRowBias != 0 { v += rowBias[i] }
//	if flags&flagColBias != 0 { v += colBias[j] }
//	if flags&flagClamp != 0 { v = min(max(v, lo), hi) }
//	c[i·ldc+j] = v
//
// flags>>flagPrefetchShift is a prefetch hint that does not change C.
// microRef in gemm_micro.go is the reference definition.
type microFn func(k int, a, b, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

// Micro-kernel flags.
const (
	flagAcc     = 1 << iota // add the existing C
	flagRowBias             // add rowBias[i]
	flagColBias             // add colBias[j]
	flagClamp               // clamp to [lo, hi]

	// flagPrefetchShift: flags>>flagPrefetchShift, when not zero, is a
	// distance in bytes at which the AVX kernels prefetch B ahead of
	// the rows they read (PREFETCHT1); results do not depend on it.
	flagPrefetchShift = 8
)

// GemmKernel is one SGEMM implementation chosen for an operator.
type GemmKernel struct {
	Name     string // e.g. "f32-gemm-6x16-avx2"
	MR, NR   int    // register tile
	Requires ISA

	micro  microFn
	masked bool // micro handles mr < MR and partial column masks itself
	// ind, when set, is the indirect-B variant of micro (igemm.go),
	// named IndName; it has the same tile and masks.
	ind     microIndFn
	IndName string
	eff     float64 // relative speed of full tiles within its ISA tier
	// packCost is the time to pack one element of A relative to one
	// cycle of 32 FMA lanes (0: same as the tier's default, 1).
	packCost float64
	// packA, when set, packs A (not transposed) faster than the generic
	// packA; same contract.
	packA func(mr int, dst []float32, alpha float32, a []float32, lda, i0, mc, k0, kc int)
	// gemv4, when set, holds the SIMD kernels of the m ≤ 2 path.
	gemv4 *gemvKernels
	// tails, when set, are narrow twins of this kernel (same MR and A
	// panels, NR = 16, 32, 48, ...): the transposed conv path packs the
	// last columns of its weights that narrow instead of padding them
	// to NR (weights it streams from memory: a panel of zeros costs as
	// much bandwidth as one of weights).
	tails []*GemmKernel
}

// gemmKernels is the descriptor table, best first, generic last.
var gemmKernels = append(append([]*GemmKernel(nil), archGemmKernels...), genericGemm)

var genericGemm = &GemmKernel{Name: "f32-gemm-4x4-generic", MR: 4, NR: 4, micro: microGeneric4x4, masked: true,
	ind: microIndGeneric4x4, IndName: "f32-gemm-4x4-indirectb-generic"}

// SelectGemm returns the first kernel of the table that cfg allows.
func SelectGemm(cfg Config) *GemmKernel {
	for _, k := range gemmKernels {
		if cfg.Allows(k.Requires) {
			return k
		}
	}
	return gemmKernels[len(gemmKernels)-1]
}

// SelectGemmFor returns the kernel cfg allows that is fastest for an
// m×n×k product: among the kernels of the best allowed ISA tier, the one
// with the least padded tile work plus packing of A (which matters when N
// is small).
func SelectGemmFor(cfg Config, m, n, k int) *GemmKernel {
	best := SelectGemm(cfg)
	cost := func(g *GemmKernel) float64 {
		pc := g.packCost
		if pc == 0 {
			pc = 1
		}
		return g.tileCost(m, n)/32 + pc*float64(m)
	}
	bestCost := cost(best)
	for _, g := range gemmKernels {
		if g.Requires != best.Requires || !cfg.Allows(g.Requires) {
			continue
		}
		if c := cost(g); c < bestCost {
			best, bestCost = g, c
		}
	}
	return best
}

// tileCost estimates the time of an m×n product per unit of K: padded
// tile area over the kernel's relative speed. Masked kernels skip whole
// 16-column vectors of a partial tile and run partial rows with fewer
// FMAs (at about half the efficiency).
func (g *GemmKernel) tileCost(m, n int) float64 {
	rows := float64((m+g.MR-1)/g.MR*g.MR+m) / 2
	cols := float64((n + g.NR - 1) / g.NR * g.NR)
	if g.masked {
		cols = float64((n + 15) / 16 * 16)
	}
	eff := g.eff
	if eff == 0 {
		eff = 1
	}
	return rows * cols / eff
}

// GemmKernels lists every GEMM kernel compiled into this build, best
// first, generic last (for `edge version`).
func GemmKernels() []*GemmKernel { return append([]*GemmKernel(nil), gemmKernels...) }

// Supported reports whether the kernel can run on this CPU under cfg.
func (g *GemmKernel) Supported(cfg Config) bool { return cfg.Allows(g.Requires) }

// Epilogue is applied to each element of C after the product (and after
// adding beta·C): v += RowBias[i] + ColBias[j]; v = Act(v). Either bias
// may be nil; RowBias has m elements, ColBias n.
type Epilogue struct {
	RowBias, ColBias []float32
	Act              Activation
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C with row-major matrices:
// op(A) is m×k, op(B) is k×n, C is m×n with leading dimension ldc.
// A is m×k (lda ≥ k) or, with transA, k×m (lda ≥ m); likewise B.
// beta == 0 means C is not read (it may hold NaN).
func (g *GemmKernel) Sgemm(p *Pool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	g.SgemmEpilogue(p, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Epilogue{})
}

// SgemmEpilogue is Sgemm followed by the fused epilogue ep, applied while
// each tile of C is still in registers.
func (g *GemmKernel) SgemmEpilogue(p *Pool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep Epilogue) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc, ep)
		return
	}
	if m <= gemvMaxRows {
		g.gemv(p, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep)
		return
	}
	if beta != 0 && beta != 1 {
		scaleC(m, n, beta, c, ldc, Epilogue{})
		beta = 1
	}
	blk := g.blockingFor(k)
	src := gemmSrc{am: a, lda: lda, alpha: alpha, transA: transA, bm: b, ldb: ldb, transB: transB}
	g.run(p, blk, m, n, k, &src, beta == 1, c, ldc, ep)
}

// scaleC sets C = beta·C (C is not read when beta == 0) and applies ep.
func scaleC(m, n int, beta float32, c []float32, ldc int, ep Epilogue) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			v := float32(0)
			if beta != 0 {
				v = beta * row[j]
			}
			if ep.RowBias != nil {
				v += ep.RowBias[i]
			}
			if ep.ColBias != nil {
				v += ep.ColBias[j]
			}
			row[j] = ep.Act.Apply(v)
		}
	}
}

// blocking holds the cache block sizes of the five-loop GEMM: a KC×NC
// block of packed B and an MC×KC block of packed A stay in L2 while a
// KC×NR micro-panel of B stays in L1.
type blocking struct{ mc, kc, nc int }

// blocking derives the block sizes from the probed cache sizes (measured
// best on Zen 5 / Sapphire Rapids class cores with 48 KiB L1 and 2 MiB L2:
// KC 384, MC 288, NC 1024).
func (g *GemmKernel) blocking() blocking {
	l1, l2 := cacheSizes()
	kc := max(128, min(512, l1/128/8*8))
	if g.NR <= 32 {
		// Narrow B panels stay in L1: KC×NR in 2/3 of it.
		kc = max(128, min(512, l1*2/3/(g.NR*4)/8*8))
	}
	// The packed A block takes about 9/64 of L2 and the B block 3/4.
	mc := max(g.MR, min(1024, l2*9/64/(kc*4)/g.MR*g.MR))
	nc := max(g.NR, min(8192, l2*3/4/(kc*4)/g.NR*g.NR))
	return blocking{mc: mc, kc: kc, nc: nc}
}

// blockingFor is blocking adjusted to K: a K up to 1.5·KC runs as one
// block (C is then read and written once), a larger one is split into
// equal blocks.
func (g *GemmKernel) blockingFor(k int) blocking {
	b := g.blocking()
	kc0 := b.kc
	if k <= b.kc*3/2 {
		b.kc = max(k, 1)
	} else {
		nb := (k + b.kc - 1) / b.kc
		b.kc = ((k+nb-1)/nb + 7) &^ 7
	}
	if b.kc > kc0 {
		// Keep the packed A and B blocks within their share of L2.
		b.mc = max(g.MR, b.mc*kc0/b.kc/g.MR*g.MR)
		b.nc = max(g.NR, b.nc*kc0/b.kc/g.NR*g.NR)
	}
	return b
}

// blockingStreamB is blockingFor for a prepacked B of n columns that
// does not fit in L2 and is read from memory once per call (the weights
// of small-map convolutions): when it is that large, KC is cut so that
// one KC×NR panel stays in 2/3 of L1 while the MR-row tiles reuse it
// (the next panel is prefetched into L2 meanwhile; K blocks cost an
// extra pass over the small C).
func (g *GemmKernel) blockingStreamB(k, n int) blocking {
	b := g.blockingFor(k)
	l1, l2 := cacheSizes()
	if int64((n+g.NR-1)/g.NR*g.NR)*int64(k)*4 <= int64(l2) {
		return b
	}
	kc := max(64, l1*2/3/(g.NR*4)/8*8)
	if k > kc*3/2 && kc < b.kc {
		nb := (k + kc - 1) / kc
		b.kc = ((k+nb-1)/nb + 7) &^ 7
	}
	return b
}

// gemmSrc supplies packed blocks of A and B. packA returns the MC×KC block
// at (i0, k0) as ceil(mc/MR) panels of kc×MR (row index fastest, zero
// padded); packB returns the KC×NC block at (k0, j0) as ceil(nc/NR) panels
// of kc×NR. Either may pack into dst or return prepacked memory.
type gemmSrc struct {
	packA func(dst []float32, i0, mc, k0, kc int) []float32
	packB func(dst []float32, k0, kc, j0, nc int) []float32
	// alignM, alignN: thread split boundaries must be multiples of these
	// (prepacked operands); 0 means any.
	alignM, alignN int
	// prepackedA, prepackedB: the operand costs nothing to pack.
	prepackedA, prepackedB bool
	// Operands given as memory rather than closures (a closure costs
	// an allocation per call); each, when not nil, replaces packA or
	// packB. pa: A prepacked by prepackA (K block k0 at k0·mpadA, panels
	// of kc×MR). am: A as the matrix alpha·op(am) with leading dimension
	// lda. pb: B prepacked as panels (K block k0 at k0·npadB, panels of
	// kc×NR). bm: B as the matrix op(bm) with leading dimension ldb.
	pa, am, pb, bm []float32
	mpadA, lda     int
	npadB, ldb     int
	alpha          float32
	transA, transB bool
	// rows, when not nil, replaces packB: row r of B is the run
	// rows[rowOffs[r]:] (the padded phase planes of a convolution's wide
	// grid), packed by packRows (assembly, or packRowsGeneric when nil).
	rows     []float32
	rowOffs  []int
	packRows func(dst, src *float32, offs *int, kc, nfull, nr int)
	// streamB: B is prepacked and larger than L2, so it streams from
	// memory once per call; the micro-kernel prefetches the next B panel
	// (set by run).
	streamB bool
}

// panelsAt returns the panels of n rows (A) or columns (B) from i0 in
// the K block at k0 of kc of prepacked panels p: block k0 starts at
// k0·npad, panel i0/unit at i0·kc.
func panelsAt(p []float32, npad, unit, i0, n, k0, kc int) []float32 {
	off := k0*npad + i0*kc
	return p[off : off+(n+unit-1)/unit*unit*kc]
}

// blockA returns the MC×KC block of A at (i0, k0) as panels, packed
// into dst or prepacked.
func (s *gemmSrc) blockA(g *GemmKernel, dst []float32, i0, mc, k0, kc int) []float32 {
	switch {
	case s.pa != nil:
		return panelsAt(s.pa, s.mpadA, g.MR, i0, mc, k0, kc)
	case s.am != nil:
		if g.packA != nil && !s.transA && s.lda < 1<<31/16 {
			g.packA(g.MR, dst, s.alpha, s.am, s.lda, i0, mc, k0, kc)
		} else {
			packA(g.MR, dst, s.transA, s.alpha, s.am, s.lda, i0, mc, k0, kc)
		}
		return dst
	}
	return s.packA(dst, i0, mc, k0, kc)
}

// blockB returns the KC×NC block of B at (k0, j0) as panels, packed into
// dst or prepacked.
func (s *gemmSrc) blockB(g *GemmKernel, dst []float32, k0, kc, j0, nc int) []float32 {
	switch {
	case s.pb != nil:
		return panelsAt(s.pb, s.npadB, g.NR, j0, nc, k0, kc)
	case s.bm != nil:
		packB(g.NR, dst, s.transB, s.bm, s.ldb, k0, kc, j0, nc)
		return dst
	case s.rows != nil:
		return s.packRowRuns(g.NR, dst, k0, kc, j0, nc)
	}
	return s.packB(dst, k0, kc, j0, nc)
}

var offsPool = sync.Pool{New: func() any { b := make([]int, 0, 4096); return &b }}

// packRowRuns packs the KC×NC block of B at (k0, j0) from the runs
// s.rows[s.rowOffs[r]+j0:] by plain copies.
func (s *gemmSrc) packRowRuns(nr int, dst []float32, k0, kc, j0, nc int) []float32 {
	pad := s.rows
	bp := offsPool.Get().(*[]int)
	defer offsPool.Put(bp)
	offs := (*bp)[:0]
	hiOff := 0
	for _, o := range s.rowOffs[k0 : k0+kc] {
		offs = append(offs, o+j0)
		hiOff = max(hiOff, o+j0)
	}
	nfull := nc / nr
	if nfull > 0 {
		// hiOff bounds every read (phase planes do not order the
		// offsets by row).
		_ = pad[hiOff+nfull*nr-1]
		_ = dst[nfull*kc*nr-1]
		if s.packRows != nil {
			s.packRows(&dst[0], &pad[0], &offs[0], kc, nfull, nr)
		} else {
			packRowsGeneric(dst, pad, offs, kc, nfull, nr)
		}
	}
	if q := nfull * nr; q < nc {
		for rr, off := range offs {
			d := dst[q*kc+rr*nr : q*kc+rr*nr+nr]
			n := copy(d, pad[off+q:off+nc])
			clear(d[n:])
		}
	}
	return dst
}

// gemmScratch is one worker's packing memory.
type gemmScratch struct{ buf []float32 }

var scratchPools [48]sync.Pool

func getScratch(n int) *gemmScratch {
	c := bits.Len(uint(n + 16))
	s, _ := scratchPools[c].Get().(*gemmScratch)
	if s == nil {
		s = &gemmScratch{buf: make([]float32, 1<<c)}
	}
	return s
}

func putScratch(s *gemmScratch) { scratchPools[bits.Len(uint(len(s.buf)))-1].Put(s) }

// aligned64 returns buf advanced to a 64-byte boundary.
func aligned64(buf []float32) []float32 {
	off := (64 - int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))))&63) & 63 / 4
	return buf[off:]
}

// run computes C (+)= A·B (+ epilogue) split over the pool's threads.
// The call's state lives in a pooled gemmTask, which is also the pool's
// loop body, so that a steady-state call allocates nothing.
func (g *GemmKernel) run(p *Pool, blk blocking, m, n, k int, src *gemmSrc, acc bool, c []float32, ldc int, ep Epilogue) {
	t := newGemmTask(g, blk, m, k, src, acc, c, ldc, ep)
	defer t.release()
	t.n = n
	t.markStream()
	threads := p.Threads()
	// Do not wake workers for tiny products.
	if int64(m)*int64(n)*int64(k) < 32*1024 {
		threads = 1
	}
	if threads == 1 {
		t.rect(0, m, 0, n)
		return
	}
	if t.runSplitK(p, threads) {
		return
	}
	splitM := g.split(m, n, threads, src)
	if src.prepackedA && !src.prepackedB && (n+g.NR-1)/g.NR >= 2*threads {
		// A convolution (weights prepacked as A, B packed from the
		// image): a column split lets each thread pack its own B
		// panels and use them from its own L1 for every row tile,
		// while A is shared read-only. A row split would stream the
		// B that the other thread packed from the other core's cache
		// (32→32 channels at 28²: 77 → 115 GFLOP/s at 2 threads).
		splitM = false
	}
	// Threads take chunks (about four each) from a shared counter, so a
	// thread that is slowed down (a busy or little core) takes fewer.
	unitM, unitN := g.MR, g.NR
	if src.alignM > 0 {
		unitM = src.alignM
	}
	if src.alignN > 0 {
		unitN = src.alignN
	}
	if splitM {
		want := 4 * threads
		if _, l2 := cacheSizes(); ((n+g.NR-1)/g.NR*g.NR)*k*4 > l2/2 {
			// Every row chunk streams all of B: when B does not stay in
			// L2, one chunk per thread reads it once per thread
			// (128×784×1152 at 2 threads: 100 → 118 GFLOP/s on a
			// loaded machine).
			want = threads
		}
		t.parts = chunkBoundsTo(t.parts[:0], m, unitM, want)
		if !src.prepackedB && ((n+g.NR-1)/g.NR*g.NR)*k*4 <= sharedBMax {
			t.runSharedB(p, threads)
			return
		}
		t.dynamic(p, threads, jobRows, len(t.parts)-1)
		return
	}
	t.parts = chunkBoundsTo(t.parts[:0], n, unitN, 4*threads)
	t.dynamic(p, threads, jobCols, len(t.parts)-1)
}

// markStream marks a prepacked B larger than L2 as streamed: weights
// that large come from memory, and prefetching the next panel while the
// row tiles reuse this one keeps the memory busy (fmnist-resnet18 512×4²
// conv, weights cycled out of cache, one thread: BenchmarkConvCold 1.47
// → 1.15 ms with the stream blocking of blockingStreamB).
func (t *gemmTask) markStream() {
	g := t.g
	if _, l2 := cacheSizes(); t.src.prepackedB && !t.src.streamB && int64((t.n+g.NR-1)/g.NR*g.NR)*int64(t.k)*4 > int64(l2) {
		t.src.streamB = true
	}
}

// chunkBoundsTo splits [0,total) into about want chunks of whole units,
// appending the chunk boundaries to dst.
func chunkBoundsTo(dst []int, total, unit, want int) []int {
	tiles := (total + unit - 1) / unit
	want = max(1, min(want, tiles))
	for c := 0; c < want; c++ {
		dst = append(dst, min(total, c*tiles/want*unit))
	}
	return append(dst, total)
}

// splitBound is boundary t of threads equal splits of total in units.
func splitBound(total, unit, t, threads int) int {
	if t == threads {
		return total
	}
	tiles := (total + unit - 1) / unit
	return min(total, t*tiles/threads*unit)
}

// split reports whether dividing C among threads along M balances
// better than along N.
func (g *GemmKernel) split(m, n, threads int, src *gemmSrc) bool {
	bound := func(total, unit, t int) int { return splitBound(total, unit, t, threads) }
	um, un := g.MR, g.NR
	if src.alignM > 0 {
		um = src.alignM
	}
	if src.alignN > 0 {
		un = src.alignN
	}
	// Per-thread time: tile work (16 lanes × 2 FMA per cycle) plus
	// packing. A row split packs its own rows of A and shares the packing
	// of B; a column split packs its own columns of B and all of A.
	packA, packB := 1.0, 0.25
	if src.prepackedA {
		packA = 0
	}
	if src.prepackedB {
		packB = 0
	}
	var worstM, worstN float64
	for t := 0; t < threads; t++ {
		rows, cols := bound(m, um, t+1)-bound(m, um, t), bound(n, un, t+1)-bound(n, un, t)
		worstM = max(worstM, g.tileCost(rows, n)/32+packA*float64(rows)+packB*float64(n)/float64(threads))
		worstN = max(worstN, g.tileCost(m, cols)/32+packA*float64(m)+packB*float64(cols))
	}
	return worstM < worstN
}

// gemmTask carries what every block of one GEMM call shares. It is the
// Task of the call's parallel loops (Run), taken from taskPool and
// returned by release.
type gemmTask struct {
	g     *GemmKernel
	blk   blocking
	m, n  int
	k     int
	src   gemmSrc
	acc   bool
	c     []float32
	ldc   int
	ep    Epilogue
	lo    float32
	hi    float32
	clamp bool
	zero  [64]float32

	// The parallel loop: job picks the body, threads take chunks
	// 0..chunks-1 from next.
	job    gemmJob
	chunks int32
	next   atomic.Int32
	parts  []int // chunk boundaries (rows or columns)
	groups []int // runSharedB: panel groups of B; runIndirect: column chunks
	full   []float32
	part   []float32 // runSplitK: partial sums of K ranges 1.., m×n each
	npad   int

	// runIndirect's operands.
	packedA, b []float32
	offs       []int
	emit       indEmit
	mpad       int
}

// gemmJob is the body of a gemmTask's parallel loop.
type gemmJob uint8

const (
	jobRows      gemmJob = iota // rect over the row chunks t.parts
	jobCols                     // rect over the column chunks t.parts
	jobPackB                    // runSharedB: pack the panel groups t.groups
	jobSharedB                  // runSharedB: row chunks t.parts over t.full
	jobIndirect                 // runIndirect: indirectChunk
	jobSplitK                   // runSplitK: K ranges t.parts, partial sums
	jobSplitKSum                // runSplitK: sum row chunks t.groups
)

var taskPool = sync.Pool{New: func() any { return new(gemmTask) }}

func newGemmTask(g *GemmKernel, blk blocking, m, k int, src *gemmSrc, acc bool, c []float32, ldc int, ep Epilogue) *gemmTask {
	t := taskPool.Get().(*gemmTask)
	t.g, t.blk, t.m, t.n, t.k, t.src, t.acc, t.c, t.ldc, t.ep = g, blk, m, 0, k, *src, acc, c, ldc, ep
	t.lo, t.hi = actBounds(ep.Act)
	t.clamp = ep.Act.Kind != ActNone
	return t
}

// release returns t to taskPool, dropping its references to the
// caller's memory.
func (t *gemmTask) release() {
	t.g, t.src, t.c, t.ep, t.full = nil, gemmSrc{}, nil, Epilogue{}, nil
	t.packedA, t.b, t.offs, t.emit = nil, nil, nil, nil
	taskPool.Put(t)
}

// scratchLen is the per-worker scratch (floats) of m rows: A block +
// edge tile.
func (t *gemmTask) scratchLen(m int) int {
	g, blk := t.g, t.blk
	return min(blk.mc, (m+g.MR-1)/g.MR*g.MR)*min(blk.kc, t.k) + 16 + g.MR*g.NR + 16
}

// dynamic runs job over chunks 0..chunks-1 on the pool's threads, each
// thread taking the next chunk from a shared counter.
func (t *gemmTask) dynamic(p *Pool, threads int, job gemmJob, chunks int) {
	t.job, t.chunks = job, int32(chunks)
	t.next.Store(0)
	p.ParallelTask(threads, t)
}

// Run is the parallel loop body: it takes chunks until none is left.
func (t *gemmTask) Run(_, _ int) {
	for {
		ci := int(t.next.Add(1)) - 1
		if ci >= int(t.chunks) {
			return
		}
		switch t.job {
		case jobRows:
			t.rect(t.parts[ci], t.parts[ci+1], 0, t.n)
		case jobCols:
			t.rect(0, t.m, t.parts[ci], t.parts[ci+1])
		case jobPackB:
			t.packShared(t.groups[ci], t.groups[ci+1])
		case jobSharedB:
			t.sharedRows(t.parts[ci], t.parts[ci+1])
		case jobIndirect:
			t.indirectChunk(ci)
		case jobSplitK:
			t.splitKChunk(ci)
		case jobSplitKSum:
			t.splitKSum(t.groups[ci], t.groups[ci+1])
		}
	}
}

// flags returns the micro-kernel flags of the K block starting at pc.
func (t *gemmTask) flags(pc, kc int) int {
	flags := 0
	if pc > 0 || t.acc {
		flags |= flagAcc
	}
	if pc+kc == t.k {
		if t.ep.RowBias != nil {
			flags |= flagRowBias
		}
		if t.ep.ColBias != nil {
			flags |= flagColBias
		}
		if t.clamp {
			flags |= flagClamp
		}
	}
	return flags
}

// rect computes the rectangle [i0,i1)×[j0,j1) of C on the calling
// goroutine with the five-loop blocked algorithm, packing its own B.
func (t *gemmTask) rect(i0, i1, j0, j1 int) {
	blk, k := t.blk, t.k
	nr := t.g.NR
	bLen := min(blk.nc, (j1-j0+nr-1)/nr*nr) * min(blk.kc, k)
	sb := getScratch(bLen + 16)
	defer putScratch(sb)
	bufB := aligned64(sb.buf)[:bLen]
	sa := getScratch(t.scratchLen(i1 - i0))
	defer putScratch(sa)
	for jc := j0; jc < j1; jc += blk.nc {
		nc := min(blk.nc, j1-jc)
		for pc := 0; pc < k; pc += blk.kc {
			kc := min(blk.kc, k-pc)
			pb := t.src.blockB(t.g, bufB, pc, kc, jc, nc)
			t.block(sa, i0, i1, jc, nc, pc, kc, pb)
		}
	}
}

// runSplitK handles a product with both operands prepacked whose few
// row tiles and column panels both split unevenly over the threads by
// more than 15% (a conv on a 4×4 map with 177 output channels: three
// 6-row tiles and three 64-wide panels, either split 2:1 over two
// threads; 95 channels: panels of 64 and 31 columns) but
// whose K spans at least a block per thread: each thread multiplies all
// tiles over its own range of K blocks, and the partial sums are added
// (with the epilogue) after. It reports whether it ran.
func (t *gemmTask) runSplitK(p *Pool, threads int) bool {
	g, m, n, k, kc := t.g, t.m, t.n, t.k, t.blk.kc
	if !t.src.prepackedA || !t.src.prepackedB || t.acc || (k+kc-1)/kc < threads {
		return false
	}
	// The busiest thread of an equal split of rows or columns, against
	// an even share (a K split has no imbalance, only the final sum).
	var worstM, worstN float64
	for q := 0; q < threads; q++ {
		worstM = max(worstM, g.tileCost(splitBound(m, g.MR, q+1, threads)-splitBound(m, g.MR, q, threads), n))
		worstN = max(worstN, g.tileCost(m, splitBound(n, g.NR, q+1, threads)-splitBound(n, g.NR, q, threads)))
	}
	// Up to 15% over it a row or column split still wins when there are
	// many row tiles to reuse B: 11 row tiles split 6:5 (256→130 1×3 at
	// 8², 2 threads: 68 µs by rows, 74-77 µs by K). With few (4², 2²
	// maps) or a B streamed from memory the layer is bound by reading
	// B, which a column split reads in whole padded panels: 5% (512→135
	// at 4², panels of 64, 64 and 7 read as 64: 0.13 ms by K, 0.17 by
	// columns; 95 channels, panels 64 and 31: 0.10 by K, 0.14 by
	// columns; 256→142 3×3 s2: 0.066 by K, 0.075 by columns).
	limit := 1.15
	if t.src.streamB || (m+g.MR-1)/g.MR < 8 {
		limit = 1.05
	}
	if min(worstM, worstN) <= limit*g.tileCost(m, n)/float64(threads) {
		return false
	}
	sp := t.splitKParts(threads)
	defer putScratch(sp)
	t.dynamic(p, threads, jobSplitK, len(t.parts)-1)
	t.splitKFinish(p, threads)
	return true
}

// splitKParts cuts K into one range of whole blocks per thread
// (t.parts) and gives t.part room for the partial sums of all ranges but
// the first, which sums into C; the caller puts the returned scratch back.
func (t *gemmTask) splitKParts(threads int) *gemmScratch {
	t.parts = chunkBoundsTo(t.parts[:0], t.k, t.blk.kc, threads)
	size := (len(t.parts) - 2) * t.m * t.n
	sp := getScratch(size + 16)
	t.part = sp.buf[:size]
	return sp
}

// splitKFinish adds the partial sums into C with the epilogue, split by
// rows on the threads when there are many (256→130 1×3 at 8², 64×130
// sums: about 8 µs on one thread).
func (t *gemmTask) splitKFinish(p *Pool, threads int) {
	if t.m*t.n >= splitKSumParallel {
		t.groups = chunkBoundsTo(t.groups[:0], t.m, 1, threads)
		t.dynamic(p, threads, jobSplitKSum, len(t.groups)-1)
	} else {
		t.splitKSum(0, t.m)
	}
	t.part = nil
}

// splitKSumParallel is the size of C from which runSplitK sums its
// partial sums on all threads.
const splitKSumParallel = 4096

// splitKSum adds the partial sums of rows [i0,i1) into C and applies the
// epilogue.
func (t *gemmTask) splitKSum(i0, i1 int) {
	m, n := t.m, t.n
	ep := &t.ep
	for i := i0; i < i1; i++ {
		row := t.c[i*t.ldc : i*t.ldc+n]
		for j := range row {
			v := row[j]
			for q := i*n + j; q < len(t.part); q += m * n {
				v += t.part[q]
			}
			if ep.RowBias != nil {
				v += ep.RowBias[i]
			}
			if ep.ColBias != nil {
				v += ep.ColBias[j]
			}
			if t.clamp {
				v = min(max(v, t.lo), t.hi)
			}
			row[j] = v
		}
	}
}

// splitKChunk computes the K blocks [t.parts[ci], t.parts[ci+1]) of all
// of C without the epilogue: into C for the first range, into its
// partial-sum buffer for the others.
func (t *gemmTask) splitKChunk(ci int) {
	c, ldc := t.c, t.ldc
	if ci > 0 {
		c, ldc = t.part[(ci-1)*t.m*t.n:ci*t.m*t.n], t.n
	}
	k0, k1 := t.parts[ci], t.parts[ci+1]
	sa := getScratch(t.scratchLen(t.m))
	defer putScratch(sa)
	for jc := 0; jc < t.n; jc += t.blk.nc {
		nc := min(t.blk.nc, t.n-jc)
		for pc := k0; pc < k1; pc += t.blk.kc {
			kc := min(t.blk.kc, k1-pc)
			flags := 0
			if pc > k0 {
				flags = flagAcc
			}
			t.blockTo(sa, c, ldc, flags, 0, t.m, jc, nc, pc, kc, t.src.blockB(t.g, nil, pc, kc, jc, nc))
		}
	}
}

// sharedBMax is the largest packed B (bytes) runSharedB packs whole;
// up to sharedBSerial bytes the caller packs it alone.
const (
	sharedBMax    = 16 << 20
	sharedBSerial = 32 << 10
)

// runSharedB splits rows into the chunks at boundaries t.parts while all
// threads share one packed copy of the whole of B, which they pack
// together first: two barriers per call, however many blocks.
func (t *gemmTask) runSharedB(p *Pool, threads int) {
	nr, n, k := t.g.NR, t.n, t.k
	t.npad = (n + nr - 1) / nr * nr
	panels := t.npad / nr
	sb := getScratch(t.npad*k + 16)
	defer putScratch(sb)
	t.full = aligned64(sb.buf)[:t.npad*k]
	// Block (k0, panel q) lives at k0·npad + q·nr·kc, as for prepacked B.
	if t.npad*k*4 <= sharedBSerial {
		// A small B is packed on the caller: cheaper than a barrier.
		t.packShared(0, panels)
	} else {
		t.groups = chunkBoundsTo(t.groups[:0], panels, 1, 4*threads)
		t.dynamic(p, threads, jobPackB, len(t.groups)-1)
	}
	t.dynamic(p, threads, jobSharedB, len(t.parts)-1)
}

// packShared packs the panels [q0,q1) of every K block of B into t.full.
func (t *gemmTask) packShared(q0, q1 int) {
	nr := t.g.NR
	for pc := 0; pc < t.k; pc += t.blk.kc {
		kc := min(t.blk.kc, t.k-pc)
		t.src.blockB(t.g, t.full[pc*t.npad+q0*nr*kc:], pc, kc, q0*nr, min(t.n, q1*nr)-q0*nr)
	}
}

// sharedRows computes rows [i0,i1) of C from the shared packed B.
func (t *gemmTask) sharedRows(i0, i1 int) {
	sa := getScratch(t.scratchLen(i1 - i0))
	defer putScratch(sa)
	for jc := 0; jc < t.n; jc += t.blk.nc {
		nc := min(t.blk.nc, t.n-jc)
		for pc := 0; pc < t.k; pc += t.blk.kc {
			kc := min(t.blk.kc, t.k-pc)
			t.block(sa, i0, i1, jc, nc, pc, kc, t.full[pc*t.npad+jc*kc:])
		}
	}
}

// block multiplies rows [i0,i1) of A's K block [pc,pc+kc) by the packed
// B block pb (columns [jc,jc+nc)), packing A into s.
func (t *gemmTask) block(s *gemmScratch, i0, i1, jc, nc, pc, kc int, pb []float32) {
	t.blockTo(s, t.c, t.ldc, t.flags(pc, kc), i0, i1, jc, nc, pc, kc, pb)
}

// blockTo is block writing to c (leading dimension ldc) with the given
// micro-kernel flags.
func (t *gemmTask) blockTo(s *gemmScratch, c []float32, ldc, flags int, i0, i1, jc, nc, pc, kc int, pb []float32) {
	g, blk, ep := t.g, t.blk, &t.ep
	mr, nr := g.MR, g.NR
	aLen := min(blk.mc, (i1-i0+mr-1)/mr*mr) * kc
	bufA := aligned64(s.buf)[:aLen]
	tile := aligned64(s.buf[aLen+16:])[:mr*nr]
	lo, hi := t.lo, t.hi
	zero := &t.zero[0]
	// B from memory (streamB): the kernel prefetches, into L2, the next
	// panel this thread reads while it multiplies this one: the next
	// panel of the block, or after the last one the first panel of the
	// same columns in the next K block (column chunks of other threads
	// lie in between).
	pfNext, pfLast := 0, 0
	if t.src.streamB {
		pfNext = kc * nr * 4
		if pc+kc < t.k {
			nb := t.src.blockB(g, nil, pc+kc, min(blk.kc, t.k-pc-kc), jc, nc)
			d := int64(uintptr(unsafe.Pointer(&nb[0]))) - int64(uintptr(unsafe.Pointer(&pb[(nc-1)/nr*nr*kc])))
			if d > 0 && d < 1<<40 {
				pfLast = int(d)
			}
		}
	}
	for ic := i0; ic < i1; ic += blk.mc {
		mc := min(blk.mc, i1-ic)
		pa := t.src.blockA(g, bufA, ic, mc, pc, kc)
		for jr := 0; jr < nc; jr += nr {
			flags := flags
			if jr+nr < nc {
				flags |= pfNext << flagPrefetchShift
			} else {
				flags |= pfLast << flagPrefetchShift
			}
			nrr := min(nr, nc-jr)
			bp := &pb[jr*kc]
			j := jc + jr
			cb := zero
			if flags&flagColBias != 0 {
				cb = &ep.ColBias[j]
			}
			mask := uint64(1)<<uint(nrr) - 1
			if nrr == 64 {
				mask = ^uint64(0)
			}
			for ir := 0; ir < mc; ir += mr {
				mrr := min(mr, mc-ir)
				i := ic + ir
				ap := &pa[ir*kc]
				rb := zero
				if flags&flagRowBias != 0 {
					rb = &ep.RowBias[i]
				}
				if g.masked || (mrr == mr && nrr == nr) {
					g.micro(kc, ap, bp, &c[i*ldc+j], ldc, mrr, mask, flags, rb, cb, lo, hi)
					continue
				}
				// Edge tile of a full-tile kernel: compute into the
				// scratch tile, then finish on the hot tile in Go.
				g.micro(kc, ap, bp, &tile[0], nr, mr, ^uint64(0), 0, zero, zero, 0, 0)
				for ii := 0; ii < mrr; ii++ {
					crow := c[(i+ii)*ldc+j : (i+ii)*ldc+j+nrr]
					trow := tile[ii*nr : ii*nr+nrr]
					for jj, v := range trow {
						if flags&flagAcc != 0 {
							v += crow[jj]
						}
						if flags&flagRowBias != 0 {
							v += ep.RowBias[i+ii]
						}
						if flags&flagColBias != 0 {
							v += ep.ColBias[j+jj]
						}
						if flags&flagClamp != 0 {
							v = min(max(v, lo), hi)
						}
						crow[jj] = v
					}
				}
			}
		}
	}
}

// packA packs rows [i0,i0+mc) × columns [k0,k0+kc) of alpha·op(A) into
// ceil(mc/mr) panels of kc×mr, zero padding the last panel.
func packA(mr int, dst []float32, trans bool, alpha float32, a []float32, lda, i0, mc, k0, kc int) {
	for p := 0; p < mc; p += mr {
		rows := min(mr, mc-p)
		panel := dst[p*kc : p*kc+kc*mr]
		if trans {
			for l := 0; l < kc; l++ {
				src := a[(k0+l)*lda+i0+p:]
				d := panel[l*mr : l*mr+mr]
				for r := 0; r < rows; r++ {
					d[r] = alpha * src[r]
				}
				clear(d[rows:])
			}
			continue
		}
		for r := 0; r < rows; r++ {
			src := a[(i0+p+r)*lda+k0 : (i0+p+r)*lda+k0+kc]
			if alpha == 1 {
				for l, v := range src {
					panel[l*mr+r] = v
				}
			} else {
				for l, v := range src {
					panel[l*mr+r] = alpha * v
				}
			}
		}
		if rows < mr {
			for l := 0; l < kc; l++ {
				clear(panel[l*mr+rows : l*mr+mr])
			}
		}
	}
}

// packB packs rows [k0,k0+kc) × columns [j0,j0+nc) of op(B) into
// ceil(nc/nr) panels of kc×nr, zero padding the last panel.
func packB(nr int, dst []float32, trans bool, b []float32, ldb, k0, kc, j0, nc int) {
	for q := 0; q < nc; q += nr {
		cols := min(nr, nc-q)
		panel := dst[q*kc : q*kc+kc*nr]
		if trans {
			for c := 0; c < cols; c++ {
				src := b[(j0+q+c)*ldb+k0 : (j0+q+c)*ldb+k0+kc]
				for l, v := range src {
					panel[l*nr+c] = v
				}
			}
			if cols < nr {
				for l := 0; l < kc; l++ {
					clear(panel[l*nr+cols : l*nr+nr])
				}
			}
			continue
		}
		for l := 0; l < kc; l++ {
			d := panel[l*nr : l*nr+nr]
			copy(d[:cols], b[(k0+l)*ldb+j0+q:])
			clear(d[cols:])
		}
	}
}

// CheckGemm validates the sizes, leading dimensions and buffer lengths of
// an Sgemm call; operators call it when they are planned, since Sgemm
// itself trusts its arguments.
func CheckGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) error {
	need := func(name string, buf []float32, rows, cols, ld int) error {
		if rows == 0 || cols == 0 {
			return nil
		}
		if ld < cols {
			return fmt.Errorf("kernels: leading dimension of %s is %d, want at least %d", name, ld, cols)
		}
		if len(buf) < (rows-1)*ld+cols {
			return fmt.Errorf("kernels: %s has %d elements, want at least %d", name, len(buf), (rows-1)*ld+cols)
		}
		return nil
	}
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("kernels: negative GEMM size %d×%d×%d", m, n, k)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if err := need("A", a, ar, ac, lda); err != nil {
		return err
	}
	if err := need("B", b, br, bc, ldb); err != nil {
		return err
	}
	return need("C", c, m, n, ldc)
}
