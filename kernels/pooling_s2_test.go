package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMaxPoolS2 compares the assembly stride-2 max pooling plane kernel
// with maxPoolS2Generic: output counts around the 16-lane block (the
// masked tail) and up to 8 (two rows per vector, an odd last row; 8
// outputs of kw 3 need 17 inputs unless cut), kernel widths 2 and 3, repeated rows, NaN and −Inf in
// the inputs, NaN guard bands around and between the output rows, input
// rows whose last one ends the allocation, rows cut inside the last
// window (ceil_mode), inputs unmodified.
func TestMaxPoolS2(t *testing.T) {
	if archMaxPoolS2 == nil || !(Config{}).Allows(archMaxPoolS2ISA) {
		t.Skip("no assembly stride-2 max pooling on this CPU/build")
	}
	r := rand.New(rand.NewPCG(1, 1))
	nan := float32(math.NaN())
	for _, kw := range []int{2, 3} {
		for _, n := range []int{1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 48, 55, 64, 100} {
			for _, tc := range []struct {
				rows int
				cut  bool
			}{{1, false}, {4, false}, {1, true}, {3, true}} {
				rows, cut := tc.rows, tc.cut
				t.Run(fmt.Sprintf("kw%d/n%d/rows%d/cut=%v", kw, n, rows, cut), func(t *testing.T) {
					w := 2*n + kw - 2 // inputs read per row
					avail := w
					if cut {
						avail = 2*n - 1 // the last window has one tap
						if kw == 3 {
							avail = 2 * n // or two
						}
					}
					const inRows, pitchGap = 5, 3
					pitch := w + pitchGap
					src := randSlice(r, (inRows-1)*pitch+avail) // the last row ends the allocation
					for i := 0; i < 3*inRows; i++ {
						src[r.IntN(len(src))] = nan
						src[r.IntN(len(src))] = float32(math.Inf(-1))
					}
					offs := make([]int, 3*rows)
					for i := range offs {
						offs[i] = r.IntN(inRows) * pitch // repeats included
					}
					offs[len(offs)-1] = (inRows - 1) * pitch
					srcc := slices.Clone(src)
					const guard = 16
					ldd := n + 5
					want := nanSlice(guard + rows*ldd + guard)
					got := nanSlice(len(want))
					maxPoolS2Generic(want[guard:], src, offs, rows, ldd, n, kw, avail)
					masks := poolS2Masks(n, kw, avail)
					archMaxPoolS2(&got[guard], &src[0], &offs[0], rows, ldd, n, kw, &masks)
					for i := range want {
						g, v := got[i], want[i]
						if math.IsNaN(float64(v)) != math.IsNaN(float64(g)) || !math.IsNaN(float64(v)) && g != v {
							t.Fatalf("dst[%d] = %v, want %v", i-guard, g, v)
						}
					}
					if !slices.EqualFunc(src, srcc, func(p, q float32) bool { return math.Float32bits(p) == math.Float32bits(q) }) {
						t.Fatal("input modified")
					}
				})
			}
		}
	}
}

