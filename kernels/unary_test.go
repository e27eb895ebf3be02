package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func unaryRef(kind UnaryKind, x float64, p UnaryParams) float64 {
	switch kind {
	case UnaryRelu:
		return math.Max(x, 0)
	case UnaryLeakyRelu:
		if x < 0 {
			return float64(p.Alpha) * x
		}
		return x
	case UnarySigmoid:
		return 1 / (1 + math.Exp(-x))
	case UnaryTanh:
		return math.Tanh(x)
	case UnaryClip:
		return math.Min(math.Max(x, float64(p.Min)), float64(p.Max))
	}
	panic("unknown kind")
}

func TestUnaryKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := UnaryParams{Alpha: 0.1, Min: -0.5, Max: 1.5}
	pool := NewPool(3)
	defer pool.Close()
	for _, k := range unaryKernels {
		if !(Config{}).Allows(k.Requires) {
			continue
		}
		for _, n := range []int{0, 1, 7, 33, 1000, 40001} {
			for _, threads := range []int{1, 3} {
				var pl *Pool
				if threads > 1 {
					pl = pool
				}
				src := make([]float32, n)
				for i := range src {
					src[i] = float32(rng.NormFloat64() * 20)
				}
				if n > 7 {
					src[0], src[1] = 100, -100     // saturating tails
					src[2], src[3] = 0.0039, -1e-7 // tanh series range
					src[4], src[5] = 10.5, -9.9
				}
				orig := append([]float32(nil), src...)
				// Guard band of NaN after the destination.
				buf := make([]float32, n+4)
				for i := range buf {
					buf[i] = float32(math.NaN())
				}
				dst := buf[:n]
				k.Run(pl, dst, src, p)
				for i := range src {
					if src[i] != orig[i] {
						t.Fatalf("%s n=%d: input modified at %d", k.Name, n, i)
					}
					want := unaryRef(k.Kind, float64(src[i]), p)
					if d := math.Abs(float64(dst[i]) - want); d > 1e-6*math.Max(1, math.Abs(want)) {
						t.Fatalf("%s n=%d threads=%d: [%d] f(%g) = %g, want %g", k.Name, n, threads, i, src[i], dst[i], want)
					}
				}
				for i := n; i < len(buf); i++ {
					if !math.IsNaN(float64(buf[i])) {
						t.Fatalf("%s n=%d: wrote past the end", k.Name, n)
					}
				}
				// In place gives the same result.
				inplace := append([]float32(nil), src...)
				k.Run(pl, inplace, inplace, p)
				for i := range inplace {
					if inplace[i] != dst[i] {
						t.Fatalf("%s n=%d: in-place result differs at %d", k.Name, n, i)
					}
				}
			}
		}
	}
}

func TestSelectUnary(t *testing.T) {
	for kind := UnaryRelu; kind <= UnaryClip; kind++ {
		k := SelectUnary(Generic, kind)
		if k == nil || k.Kind != kind {
			t.Fatalf("SelectUnary(Generic, %v) = %v", kind, k)
		}
	}
	if SelectUnary(Config{}, UnaryKind(200)) != nil {
		t.Fatal("SelectUnary accepted an unknown kind")
	}
}

func BenchmarkUnary(b *testing.B) {
	for _, k := range unaryKernels {
		if !(Config{}).Allows(k.Requires) {
			continue
		}
		for _, n := range []int{4096, 802816} { // 802816 = 64×112×112, a ResNet stem output
			b.Run(k.Name+"/"+itoa(n), func(b *testing.B) {
				src := make([]float32, n)
				for i := range src {
					src[i] = float32(i%17) - 8
				}
				dst := make([]float32, n)
				b.SetBytes(int64(8 * n))
				for b.Loop() {
					k.Run(nil, dst, src, UnaryParams{Alpha: 0.1, Min: 0, Max: 6})
				}
			})
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}
