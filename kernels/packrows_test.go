package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPackRows compares the assembly row packer of the stride-1 conv path
// with packRowsGeneric: random increasing offsets, one to many panels,
// NaN guard bands around the destination, source unmodified.
func TestPackRows(t *testing.T) {
	if archPackRows == nil || !(Config{}).Allows(archPackRowsISA) {
		t.Skip("no assembly row packer on this CPU/build")
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, nr := range []int{16, 32, 64} {
		for _, kc := range []int{1, 3, 17, 128} {
			for _, nfull := range []int{1, 2, 5} {
				t.Run(fmt.Sprintf("nr%d/kc%d/n%d", nr, kc, nfull), func(t *testing.T) {
					offs := make([]int, kc)
					o := r.IntN(7)
					for i := range offs {
						offs[i] = o
						o += r.IntN(40)
					}
					src := randSlice(r, o+nfull*nr+5)
					srcCopy := slices.Clone(src)
					const guard = 16
					want := nanSlice(guard + nfull*kc*nr + guard)
					got := nanSlice(len(want))
					packRowsGeneric(want[guard:], src, offs, kc, nfull, nr)
					archPackRows(&got[guard], &src[0], &offs[0], kc, nfull, nr)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("dst[%d] = %v, want %v", i-guard, got[i], want[i])
						}
					}
					if !slices.Equal(src, srcCopy) {
						t.Fatal("source modified")
					}
				})
			}
		}
	}
}
