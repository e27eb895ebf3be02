package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// indGemm returns the kernels this CPU can run that have an indirect-B
// variant (the generic one always has).
func indGemm() []*GemmKernel {
	var out []*GemmKernel
	for _, g := range supportedGemm() {
		if g.ind != nil {
			out = append(out, g)
		}
	}
	return out
}

// indRows returns a B source for the indirect kernels: k rows of nr
// values at offsets offs into b (rows overlap, as conv taps do, and are
// not in order), each row followed by NaN that a kernel must not read
// into C; and the same rows packed as one kc×NR panel (zero padded).
func indRows(r *rand.Rand, k, nr, NR int) (b []float32, offs []int, packed []float32) {
	b = nanSlice(3*k + nr + 8)
	offs = make([]int, k)
	packed = make([]float32, max(k, 1)*NR)
	for l := range offs {
		offs[l] = r.IntN(3*k + 8)
	}
	for l := k - 1; l >= 0; l-- {
		for j := 0; j < nr; j++ {
			b[offs[l]+j] = r.Float32()*2 - 1
		}
	}
	// A later row may have overwritten part of an earlier one: pack what
	// is there now, and keep only rows whose values are all finite.
	for l, off := range offs {
		for j := 0; j < nr; j++ {
			v := b[off+j]
			if math.IsNaN(float64(v)) {
				b[off+j], v = 0.5, 0.5
			}
			packed[l*NR+j] = v
		}
	}
	return b, offs, packed
}

func TestIndirectMicroKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, g := range indGemm() {
		for _, k := range []int{0, 1, 2, 3, 4, 5, 7, 9, 17, 64} {
			for _, mr := range []int{1, 2, g.MR - 1, g.MR} {
				for _, nr := range []int{1, 3, g.NR / 2, g.NR/2 + 1, g.NR - 1, g.NR} {
					for _, flags := range []int{0, flagAcc, flagAcc | flagRowBias, flagColBias | flagClamp, 15} {
						name := fmt.Sprintf("%s/k%d/mr%d/nr%d/f%d", g.IndName, k, mr, nr, flags)
						a := randSlice(r, max(k, 1)*g.MR)
						b, offs, packed := indRows(r, k, nr, g.NR)
						offs = append(offs, 0) // &offs[0] for k == 0
						rb, cb := randSlice(r, g.MR), randSlice(r, g.NR)
						c0, guard, mask := microTile(r, g.MR, mr, nr, g.NR+3)
						ldc := g.NR + 3
						want, got := slices.Clone(c0), slices.Clone(c0)
						lo, hi := float32(-0.5), float32(0.75)
						microRef(g.MR, g.NR, k, &a[0], &packed[0], &want[guard], ldc, mr, mask, flags, &rb[0], &cb[0], lo, hi)
						ac, bc := slices.Clone(a), slices.Clone(b)
						g.ind(k, &a[0], &b[0], &offs[0], &got[guard], ldc, mr, mask, flags, &rb[0], &cb[0], lo, hi)
						if !slices.Equal(a, ac) || !slices.EqualFunc(b, bc, sameFloat) {
							t.Fatalf("%s: inputs modified", name)
						}
						checkTile(t, name, want, got, guard, k)
					}
				}
			}
		}
	}
}

// TestRunIndirect compares the indirect-B GEMM driver with a float64
// reference on odd sizes (M < MR, N not a multiple of NR or 16, K = 1,
// several K blocks), on one and two threads, with NaN around C.
func TestRunIndirect(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	pool := NewPool(2)
	defer pool.Close()
	shapes := [][3]int{{1, 1, 1}, {3, 70, 0}, {5, 17, 1}, {7, 15, 9}, {13, 65, 27}, {64, 130, 64}, {33, 200, 300}, {6, 64, 576}, {70, 31, 45}}
	for _, g := range indGemm() {
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			for _, kc := range []int{0, 8} {
				blk := g.blockingFor(k)
				if kc > 0 {
					blk.kc = kc
				}
				name := fmt.Sprintf("%s/%dx%dx%d/kc%d", g.IndName, m, n, k, blk.kc)
				a := randSlice(r, m*k)
				packedA := make([]float32, prepackLen(g, blk, m, k)+1)
				prepackA(g, blk, packedA, m, k, a, k)
				offs := make([]int, k)
				for l := range offs {
					offs[l] = r.IntN(2*k + 5)
				}
				b := randSlice(r, slices.Max(append(offs, 0))+n)
				rowBias, colBias := randSlice(r, m), randSlice(r, n)
				ep := Epilogue{RowBias: rowBias, ColBias: colBias, Act: Activation{Kind: ActClip, Min: -2, Max: 2}}
				for run, pl := range []*Pool{nil, pool, nil, pool} {
					ldc := n + 3
					guard := 7
					c := nanSlice(guard + m*ldc + guard)
					cs := c[guard : guard+(m-1)*ldc+n]
					if run < 2 {
						g.runIndirect(pl, blk, m, n, k, packedA, b, offs, cs, ldc, ep, nil)
					} else {
						// Through per-panel tiles handed to emit.
						g.runIndirect(pl, blk, m, n, k, packedA, b, offs, nil, 0, ep, emitFunc(func(tile []float32, ldt, i0, i1, j0, nc int) {
							for i := i0; i < i1; i++ {
								copy(cs[i*ldc+j0:i*ldc+j0+nc], tile[(i-i0)*ldt:(i-i0)*ldt+nc])
							}
						}))
					}
					for i := 0; i < m; i++ {
						for j := 0; j < ldc; j++ {
							v := c[guard+i*ldc+j]
							if j >= n {
								if !math.IsNaN(float64(v)) {
									t.Fatalf("%s T%d: wrote c[%d][%d]", name, pl.Threads(), i, j)
								}
								continue
							}
							var s, sa float64
							for l := 0; l < k; l++ {
								p := float64(a[i*k+l]) * float64(b[offs[l]+j])
								s += p
								sa += math.Abs(p)
							}
							s += float64(rowBias[i]) + float64(colBias[j])
							s = min(max(s, -2), 2)
							if !close32(v, s, sa+2) {
								t.Fatalf("%s T%d: c[%d][%d] = %v, want %v", name, pl.Threads(), i, j, v, s)
							}
						}
					}
					if !math.IsNaN(float64(c[guard-1])) || !math.IsNaN(float64(c[guard+m*ldc])) {
						t.Fatalf("%s: wrote outside C", name)
					}
				}
			}
		}
	}
}

// sameFloat reports whether x and y are equal or both NaN.
func sameFloat(x, y float32) bool { return x == y || x != x && y != y }
