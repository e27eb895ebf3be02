package kernels

import (
	"fmt"
	"sync"
	"unsafe"
)

// Dense is a planned fully connected layer y = x·Wᵀ + b (ONNX Gemm with
// transB = 1, or MatMul by a constant): W is Out×In row-major, packed once
// at creation into the B panels of the chosen GEMM kernel.
type Dense struct {
	in, out int
	gemm    *GemmKernel
	blk     blocking
	packed  []float32 // Wᵀ as B panels: block k0 at k0·Npad, panel j0 at j0·kc
	bias    []float32
	act     Activation
}

// NewDense validates the sizes and packs weight (out×in) and bias (out
// elements or nil; copied). batch is a hint for the kernel choice. The
// weight is packed one row panel (NR rows, all K blocks) at a time; when
// it was lent (LendWeight), each panel's rows are reported packed as soon
// as they are, and NewDense never reads them again.
func NewDense(cfg Config, in, out, batch int, weight, bias []float32, act Activation) (*Dense, error) {
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("kernels: dense sizes must be positive (in %d, out %d)", in, out)
	}
	if len(weight) != in*out {
		return nil, fmt.Errorf("kernels: dense weight has %d elements, want %d×%d", len(weight), out, in)
	}
	if bias != nil && len(bias) != out {
		return nil, fmt.Errorf("kernels: dense bias has %d elements, want %d", len(bias), out)
	}
	d := &Dense{in: in, out: out, gemm: SelectGemmFor(cfg, max(batch, 1), out, in), act: act}
	d.blk = d.gemm.blockingFor(in)
	nr := d.gemm.NR
	npad := (out + nr - 1) / nr * nr
	d.packed = make([]float32, npad*in)
	// One row panel (NR rows of W, all K blocks) at a time: the rows
	// before the panel are never read again, so a lent weight's memory
	// can be given back while the rest is packed.
	drop := takeLoan(weight)
	for j0 := 0; j0 < out; j0 += nr {
		nc := min(nr, out-j0)
		for k0 := 0; k0 < in; k0 += d.blk.kc {
			kc := min(d.blk.kc, in-k0)
			off := k0*npad + j0*kc
			packB(nr, d.packed[off:off+kc*nr], true, weight, in, k0, kc, j0, nc)
		}
		if drop != nil {
			drop((j0 + nc) * in)
		}
	}
	if bias != nil {
		d.bias = append([]float32(nil), bias...)
	}
	return d, nil
}

// Kernel names the GEMM kernel chosen.
func (d *Dense) Kernel() string { return "f32-dense/" + d.gemm.Name }

// Run computes y (batch×Out) = x (batch×In)·Wᵀ + b, then the activation.
func (d *Dense) Run(pool *Pool, batch int, x, y []float32) {
	if batch <= 0 {
		return
	}
	if len(x) < batch*d.in || len(y) < batch*d.out {
		panic("kernels: Dense.Run buffers too short")
	}
	g := d.gemm
	nr := g.NR
	in := d.in
	src := gemmSrc{
		am: x, lda: in, alpha: 1,
		pb: d.packed, npadB: (d.out + nr - 1) / nr * nr,
		alignN:     nr,
		prepackedB: true,
	}
	g.run(pool, d.blk, batch, d.out, in, &src, false, y, d.out, Epilogue{ColBias: d.bias, Act: d.act})
}

// Weight loans: a caller that drops a weight as soon as it is packed (the
// runtime, for a constant that only this layer reads) lends it to
// NewDense, which then reports how much of it it has packed, so that the
// caller can return that memory to the operating system while the rest
// is packed: the weight and its packed copy are not both held whole.
var loans struct {
	sync.Mutex
	m map[*float32]*loan
}

type loan struct {
	n    int
	drop func(n int)
	used bool
}

// LendWeight lends w to the next NewDense given exactly w (same first
// element and length) as its weight: NewDense calls drop(n) each time the
// first n elements of w are packed and will not be read again, n
// growing up to len(w); drop may discard them. The returned end closes
// the loan and reports whether a NewDense used it (and so read all of w
// and called drop with len(w) last). Lending an empty or already lent
// slice lends nothing (end reports false).
func LendWeight(w []float32, drop func(n int)) (end func() bool) {
	if len(w) == 0 || drop == nil {
		return func() bool { return false }
	}
	key := unsafe.SliceData(w)
	l := &loan{n: len(w), drop: drop}
	loans.Lock()
	defer loans.Unlock()
	if loans.m == nil {
		loans.m = map[*float32]*loan{}
	}
	if loans.m[key] != nil {
		return func() bool { return false }
	}
	loans.m[key] = l
	return func() bool {
		loans.Lock()
		defer loans.Unlock()
		if loans.m[key] == l {
			delete(loans.m, key)
		}
		return l.used
	}
}

// takeLoan returns the drop function of the loan of w, ending it, or nil.
func takeLoan(w []float32) func(n int) {
	if len(w) == 0 {
		return nil
	}
	loans.Lock()
	defer loans.Unlock()
	l := loans.m[unsafe.SliceData(w)]
	if l == nil || l.n != len(w) {
		return nil
	}
	delete(loans.m, unsafe.SliceData(w))
	l.used = true
	return l.drop
}
