package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// supportedGemm returns the table entries this CPU can run, and their
// tails.
func supportedGemm() []*GemmKernel {
	var out []*GemmKernel
	for _, g := range gemmKernels {
		if g.Supported(Config{}) {
			out = append(out, g)
			out = append(out, g.tails...)
		}
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

func nanSlice(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

// close32 reports whether got is within tol (relative to scale) of want.
func close32(got float32, want float64, scale float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(float64(got))
	}
	return math.Abs(float64(got)-want) <= 1e-5*scale+1e-6
}

func TestMicroKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, g := range supportedGemm() {
		for _, k := range []int{0, 1, 2, 3, 4, 5, 7, 8, 17, 64} {
			rows := []int{g.MR}
			cols := []int{g.NR}
			if g.masked {
				rows = []int{1, 2, g.MR - 1, g.MR}
				cols = []int{1, 3, g.NR / 2, g.NR/2 + 1, g.NR - 1, g.NR}
			}
			for _, mr := range rows {
				for _, nr := range cols {
					for flags := 0; flags < 16; flags++ {
						name := fmt.Sprintf("%s/k%d/mr%d/nr%d/f%d", g.Name, k, mr, nr, flags)
						a := randSlice(r, max(k, 1)*g.MR)
						b := randSlice(r, max(k, 1)*g.NR)
						rb := randSlice(r, g.MR)
						cb := randSlice(r, g.NR)
						ldc := g.NR + 5
						c0, guard, mask := microTile(r, g.MR, mr, nr, ldc)
						want, got := slices.Clone(c0), slices.Clone(c0)
						lo, hi := float32(-0.5), float32(0.75)
						microRef(g.MR, g.NR, k, &a[0], &b[0], &want[guard], ldc, mr, mask, flags, &rb[0], &cb[0], lo, hi)
						ac, bc := slices.Clone(a), slices.Clone(b)
						gotFlags := flags
						if flags&8 != 0 {
							// The prefetch hint (next panel) must not change C.
							gotFlags |= max(k, 1) * g.NR * 4 << flagPrefetchShift
						}
						g.micro(k, &a[0], &b[0], &got[guard], ldc, mr, mask, gotFlags, &rb[0], &cb[0], lo, hi)
						if !slices.Equal(a, ac) || !slices.Equal(b, bc) {
							t.Fatalf("%s: inputs modified", name)
						}
						checkTile(t, name, want, got, guard, k)
					}
				}
			}
		}
	}
}

// microTile returns the C buffer of a micro-kernel test: random values in
// the mr×nr tile at offset guard (leading dimension ldc) of a tile of MR
// rows, NaN around it; and the column mask selecting nr columns.
func microTile(r *rand.Rand, MR, mr, nr, ldc int) (c []float32, guard int, mask uint64) {
	guard = 2 * ldc
	c = nanSlice(guard + MR*ldc + guard)
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			c[guard+i*ldc+j] = r.Float32()
		}
	}
	mask = uint64(1)<<uint(nr) - 1
	if nr == 64 {
		mask = ^uint64(0)
	}
	return c, guard, mask
}

// checkTile fails the test unless got matches want (the reference) to
// within 1e-4·(k+1), NaN where want is NaN.
func checkTile(t *testing.T, name string, want, got []float32, guard, k int) {
	t.Helper()
	for i := range got {
		w, gv := want[i], got[i]
		if math.IsNaN(float64(w)) != math.IsNaN(float64(gv)) || math.Abs(float64(w-gv)) > 1e-4*float64(k+1) {
			t.Fatalf("%s: c[%d] = %v, want %v", name, i-guard, gv, w)
		}
	}
}

// refGemm is the float64 reference for Sgemm with an epilogue.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep Epilogue) (out []float64, scale []float64) {
	out = make([]float64, m*n)
	scale = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for l := 0; l < k; l++ {
				var av, bv float32
				if transA {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if transB {
					bv = b[j*ldb+l]
				} else {
					bv = b[l*ldb+j]
				}
				s += float64(av) * float64(bv)
				sa += math.Abs(float64(av) * float64(bv))
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			if ep.RowBias != nil {
				v += float64(ep.RowBias[i])
			}
			if ep.ColBias != nil {
				v += float64(ep.ColBias[j])
			}
			switch ep.Act.Kind {
			case ActRelu:
				v = math.Max(v, 0)
			case ActClip:
				v = math.Min(math.Max(v, float64(ep.Act.Min)), float64(ep.Act.Max))
			}
			out[i*n+j] = v
			scale[i*n+j] = math.Abs(float64(alpha))*sa + 1
		}
	}
	return out, scale
}

