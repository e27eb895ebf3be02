package kernels

import (
	"math"
	"sync"
)

// SoftmaxKernel is one implementation of softmax along a middle axis of a
// tensor viewed as [outer, n, inner] (row-major): for every (o, j) the n
// values x[o, 0..n-1, j] are replaced by exp(x - max) / Σ exp(x - max).
type SoftmaxKernel struct {
	Name     string // e.g. "f32-softmax-generic"
	Requires ISA
	impl     func(dst, src []float32, n, inner int)
}

// softmaxKernels is the descriptor table, best first, generic last.
var softmaxKernels = []*SoftmaxKernel{
	{Name: "f32-softmax-generic", impl: softmaxGeneric},
}

// SelectSoftmax returns the first kernel of the table that cfg allows.
func SelectSoftmax(cfg Config) *SoftmaxKernel {
	for _, k := range softmaxKernels {
		if cfg.Allows(k.Requires) {
			return k
		}
	}
	return softmaxKernels[len(softmaxKernels)-1]
}

// Run computes softmax of src viewed as [outer, n, inner] into dst (same
// size; dst may equal src), split over outer across the pool.
func (k *SoftmaxKernel) Run(pool *Pool, dst, src []float32, outer, n, inner int) {
	blk := n * inner
	if len(dst) < outer*blk || len(src) < outer*blk {
		panic("kernels: softmax buffers shorter than outer×n×inner")
	}
	if blk == 0 {
		return
	}
	if outer*blk < 8192 {
		pool = nil
	}
	parallelArgs(pool, &softmaxTasks, outer, softmaxArgs{k, dst, src, n, inner}, (*softmaxArgs).blocks)
}

// softmaxArgs are SoftmaxKernel.Run's operands for the pool.
type softmaxArgs struct {
	k        *SoftmaxKernel
	dst, src []float32
	n, inner int
}

var softmaxTasks sync.Pool

// blocks computes the [n, inner] blocks [lo,hi).
func (a *softmaxArgs) blocks(lo, hi int) {
	blk := a.n * a.inner
	for o := lo; o < hi; o++ {
		a.k.impl(a.dst[o*blk:(o+1)*blk], a.src[o*blk:(o+1)*blk], a.n, a.inner)
	}
}

// softmaxGeneric handles one [n, inner] block. Sums are accumulated in
// float64 so that long rows keep full float32 accuracy.
func softmaxGeneric(dst, src []float32, n, inner int) {
	for j := 0; j < inner; j++ {
		m := float32(math.Inf(-1))
		for i := 0; i < n; i++ {
			m = max(m, src[i*inner+j])
		}
		var sum float64
		for i := 0; i < n; i++ {
			e := math.Exp(float64(src[i*inner+j] - m))
			dst[i*inner+j] = float32(e)
			sum += e
		}
		inv := 1 / sum
		for i := 0; i < n; i++ {
			dst[i*inner+j] = float32(float64(dst[i*inner+j]) * inv)
		}
	}
}
