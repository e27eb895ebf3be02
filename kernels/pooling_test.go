package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refPool is the direct float64 definition of pooling one plane: it
// enumerates every tap of every window and checks it against the input
// and the padded input.
func refPool(p PoolParams, x []float32) ([]float64, []int64) {
	nd := len(p.In)
	outSize, kSize := ndProd(p.Out), ndProd(p.Kernel)
	y := make([]float64, outSize)
	idx := make([]int64, outSize)
	o := make([]int, nd)
	t := make([]int, nd)
	for oi := range y {
		rem := oi
		for d := nd - 1; d >= 0; d-- {
			o[d] = rem % p.Out[d]
			rem /= p.Out[d]
		}
		m, at := math.Inf(-1), int64(-1)
		var sum float64
		cnt, padded := 0, 0
		for ti := 0; ti < kSize; ti++ {
			rem := ti
			for d := nd - 1; d >= 0; d-- {
				t[d] = rem % p.Kernel[d]
				rem /= p.Kernel[d]
			}
			off, in, inPad := 0, true, true
			for d := 0; d < nd; d++ {
				v := o[d]*p.Strides[d] - p.PadsBegin[d] + t[d]*p.Dilations[d]
				if v < 0 || v >= p.In[d] {
					in = false
				}
				if v < -p.PadsBegin[d] || v >= p.In[d]+p.PadsEnd[d] {
					inPad = false
				}
				off = off*p.In[d] + v
			}
			if inPad {
				padded++
			}
			if !in {
				continue
			}
			cnt++
			v := float64(x[off])
			sum += v
			if v > m || at < 0 {
				m, at = v, int64(off)
			}
		}
		if p.Kind == PoolMax {
			y[oi], idx[oi] = m, at
		} else if p.CountIncludePad {
			y[oi] = sum / float64(padded)
		} else {
			y[oi] = sum / float64(cnt)
		}
	}
	return y, idx
}

func poolOut(in, k, s, d, pb, pe int, ceil bool) int {
	num := in + pb + pe - d*(k-1) - 1
	o := num/s + 1
	if ceil && num%s != 0 {
		o++
		if (o-1)*s >= in+pb {
			o--
		}
	}
	return o
}

