package kernels

import (
	"sync"
	"sync/atomic"
)

// runPair computes C (m × n1+n2, leading dimension ldc) = A·[B1 | B2]
// with both operands prepacked: columns [0,n1) by g from src1 (NR-wide
// panels), columns [n1,n1+n2) by tail, a narrow twin of g (g.tails: same
// MR and A panels), from src2; ep1 and ep2 are the epilogues of the two
// column ranges. It is the transposed conv path's product when its
// last output channels are packed narrow. On several threads, when K
// spans a block per thread, the threads split K for both parts in one
// parallel loop (the layers that pack a tail are bound by reading B);
// otherwise the parts run one after the other.
func (g *GemmKernel) runPair(p *Pool, blk blocking, m, n1, n2, k int, src1, src2 *gemmSrc, tail *GemmKernel, c []float32, ldc int, ep1, ep2 Epilogue) {
	threads := p.Threads()
	if int64(m)*int64(n1+n2)*int64(k) < 32*1024 || (k+blk.kc-1)/blk.kc < threads {
		threads = 1
	}
	if threads == 1 || n1 == 0 {
		if n1 > 0 {
			g.run(p, blk, m, n1, k, src1, false, c, ldc, ep1)
		}
		tail.run(p, blk, m, n2, k, src2, false, c[n1:], ldc, ep2)
		return
	}
	a := newGemmTask(g, blk, m, k, src1, false, c, ldc, ep1)
	b := newGemmTask(tail, blk, m, k, src2, false, c[n1:], ldc, ep2)
	defer a.release()
	defer b.release()
	a.n, b.n = n1, n2
	a.markStream()
	b.markStream()
	defer putScratch(a.splitKParts(threads))
	defer putScratch(b.splitKParts(threads))
	pt := pairTasks.Get().(*pairTask)
	pt.a, pt.b = a, b
	pt.chunks = int32(len(a.parts) - 1)
	pt.next.Store(0)
	p.ParallelTask(threads, pt)
	pt.a, pt.b = nil, nil
	pairTasks.Put(pt)
	a.splitKFinish(p, threads)
	b.splitKFinish(p, threads)
}

// pairTask is runPair's parallel loop: chunk ci is K range ci of both
// parts.
type pairTask struct {
	a, b   *gemmTask
	chunks int32
	next   atomic.Int32
}

var pairTasks = sync.Pool{New: func() any { return new(pairTask) }}

// Run computes chunks taken from the shared counter.
func (t *pairTask) Run(_, _ int) {
	for {
		ci := int(t.next.Add(1)) - 1
		if ci >= int(t.chunks) {
			return
		}
		t.a.splitKChunk(ci)
		t.b.splitKChunk(ci)
	}
}
