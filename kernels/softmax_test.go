package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSoftmaxKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	pool := NewPool(2)
	defer pool.Close()
	shapes := [][3]int{{1, 1, 1}, {1, 10, 1}, {3, 7, 5}, {2, 1, 9}, {17, 1000, 1}, {4, 3, 1031}, {0, 3, 2}}
	for _, k := range softmaxKernels {
		if !(Config{}).Allows(k.Requires) {
			continue
		}
		for _, s := range shapes {
			outer, n, inner := s[0], s[1], s[2]
			src := make([]float32, outer*n*inner)
			for i := range src {
				src[i] = float32(rng.NormFloat64() * 30)
			}
			orig := append([]float32(nil), src...)
			dst := make([]float32, len(src))
			k.Run(pool, dst, src, outer, n, inner)
			for o := 0; o < outer; o++ {
				for j := 0; j < inner; j++ {
					m := math.Inf(-1)
					for i := 0; i < n; i++ {
						m = math.Max(m, float64(src[(o*n+i)*inner+j]))
					}
					var sum float64
					for i := 0; i < n; i++ {
						sum += math.Exp(float64(src[(o*n+i)*inner+j]) - m)
					}
					for i := 0; i < n; i++ {
						idx := (o*n+i)*inner + j
						want := math.Exp(float64(src[idx])-m) / sum
						if d := math.Abs(float64(dst[idx]) - want); d > 1e-6*want+1e-12 {
							t.Fatalf("%s %v: [%d] = %g, want %g", k.Name, s, idx, dst[idx], want)
						}
					}
				}
			}
			for i := range src {
				if src[i] != orig[i] {
					t.Fatalf("%s %v: input modified", k.Name, s)
				}
			}
			k.Run(nil, src, src, outer, n, inner) // in place
			for i := range src {
				if src[i] != dst[i] {
					t.Fatalf("%s %v: in-place result differs at %d", k.Name, s, i)
				}
			}
		}
	}
	if SelectSoftmax(Generic).Name != "f32-softmax-generic" {
		t.Fatal("SelectSoftmax(Generic) is not the generic kernel")
	}
}

func BenchmarkSoftmax(b *testing.B) {
	for _, k := range softmaxKernels {
		if !(Config{}).Allows(k.Requires) {
			continue
		}
		for _, s := range [][3]int{{1, 1000, 1}, {64, 10, 1}, {1, 21, 4096}} {
			b.Run(k.Name+"/"+itoa(s[0])+"x"+itoa(s[1])+"x"+itoa(s[2]), func(b *testing.B) {
				n := s[0] * s[1] * s[2]
				src := make([]float32, n)
				for i := range src {
					src[i] = float32(i%13) * 0.25
				}
				dst := make([]float32, n)
				b.SetBytes(int64(8 * n))
				for b.Loop() {
					k.Run(nil, dst, src, s[0], s[1], s[2])
				}
			})
		}
	}
}