// TestMaxPoolS2Chosen checks which layers take the stride-2 kernel.
func TestMaxPoolS2Chosen(t *testing.T) {
	two := func(a, b int) []int { return []int{a, b} }
	cases := []struct {
		p    PoolParams
		want string // kernel name prefix
	}{
		{PoolParams{Kind: PoolMax, In: two(111, 111), Out: two(55, 55), Kernel: two(3, 3), Strides: two(2, 2), Dilations: two(1, 1), PadsBegin: two(0, 0), PadsEnd: two(0, 0)}, "f32-maxpool-3x3s2-"},
		{PoolParams{Kind: PoolMax, In: two(224, 224), Out: two(112, 112), Kernel: two(2, 2), Strides: two(2, 2), Dilations: two(1, 1), PadsBegin: two(0, 0), PadsEnd: two(0, 0)}, "f32-maxpool-2x2s2-"},
		{PoolParams{Kind: PoolMax, In: two(112, 112), Out: two(56, 56), Kernel: two(3, 3), Strides: two(2, 2), Dilations: two(1, 1), PadsBegin: two(1, 1), PadsEnd: two(1, 1)}, "f32-maxpool-3x3s2-"},
		{PoolParams{Kind: PoolMax, In: two(20, 20), Out: two(18, 18), Kernel: two(3, 3), Strides: two(1, 1), Dilations: two(1, 1), PadsBegin: two(0, 0), PadsEnd: two(0, 0)}, "f32-maxpool-2d-"},
		{PoolParams{Kind: PoolMax, In: two(20, 20), Out: two(8, 8), Kernel: two(5, 5), Strides: two(2, 2), Dilations: two(1, 1), PadsBegin: two(0, 0), PadsEnd: two(0, 0)}, "f32-maxpool-2d-"},
		{PoolParams{Kind: PoolAvg, In: two(111, 111), Out: two(55, 55), Kernel: two(3, 3), Strides: two(2, 2), Dilations: two(1, 1), PadsBegin: two(0, 0), PadsEnd: two(0, 0)}, "f32-avgpool-2d-"},
	}
	for _, c := range cases {
		for _, cfg := range []Config{{}, Generic} {
			k, err := NewPooling(cfg, c.p)
			if err != nil {
				t.Fatal(err)
			}
			name := k.Kernel()
			if len(name) < len(c.want) || name[:len(c.want)] != c.want {
				t.Errorf("%v kernel %v: %s, want %s…", c.p.Kind, c.p.Kernel, name, c.want)
			}
			if cfg == Generic && name[len(name)-len("generic"):] != "generic" {
				t.Errorf("generic config chose %s", name)
			}
		}
	}
}

// TestMaxPoolS2Random compares the stride-2 max pooling of random
// geometries (sizes, kernel 1-3 × 2-3, row stride and dilation, pads,
// ceil_mode) under both configs with the N-D odometer.
func TestMaxPoolS2Random(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	s2 := 0
	for trial := range 300 {
		kh, kw := 1+r.IntN(3), 2+r.IntN(2)
		sy, dy := 1+r.IntN(3), 1+r.IntN(2)
		h, w := kh*dy+r.IntN(12), kw+r.IntN(70)
		pb := []int{r.IntN(kh), r.IntN(kw)}
		pe := []int{r.IntN(kh), r.IntN(kw)}
		ceil := r.IntN(2) == 1
		out := []int{poolOut(h, kh, sy, dy, pb[0], pe[0], ceil), poolOut(w, kw, 2, 1, pb[1], pe[1], ceil)}
		p := PoolParams{Kind: PoolMax, In: []int{h, w}, Out: out, Kernel: []int{kh, kw}, Strides: []int{sy, 2},
			Dilations: []int{dy, 1}, PadsBegin: pb, PadsEnd: pe}
		const planes = 3
		x := ndRandSlice(r, planes*h*w)
		x[r.IntN(len(x))] = float32(math.NaN())
		n := out[0] * out[1]
		want := make([]float32, planes*n)
		ref, err := NewPooling(Generic, p)
		if err != nil {
			t.Fatal(err)
		}
		for c := range planes {
			ref.planeND(x[c*h*w:(c+1)*h*w], want[c*n:(c+1)*n], nil)
		}
		for _, cfg := range []Config{{}, Generic} {
			k, err := NewPooling(cfg, p)
			if err != nil {
				t.Fatal(err)
			}
			if k.s2 {
				s2++
			}
			got := make([]float32, planes*n)
			k.Run(nil, planes, x, got, nil)
			for i := range want {
				if g, v := got[i], want[i]; math.IsNaN(float64(v)) != math.IsNaN(float64(g)) || !math.IsNaN(float64(v)) && g != v {
					t.Fatalf("trial %d %s %+v: y[%d] = %v, want %v", trial, k.Kernel(), p, i, g, v)
				}
			}
		}
	}
	if s2 < 500 {
		t.Errorf("the stride-2 kernel ran in %d of 600 cases", s2)
	}
}