func TestPooling(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	type dims struct{ in, k, s, d, pb, pe []int }
	shapes := []struct {
		name string
		g    dims
		ceil bool
	}{
		{"1d", dims{[]int{11}, []int{2}, []int{1}, []int{1}, []int{0}, []int{0}}, false},
		{"1d-stride-pad-dil", dims{[]int{23}, []int{4}, []int{3}, []int{2}, []int{2}, []int{3}}, true},
		{"2d", dims{[]int{7, 9}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{0, 0}, []int{0, 0}}, true},
		{"2d-pads", dims{[]int{5, 6}, []int{3, 4}, []int{1, 2}, []int{1, 1}, []int{2, 1}, []int{1, 2}}, false},
		{"2d-dil", dims{[]int{9, 8}, []int{2, 3}, []int{1, 2}, []int{2, 3}, []int{1, 0}, []int{0, 1}}, true},
		{"2d-wide-3x3s2", dims{[]int{6, 37}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{1, 1}, []int{1, 1}}, true},
		{"2d-wide-2x2s2", dims{[]int{4, 40}, []int{2, 2}, []int{2, 2}, []int{1, 1}, []int{0, 0}, []int{0, 0}}, false},
		{"2d-3x3s2-ceil-111", dims{[]int{7, 111}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{0, 0}, []int{0, 0}}, true},
		{"2d-3x3s2-ceil-partial", dims{[]int{8, 56}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{0, 0}, []int{0, 0}}, true},
		{"2d-3x3s2-pads-13", dims{[]int{13, 13}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{1, 1}, []int{1, 1}}, false},
		{"2d-3x3s2-one-window", dims{[]int{3, 3}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{0, 0}, []int{0, 0}}, false},
		{"2d-2x3s2-dil-rows", dims{[]int{9, 70}, []int{2, 3}, []int{3, 2}, []int{2, 1}, []int{1, 1}, []int{0, 2}}, true},
		{"2d-1x2s2-33", dims{[]int{2, 66}, []int{1, 2}, []int{1, 2}, []int{1, 1}, []int{0, 0}, []int{0, 0}}, false},
		{"2d-2x2s2-odd-ceil", dims{[]int{5, 35}, []int{2, 2}, []int{2, 2}, []int{1, 1}, []int{0, 0}, []int{0, 0}}, true},
		{"2d-kernel-covers-pad", dims{[]int{3, 3}, []int{5, 5}, []int{3, 3}, []int{1, 1}, []int{2, 2}, []int{2, 2}}, true},
		{"3d", dims{[]int{4, 5, 6}, []int{2, 2, 2}, []int{2, 2, 2}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1}}, true},
		{"3d-mixed", dims{[]int{7, 5, 9}, []int{3, 2, 3}, []int{1, 2, 3}, []int{1, 2, 1}, []int{1, 0, 2}, []int{0, 1, 2}}, false},
		{"4d", dims{[]int{4, 3, 5, 4}, []int{2, 2, 3, 2}, []int{1, 2, 2, 1}, []int{1, 1, 1, 2}, []int{1, 0, 1, 1}, []int{0, 1, 1, 0}}, true},
	}
	for _, sh := range shapes {
		for _, kind := range []PoolKind{PoolMax, PoolAvg} {
			for _, incl := range []bool{false, true} {
				if kind == PoolMax && incl {
					continue
				}
				for _, cfg := range []Config{{}, Generic} {
					name := fmt.Sprintf("%s/%s/incl=%v/generic=%v", sh.name, kind, incl, cfg == Generic)
					t.Run(name, func(t *testing.T) {
						g := sh.g
						out := make([]int, len(g.in))
						for d := range out {
							out[d] = poolOut(g.in[d], g.k[d], g.s[d], g.d[d], g.pb[d], g.pe[d], sh.ceil)
						}
						p := PoolParams{Kind: kind, In: g.in, Out: out, Kernel: g.k, Strides: g.s, Dilations: g.d, PadsBegin: g.pb, PadsEnd: g.pe, CountIncludePad: incl}
						k, err := NewPooling(cfg, p)
						if err != nil {
							t.Fatal(err)
						}
						const planes = 5
						inSize, outSize := ndProd(g.in), ndProd(out)
						x := ndRandSlice(rng, planes*inSize)
						y := make([]float32, planes*outSize)
						yn := make([]float32, planes*outSize)
						idx := make([]int64, planes*outSize)
						idxn := make([]int64, planes*outSize)
						pool := NewPool(2)
						defer pool.Close()
						var ix, ixn []int64
						if kind == PoolMax {
							ix, ixn = idx, idxn
						}
						k.Run(pool, planes, x, y, ix)
						// Without indices (the row pass for rank ≤ 3).
						yr := make([]float32, planes*outSize)
						k.Run(pool, planes, x, yr, nil)
						// The N-D odometer path on the same parameters.
						for c := 0; c < planes; c++ {
							var di []int64
							if ixn != nil {
								di = ixn[c*outSize : (c+1)*outSize]
							}
							k.planeND(x[c*inSize:(c+1)*inSize], yn[c*outSize:(c+1)*outSize], di)
						}
						for c := 0; c < planes; c++ {
							want, wantIdx := refPool(p, x[c*inSize:(c+1)*inSize])
							for i, v := range want {
								j := c*outSize + i
								for _, got := range []float32{y[j], yn[j], yr[j]} {
									if math.IsInf(v, -1) || math.IsNaN(v) {
										if float64(got) != v && !(math.IsNaN(v) && math.IsNaN(float64(got))) {
											t.Fatalf("%s plane %d y[%d] = %v, want %v", k.Kernel(), c, i, got, v)
										}
										continue
									}
									if math.Abs(float64(got)-v) > 1e-6+1e-5*math.Abs(v) {
										t.Fatalf("%s plane %d y[%d] = %v, want %v", k.Kernel(), c, i, got, v)
									}
								}
								if kind == PoolMax && (idx[j] != wantIdx[i] || idxn[j] != wantIdx[i]) {
									t.Fatalf("plane %d idx[%d] = %d/%d, want %d", c, i, idx[j], idxn[j], wantIdx[i])
								}
							}
						}
					})
				}
			}
		}
	}
}

