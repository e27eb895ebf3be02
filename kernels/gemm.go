package kernels

// GemmKernel is one SGEMM implementation chosen for an operator.
type GemmKernel struct {
	Name     string // e.g. "f32-gemm-6x16-avx2"
	MR, NR   int    // register tile
	Requires ISA
	// micro computes a full SGEMM; see Sgemm.
	impl func(p *Pool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// gemmKernels is the descriptor table, best first, generic last.
var gemmKernels = []*GemmKernel{
	{Name: "f32-gemm-4x4-generic", MR: 4, NR: 4, impl: sgemmGeneric},
}

// SelectGemm returns the first kernel of the table that cfg allows.
func SelectGemm(cfg Config) *GemmKernel {
	for _, k := range gemmKernels {
		if cfg.Allows(k.Requires) {
			return k
		}
	}
	return gemmKernels[len(gemmKernels)-1]
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C with row-major matrices:
// op(A) is m×k, op(B) is k×n, C is m×n with leading dimension ldc.
// A is m×k (lda ≥ k) or, with transA, k×m (lda ≥ m); likewise B.
// beta == 0 means C is not read (it may hold NaN).
func (g *GemmKernel) Sgemm(p *Pool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	g.impl(p, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmGeneric is the pure-Go reference SGEMM, parallel over rows of C.
func sgemmGeneric(p *Pool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	p.Parallel(m, func(lo, hi int) {
		row := make([]float32, n)
		for i := lo; i < hi; i++ {
			clear(row)
			for l := 0; l < k; l++ {
				var av float32
				if transA {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if av == 0 {
					continue
				}
				if transB {
					for j := 0; j < n; j++ {
						row[j] += av * b[j*ldb+l]
					}
				} else {
					br := b[l*ldb : l*ldb+n]
					for j, bv := range br {
						row[j] += av * bv
					}
				}
			}
			cr := c[i*ldc : i*ldc+n]
			if beta == 0 {
				for j := range cr {
					cr[j] = alpha * row[j]
				}
			} else {
				for j := range cr {
					cr[j] = alpha*row[j] + beta*cr[j]
				}
			}
		}
	})
}
