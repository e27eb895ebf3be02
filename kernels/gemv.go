package kernels

import "sync"

// gemvKernels computes C rows when C has at most gemvMaxRows rows (FC
// layers at small batch): B is streamed once, unpacked.
type gemvKernels struct {
	// dot4 sets acc[16r+lane] to partial sums whose 16 lanes add up to
	// Σ_l x[l]·b[r·ldb+l] for r < 4.
	dot4 func(k int, x, b *float32, ldb int, acc *[64]float32)
	// axpy64 sets y[j] = Σ_l x[l]·b[l·ldb+j] for the columns j < 64 in mask.
	axpy64 func(k int, x, b *float32, ldb int, y *float32, mask uint64)
}

// gemvMaxRows is the largest m that takes the GEMV path.
const gemvMaxRows = 2

// gemv computes the m ≤ gemvMaxRows rows of C = alpha·op(A)·op(B) + beta·C
// followed by ep, split over the pool along N.
func (g *GemmKernel) gemv(p *Pool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep Epilogue) {
	gk := g.gemv4
	xs := getScratch(m * k)
	defer putScratch(xs)
	x := xs.buf[:m*k]
	for i := 0; i < m; i++ {
		if !transA {
			copy(x[i*k:(i+1)*k], a[i*lda:i*lda+k])
			continue
		}
		for l := 0; l < k; l++ {
			x[i*k+l] = a[l*lda+i]
		}
	}
	const unit = 64
	chunks := (n + unit - 1) / unit
	threads := p
	if int64(n)*int64(k) < 64*1024 {
		threads = nil
	}
	parallelArgs(threads, &gemvTasks, chunks, gemvArgs{gk, transB, m, n, k, alpha, x, b, ldb, beta, c, ldc, ep}, (*gemvArgs).columns)
}

// gemvArgs are gemv's operands for the pool.
type gemvArgs struct {
	gk      *gemvKernels
	transB  bool
	m, n, k int
	alpha   float32
	x, b    []float32
	ldb     int
	beta    float32
	c       []float32
	ldc     int
	ep      Epilogue
}

var gemvTasks sync.Pool

// columns computes the 64-column chunks [lo,hi) of C.
func (a *gemvArgs) columns(lo, hi int) {
	const unit = 64
	m, k, c, ldc, ep := a.m, a.k, a.c, a.ldc, &a.ep
	j0, j1 := lo*unit, min(a.n, hi*unit)
	ts := getScratch(j1 - j0 + 64)
	defer putScratch(ts)
	tmp := ts.buf[:j1-j0]
	acc := (*[64]float32)(ts.buf[j1-j0:])
	for i := 0; i < m; i++ {
		xi := a.x[i*k : (i+1)*k]
		if a.transB {
			gemvT(a.gk, xi, a.b, a.ldb, j0, j1, k, tmp, acc)
		} else {
			gemvN(a.gk, xi, a.b, a.ldb, j0, j1, k, tmp)
		}
		row := c[i*ldc+j0 : i*ldc+j1]
		for jj, v := range tmp {
			v *= a.alpha
			if a.beta != 0 {
				v += a.beta * row[jj]
			}
			if ep.RowBias != nil {
				v += ep.RowBias[i]
			}
			if ep.ColBias != nil {
				v += ep.ColBias[j0+jj]
			}
			row[jj] = v
		}
		ep.Act.ApplySlice(row)
	}
}

// gemvT sets out[j-j0] = Σ_l x[l]·b[j·ldb+l] for j in [j0, j1); acc is
// the SIMD kernel's scratch.
func gemvT(gk *gemvKernels, x, b []float32, ldb, j0, j1, k int, out []float32, acc *[64]float32) {
	j := j0
	if gk != nil && k > 0 {
		for ; j+4 <= j1; j += 4 {
			_ = b[(j+3)*ldb+k-1]
			gk.dot4(k, &x[0], &b[j*ldb], ldb, acc)
			for r := 0; r < 4; r++ {
				var s float32
				for _, v := range acc[16*r : 16*r+16] {
					s += v
				}
				out[j-j0+r] = s
			}
		}
	}
	for ; j < j1; j++ {
		var s float32
		row := b[j*ldb : j*ldb+k]
		for l, v := range row {
			s += x[l] * v
		}
		out[j-j0] = s
	}
}

// gemvN sets out[j-j0] = Σ_l x[l]·b[l·ldb+j] for j in [j0, j1).
func gemvN(gk *gemvKernels, x, b []float32, ldb, j0, j1, k int, out []float32) {
	if gk != nil && k > 0 {
		for j := j0; j < j1; j += 64 {
			w := min(64, j1-j)
			_ = b[(k-1)*ldb+j+w-1]
			mask := uint64(1)<<uint(w) - 1
			if w == 64 {
				mask = ^uint64(0)
			}
			gk.axpy64(k, &x[0], &b[j], ldb, &out[j-j0], mask)
		}
		return
	}
	clear(out)
	for l := 0; l < k; l++ {
		xv := x[l]
		row := b[l*ldb+j0 : l*ldb+j1]
		for jj, v := range row {
			out[jj] += xv * v
		}
	}
}