// gemmShapes follows XNNPACK's list: tails below/above the tile, K = 1,
// K around the K block, primes, and a few large shapes.
var gemmShapes = [][3]int{
	{1, 1, 1}, {1, 1, 7}, {3, 5, 1}, {13, 31, 1}, {14, 32, 8}, {15, 33, 9}, {6, 16, 16}, {5, 15, 3},
	{7, 17, 64}, {28, 64, 255}, {29, 65, 256}, {31, 97, 257}, {64, 196, 9}, {64, 100, 576},
	{17, 130, 513}, {100, 7, 33}, {2, 300, 1029}, {131, 137, 139}, {200, 1100, 70}, {64, 3136, 27},
	{9, 70, 383}, {13, 65, 384}, {20, 129, 385}, {7, 64, 769}, {5, 70, 1500}, {15, 40, 1153}, {300, 40, 20}, {1, 70, 40}, {2, 129, 385},
}

func TestSgemm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	pool := NewPool(2)
	defer pool.Close()
	for _, g := range supportedGemm() {
		for _, sh := range gemmShapes {
			m, n, k := sh[0], sh[1], sh[2]
			for _, tc := range []struct {
				transA, transB bool
				alpha, beta    float32
				bias           bool
				act            Activation
				threads        *Pool
			}{
				{alpha: 1, beta: 0},
				{alpha: 1, beta: 0, threads: pool},
				{transA: true, alpha: 0.5, beta: 1, bias: true, act: Activation{Kind: ActRelu}, threads: pool},
				{transB: true, alpha: 1, beta: -2, act: Activation{Kind: ActClip, Min: -1, Max: 6}},
				{transA: true, transB: true, alpha: 2, beta: 0, bias: true},
			} {
				name := fmt.Sprintf("%s/%dx%dx%d/tA=%v/tB=%v/b=%v/T%d", g.Name, m, n, k, tc.transA, tc.transB, tc.beta, tc.threads.Threads())
				lda, ldb, ldc := k+3, n+1, n+2
				if tc.transA {
					lda = m + 1
				}
				if tc.transB {
					ldb = k + 2
				}
				ar, br := m, k
				if tc.transA {
					ar = k
				}
				if tc.transB {
					br = n
				}
				a := randSlice(r, ar*lda)
				b := randSlice(r, br*ldb)
				var ep Epilogue
				if tc.bias {
					ep.RowBias = randSlice(r, m)
					ep.ColBias = randSlice(r, n)
				}
				ep.Act = tc.act
				guard := 7
				c := nanSlice(guard + m*ldc + guard)
				if tc.beta != 0 {
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							c[guard+i*ldc+j] = r.Float32()
						}
					}
				}
				want, scale := refGemm(tc.transA, tc.transB, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, c[guard:], ldc, ep)
				ac, bc := slices.Clone(a), slices.Clone(b)
				g.SgemmEpilogue(tc.threads, tc.transA, tc.transB, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, c[guard:], ldc, ep)
				if !slices.Equal(a, ac) || !slices.Equal(b, bc) {
					t.Fatalf("%s: inputs modified", name)
				}
				checkC(t, name, c, guard, m, n, ldc, want, scale)
			}
		}
	}
}

// checkC compares the m×n C at c[guard:] with want and checks that every
// element outside C (guard bands, padding columns) is still NaN.
func checkC(t *testing.T, name string, c []float32, guard, m, n, ldc int, want, scale []float64) {
	t.Helper()
	for idx, v := range c {
		off := idx - guard
		i, j := off/ldc, off%ldc
		inside := off >= 0 && i < m && j < n
		if !inside {
			if !math.IsNaN(float64(v)) {
				t.Fatalf("%s: wrote outside C at offset %d", name, off)
			}
			continue
		}
		if !close32(v, want[i*n+j], scale[i*n+j]) {
			t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, v, want[i*n+j])
		}
	}
}
