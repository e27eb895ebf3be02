package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMaxRows compares the assembly row max of 2-D max pooling with
// maxRowsGeneric: lengths around the 16-lane vector, NaN in either
// input, in place (dst == a), NaN guard bands, inputs unmodified.
func TestMaxRows(t *testing.T) {
	if archMaxRows == nil || !(Config{}).Allows(archMaxRowsISA) {
		t.Skip("no assembly row max on this CPU/build")
	}
	r := rand.New(rand.NewPCG(1, 1))
	nan := float32(math.NaN())
	for _, n := range []int{1, 7, 15, 16, 17, 31, 32, 33, 100} {
		for _, inPlace := range []bool{false, true} {
			t.Run(fmt.Sprintf("n%d/inplace=%v", n, inPlace), func(t *testing.T) {
				a, b := randSlice(r, n), randSlice(r, n)
				a[r.IntN(n)] = nan
				b[r.IntN(n)] = nan
				b[n-1] = float32(math.Inf(-1))
				const guard = 16
				want := nanSlice(guard + n + guard)
				maxRowsGeneric(want[guard:guard+n], a, b)
				got := nanSlice(len(want))
				ac, bc := slices.Clone(a), slices.Clone(b)
				if inPlace {
					copy(got[guard:], a)
					archMaxRows(&got[guard], &got[guard], &b[0], n)
				} else {
					archMaxRows(&got[guard], &a[0], &b[0], n)
				}
				for i := range want {
					g, w := got[i], want[i]
					if math.IsNaN(float64(w)) != math.IsNaN(float64(g)) || !math.IsNaN(float64(w)) && g != w {
						t.Fatalf("dst[%d] = %v, want %v", i-guard, g, w)
					}
				}
				bits := func(x, y []float32) bool {
					return slices.EqualFunc(x, y, func(p, q float32) bool { return math.Float32bits(p) == math.Float32bits(q) })
				}
				if !bits(a, ac) || !bits(b, bc) {
					t.Fatal("input modified")
				}
			})
		}
	}
}
