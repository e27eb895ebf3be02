package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzSgemm compares the best kernel with the generic one on shapes,
// transposes and epilogues drawn from the fuzzer (differential fuzzing of
// the assembly against Go).
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(14), uint8(33), uint16(385), uint8(0), uint64(1))
	f.Add(uint8(1), uint8(1), uint16(1), uint8(7), uint64(2))
	f.Add(uint8(7), uint8(200), uint16(9), uint8(3), uint64(3))
	f.Fuzz(func(t *testing.T, m8, n8 uint8, k16 uint16, flags uint8, seed uint64) {
		m, n, k := int(m8)%64+1, int(n8)+1, int(k16)%1100+1
		transA, transB := flags&1 != 0, flags&2 != 0
		var ep Epilogue
		r := rand.New(rand.NewPCG(seed, 1))
		if flags&4 != 0 {
			ep.RowBias = randSlice(r, m)
			ep.ColBias = randSlice(r, n)
		}
		if flags&8 != 0 {
			ep.Act = Activation{Kind: ActClip, Min: -1, Max: 1}
		}
		beta := float32(0)
		if flags&16 != 0 {
			beta = 1
		}
		lda, ldb := k, n
		if transA {
			lda = m
		}
		if transB {
			ldb = k
		}
		a, b := randSlice(r, m*k), randSlice(r, k*n)
		c0 := randSlice(r, m*n)
		got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
		SelectGemmFor(Config{}, m, n, k).SgemmEpilogue(nil, transA, transB, m, n, k, 1, a, lda, b, ldb, beta, got, n, ep)
		genericGemm.SgemmEpilogue(nil, transA, transB, m, n, k, 1, a, lda, b, ldb, beta, want, n, ep)
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*float64(k) || math.IsNaN(float64(got[i])) {
				t.Fatalf("%dx%dx%d flags %d: c[%d] = %v, generic %v", m, n, k, flags, i, got[i], want[i])
			}
		}
	})
}
