package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAddAct compares every add-activation kernel the CPU runs with the
// reference act(a + b): lengths around the 16- and 64-lane blocks and the
// pool split, NaN in either input, results in place (dst = a or b), NaN
// guard bands, inputs unmodified.
func TestAddAct(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	nan := float32(math.NaN())
	acts := []Activation{{Kind: ActNone}, {Kind: ActRelu}, {Kind: ActClip, Min: -0.5, Max: 0.75}}
	pool := NewPool(2)
	defer pool.Close()
	for _, cfg := range []Config{{}, Generic} {
		for _, act := range acts {
			k := NewAddAct(cfg, act)
			for _, n := range []int{1, 15, 16, 17, 63, 64, 65, 100, addSerialBelow + 7, 3 * addSerialBelow} {
				for _, inPlace := range []int{0, 1, 2} {
					t.Run(fmt.Sprintf("%s/n%d/inplace%d", k.Kernel(), n, inPlace), func(t *testing.T) {
						a, b := randSlice(r, n), randSlice(r, n)
						a[r.IntN(n)] = nan
						b[r.IntN(n)] = nan
						want := make([]float32, n)
						for i := range want {
							want[i] = act.Apply(a[i] + b[i])
							if math.IsNaN(float64(a[i] + b[i])) {
								want[i] = nan
							}
						}
						const guard = 16
						buf := nanSlice(guard + n + guard)
						dst := buf[guard : guard+n]
						ac, bc := slices.Clone(a), slices.Clone(b)
						switch inPlace {
						case 1:
							copy(dst, a)
							k.Run(pool, dst, dst, b)
						case 2:
							copy(dst, b)
							k.Run(pool, dst, a, dst)
						default:
							k.Run(pool, dst, a, b)
						}
						for i, w := range want {
							if g := dst[i]; math.IsNaN(float64(w)) != math.IsNaN(float64(g)) || !math.IsNaN(float64(w)) && g != w {
								t.Fatalf("dst[%d] = %v, want %v (a %v, b %v)", i, g, w, a[i], b[i])
							}
						}
						for i := range guard {
							if !math.IsNaN(float64(buf[i])) || !math.IsNaN(float64(buf[guard+n+i])) {
								t.Fatal("wrote outside dst")
							}
						}
						if inPlace == 0 && (!slices.EqualFunc(a, ac, sameBits) || !slices.EqualFunc(b, bc, sameBits)) {
							t.Fatal("input modified")
						}
					})
				}
			}
		}
	}
}

func sameBits(p, q float32) bool { return math.Float32bits(p) == math.Float32bits(q) }

// BenchmarkAddAct times the residual Add + Relu of ResNet-18's first
// stage (64×32×32 and 64×56×56).
func BenchmarkAddAct(b *testing.B) {
	for _, n := range []int{64 * 32 * 32, 64 * 56 * 56} {
		r := rand.New(rand.NewPCG(1, 1))
		x, y, d := randSlice(r, n), randSlice(r, n), make([]float32, n)
		for _, cfg := range []Config{{}, Generic} {
			k := NewAddAct(cfg, Activation{Kind: ActRelu})
			b.Run(fmt.Sprintf("%s/%d", k.Kernel(), n), func(b *testing.B) {
				for b.Loop() {
					k.Run(nil, d, x, y)
				}
				b.ReportMetric(float64(3*n*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}

// The residual Add + Relu of a ResNet block.
func ExampleNewAddAct() {
	k := NewAddAct(Config{}, Activation{Kind: ActRelu})
	out := make([]float32, 4)
	k.Run(nil, out, []float32{1, -2, 3, -4}, []float32{0.5, 1, -5, 5})
	fmt.Println(out)
	// Output: [1.5 0 0 1]
}