func TestPoolingValidate(t *testing.T) {
	ok := PoolParams{Kind: PoolMax, In: []int{5, 5}, Out: []int{3, 3}, Kernel: []int{3, 3}, Strides: []int{1, 1}, Dilations: []int{1, 1}, PadsBegin: []int{0, 0}, PadsEnd: []int{0, 0}}
	if _, err := NewPooling(Config{}, ok); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(p *PoolParams){
		"no dims": func(p *PoolParams) {
			p.In, p.Out, p.Kernel, p.Strides, p.Dilations, p.PadsBegin, p.PadsEnd = nil, nil, nil, nil, nil, nil, nil
		},
		"rank":        func(p *PoolParams) { p.Kernel = []int{3} },
		"kind":        func(p *PoolParams) { p.Kind = 7 },
		"zero out":    func(p *PoolParams) { p.Out = []int{0, 3} },
		"zero stride": func(p *PoolParams) { p.Strides = []int{1, 0} },
		"neg pad":     func(p *PoolParams) { p.PadsBegin = []int{-1, 0} },
	}
	for name, mut := range bad {
		t.Run(name, func(t *testing.T) {
			p := ok
			mut(&p)
			if _, err := NewPooling(Config{}, p); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func BenchmarkPooling(b *testing.B) {
	shapes := []struct {
		name             string
		c, h, w, k, s, p int
		ceil             bool
	}{
		{"64x32x32-k3s2-ceil", 64, 32, 32, 3, 2, 0, true},   // fmnist SqueezeNet /3
		{"128x16x16-k3s2-ceil", 128, 16, 16, 3, 2, 0, true}, // /6
		{"256x8x8-k3s2-ceil", 256, 8, 8, 3, 2, 0, true},     // /9
		{"64x111x111-k3s2", 64, 111, 111, 3, 2, 0, false},   // SqueezeNet 1.1 features.2
		{"128x55x55-k3s2", 128, 55, 55, 3, 2, 0, false},     // features.5
		{"256x27x27-k3s2", 256, 27, 27, 3, 2, 0, false},     // features.8
		{"64x112x112-k3s2p1", 64, 112, 112, 3, 2, 1, false}, // ResNet-18 stem pool
		{"64x224x224-k2s2", 64, 224, 224, 2, 2, 0, false},   // VGG-16 first pool
	}
	for _, sh := range shapes {
		for _, kind := range []PoolKind{PoolMax, PoolAvg} {
			oh := poolOut(sh.h, sh.k, sh.s, 1, sh.p, sh.p, sh.ceil)
			ow := poolOut(sh.w, sh.k, sh.s, 1, sh.p, sh.p, sh.ceil)
			p := PoolParams{Kind: kind, In: []int{sh.h, sh.w}, Out: []int{oh, ow}, Kernel: []int{sh.k, sh.k},
				Strides: []int{sh.s, sh.s}, Dilations: []int{1, 1}, PadsBegin: []int{sh.p, sh.p}, PadsEnd: []int{sh.p, sh.p}}
			k, err := NewPooling(Config{}, p)
			if err != nil {
				b.Fatal(err)
			}
			x := ndRandSlice(rand.New(rand.NewPCG(1, 1)), sh.c*sh.h*sh.w)
			y := make([]float32, sh.c*oh*ow)
			b.Run(k.Kernel()+"/"+sh.name, func(b *testing.B) {
				for b.Loop() {
					k.Run(nil, sh.c, x, y, nil)
				}
				b.ReportMetric(float64(len(x))*4*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}

func TestPoolingNaN(t *testing.T) {
	// 1×6 plane, kernel 3, stride 3: window 0 holds a NaN, window 1 none.
	x := []float32{1, float32(math.NaN()), 5, 2, 7, 3}
	for _, kind := range []PoolKind{PoolMax, PoolAvg} {
		k, err := NewPooling(Config{}, PoolParams{Kind: kind, In: []int{1, 6}, Out: []int{1, 2}, Kernel: []int{1, 3},
			Strides: []int{1, 3}, Dilations: []int{1, 1}, PadsBegin: []int{0, 0}, PadsEnd: []int{0, 0}})
		if err != nil {
			t.Fatal(err)
		}
		y, yi := make([]float32, 2), make([]float32, 2)
		idx := make([]int64, 2)
		k.Run(nil, 1, x, y, nil)
		if kind == PoolMax {
			k.Run(nil, 1, x, yi, idx)
			if !math.IsNaN(float64(yi[0])) || idx[0] != 1 || yi[1] != 7 || idx[1] != 4 {
				t.Errorf("max with indices: %v %v", yi, idx)
			}
		}
		want1 := float32(7)
		if kind == PoolAvg {
			want1 = 4
		}
		if !math.IsNaN(float64(y[0])) || y[1] != want1 {
			t.Errorf("%s: %v, want [NaN %v]", kind, y, want1)
		}
	}
}

// 2×2 max pooling with stride 2 of a 4×4 plane, with the row-major
// position of each maximum.
func ExampleNewPooling() {
	p := PoolParams{Kind: PoolMax, In: []int{4, 4}, Out: []int{2, 2}, Kernel: []int{2, 2}, Strides: []int{2, 2},
		Dilations: []int{1, 1}, PadsBegin: []int{0, 0}, PadsEnd: []int{0, 0}}
	k, err := NewPooling(Config{}, p)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := []float32{
		1, 2, 0, 0,
		3, 4, 0, 9,
		5, 0, 1, 1,
		0, 6, 1, 2,
	}
	y, idx := make([]float32, 4), make([]int64, 4)
	k.Run(nil, 1, x, y, idx)
	fmt.Println(y, idx)
	// Output: [4 9 6 2] [5 7 13 15]
}

// The mean of each of two planes.
func ExampleGlobalPool() {
	out := make([]float32, 2)
	GlobalPool(nil, PoolAvg, 2, 3, []float32{1, 2, 3, 10, 20, 30}, out)
	fmt.Println(out)
	// Output: [2 20]
}
