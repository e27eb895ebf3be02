package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGather checks the assembly gather and its generic twin on random
// tables with padding entries (-1), for lengths around the 16-lane
// vectors, and that nothing past len(idx) is written.
func TestGather(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	src := randSlice(r, 300)
	for _, cfg := range []Config{{}, Generic} {
		g := selectGather(cfg)
		for _, n := range []int{0, 1, 5, 15, 16, 17, 31, 32, 33, 54, 100} {
			idx := make([]int32, n)
			for i := range idx {
				idx[i] = int32(r.IntN(len(src)+len(src)/3)) - int32(len(src)/3) // a quarter negative
				if idx[i] < 0 {
					idx[i] = -1
				}
			}
			dst := nanSlice(n + 3)
			g.run(dst, src, idx)
			for i, o := range idx {
				want := float32(0)
				if o >= 0 {
					want = src[o]
				}
				if dst[i] != want {
					t.Fatalf("%s n=%d: dst[%d] = %v, want %v", g.name, n, i, dst[i], want)
				}
			}
			for i := n; i < len(dst); i++ {
				if !math.IsNaN(float64(dst[i])) {
					t.Fatalf("%s n=%d: wrote dst[%d] past the end", g.name, n, i)
				}
			}
		}
	}
}
