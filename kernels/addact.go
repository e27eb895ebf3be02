package kernels

import (
	"fmt"
	"sync"
)

// AddAct is a planned elementwise sum with a fused activation, dst =
// act(a + b) on float32 slices of equal length (the residual Add + Relu
// of ResNets, or a plain Add with ActNone). Run is safe for concurrent
// use with distinct buffers.
type AddAct struct {
	lo, hi float32
	fn     func(dst, a, b *float32, n int, lo, hi float32) // assembly or nil
	name   string
}

// NewAddAct chooses the kernel for act: f32-add[-relu|-clip]-avx512, or
// -generic.
func NewAddAct(cfg Config, act Activation) *AddAct {
	k := &AddAct{}
	k.lo, k.hi = actBounds(act)
	suffix := map[ActKind]string{ActNone: "", ActRelu: "-relu", ActClip: "-clip"}[act.Kind]
	k.name = "f32-add" + suffix + "-generic"
	if archAddClamp != nil && cfg.Allows(archAddClampISA) {
		k.fn = archAddClamp
		k.name = fmt.Sprintf("f32-add%s-%s", suffix, archAddClampISA)
	}
	return k
}

// Kernel names the implementation chosen.
func (k *AddAct) Kernel() string { return k.name }

// addSerialBelow is the length under which Run stays on the caller.
const addSerialBelow = 1 << 15

// Run computes dst[i] = min(max(a[i]+b[i], lo), hi) for i < len(dst),
// NaN propagating; a and b hold at least len(dst) elements (dst may be
// either). Long slices are split over the pool.
func (k *AddAct) Run(pool *Pool, dst, a, b []float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	a, b = a[:n], b[:n]
	if n < addSerialBelow || pool.Threads() == 1 {
		k.run(dst, a, b, 0, n)
		return
	}
	parallelArgs(pool, &addTasks, pool.Threads(), addArgs{k, dst, a, b, pool.Threads()}, (*addArgs).chunks)
}

// run computes elements [lo,hi).
func (k *AddAct) run(dst, a, b []float32, lo, hi int) {
	if k.fn != nil {
		k.fn(&dst[lo], &a[lo], &b[lo], hi-lo, k.lo, k.hi)
		return
	}
	addClampGeneric(dst[lo:hi], a[lo:hi], b[lo:hi], k.lo, k.hi)
}

// addArgs are AddAct.Run's operands for the pool.
type addArgs struct {
	k         *AddAct
	dst, a, b []float32
	tasks     int
}

var addTasks sync.Pool

// chunks computes chunks [t0,t1) of tasks, in whole 64-byte lines.
func (t *addArgs) chunks(t0, t1 int) {
	n := len(t.dst)
	lo, hi := (t0*n/t.tasks)&^15, (t1*n/t.tasks)&^15
	if t1 == t.tasks {
		hi = n
	}
	if lo < hi {
		t.k.run(t.dst, t.a, t.b, lo, hi)
	}
}

// addClampGeneric is the generic twin of addClampAVX512: dst[i] =
// min(max(a[i]+b[i], lo), hi), NaN propagating.
func addClampGeneric(dst, a, b []float32, lo, hi float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = min(max(a[i]+b[i], lo), hi)
	}
}
