package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSumF64 compares the assembly float64 sum with sumF64Generic and a
// sequential float64 sum: lengths around the 8-, 32-lane blocks, the
// masked tail reading up to the end of the allocation, inputs
// unmodified.
func TestSumF64(t *testing.T) {
	if archSumF64 == nil || !(Config{}).Allows(archSumF64ISA) {
		t.Skip("no assembly float64 sum on this CPU/build")
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 3, 7, 8, 9, 31, 32, 33, 40, 63, 64, 65, 169, 196, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := randSlice(r, n) // ends its allocation
			xc := slices.Clone(x)
			want := 0.0
			for _, v := range x {
				want += float64(v)
			}
			gen := sumF64Generic(x)
			got := archSumF64(&x[0], n)
			for name, v := range map[string]float64{"generic": gen, "avx512": got} {
				if math.Abs(v-want) > 1e-12*float64(n) {
					t.Errorf("%s sum %v, want %v", name, v, want)
				}
			}
			if !slices.Equal(x, xc) {
				t.Fatal("input modified")
			}
		})
	}
}

// TestGlobalPooling checks every kernel (and GlobalPool) against float64
// definitions and refuses empty planes.
func TestGlobalPooling(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, cfg := range []Config{{}, Generic} {
		for _, size := range []int{1, 7, 49, 169, 1000} {
			for _, kind := range []PoolKind{PoolMax, PoolAvg} {
				g, err := NewGlobalPooling(cfg, kind, size)
				if err != nil {
					t.Fatal(err)
				}
				t.Run(fmt.Sprintf("%s/%d", g.Kernel(), size), func(t *testing.T) {
					const planes = 5
					x := ndRandSlice(rng, planes*size)
					y := nanSlice(planes + 1)
					pool := NewPool(2)
					defer pool.Close()
					if cfg == Generic {
						g.Run(pool, planes, x, y[:planes])
					} else {
						GlobalPool(pool, kind, planes, size, x, y[:planes])
					}
					if !math.IsNaN(float64(y[planes])) {
						t.Fatal("wrote past the output")
					}
					for c := 0; c < planes; c++ {
						m, s := math.Inf(-1), 0.0
						for _, v := range x[c*size : (c+1)*size] {
							m = math.Max(m, float64(v))
							s += float64(v)
						}
						want := m
						if kind == PoolAvg {
							want = s / float64(size)
						}
						if math.Abs(float64(y[c])-want) > 1e-6 {
							t.Fatalf("plane %d = %v, want %v", c, y[c], want)
						}
					}
				})
			}
		}
	}
	if _, err := NewGlobalPooling(Config{}, PoolAvg, 0); err == nil {
		t.Error("empty planes accepted")
	}
	if _, err := NewGlobalPooling(Config{}, 9, 4); err == nil {
		t.Error("unknown kind accepted")
	}
}

// BenchmarkGlobalPool times the global average pooling of SqueezeNet's
// classifier (1000×13×13) and ResNet-18's last stage (512×7×7).
func BenchmarkGlobalPool(b *testing.B) {
	for _, sh := range []struct{ c, size int }{{1000, 169}, {512, 49}} {
		x := ndRandSlice(rand.New(rand.NewPCG(1, 1)), sh.c*sh.size)
		y := make([]float32, sh.c)
		for _, cfg := range []Config{{}, Generic} {
			g, err := NewGlobalPooling(cfg, PoolAvg, sh.size)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/%dx%d", g.Kernel(), sh.c, sh.size), func(b *testing.B) {
				for b.Loop() {
					g.Run(nil, sh.c, x, y)
				}
				b.ReportMetric(float64(len(x))*4*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}

// The mean of each of two 2×2 planes, with the kernel chosen for this
// CPU.
func ExampleNewGlobalPooling() {
	g, err := NewGlobalPooling(Config{}, PoolAvg, 4)
	if err != nil {
		fmt.Println(err)
		return
	}
	out := make([]float32, 2)
	g.Run(nil, 2, []float32{1, 2, 3, 4, 10, 20, 30, 40}, out)
	fmt.Println(out)
	// Output: [2.5 25]
}
