package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refConvND is the direct float64 definition of an N-D convolution of
// batch images.
func refConvND(p ConvNDParams, batch int, x, w, b []float32) []float64 {
	nd := len(p.In)
	out := p.Out()
	inSize, outSize, kSize := ndProd(p.In), ndProd(out), ndProd(p.Kernel)
	cg, kg := p.InC/p.Group, p.OutC/p.Group
	y := make([]float64, batch*p.OutC*outSize)
	o := make([]int, nd)
	t := make([]int, nd)
	for n := 0; n < batch; n++ {
		for m := 0; m < p.OutC; m++ {
			g := m / kg
			for oi := 0; oi < outSize; oi++ {
				rem := oi
				for d := nd - 1; d >= 0; d-- {
					o[d] = rem % out[d]
					rem /= out[d]
				}
				var s float64
				if b != nil {
					s = float64(b[m])
				}
				for c := 0; c < cg; c++ {
					for ti := 0; ti < kSize; ti++ {
						rem := ti
						for d := nd - 1; d >= 0; d-- {
							t[d] = rem % p.Kernel[d]
							rem /= p.Kernel[d]
						}
						off, ok := 0, true
						for d := 0; d < nd; d++ {
							v := o[d]*p.Strides[d] - p.PadsBegin[d] + t[d]*p.Dilations[d]
							if v < 0 || v >= p.In[d] {
								ok = false
								break
							}
							off = off*p.In[d] + v
						}
						if !ok {
							continue
						}
						xv := x[(n*p.InC+g*cg+c)*inSize+off]
						wv := w[(m*cg+c)*kSize+ti]
						s += float64(xv) * float64(wv)
					}
				}
				y[(n*p.OutC+m)*outSize+oi] = float64(p.Act.Apply(float32(s)))
			}
		}
	}
	return y
}

func ndRandSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

func TestConvND(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	relu := Activation{Kind: ActRelu}
	clip := Activation{Kind: ActClip, Min: -0.25, Max: 0.5}
	cases := []struct {
		name  string
		p     ConvNDParams
		batch int
		bias  bool
	}{
		{"1d", ConvNDParams{InC: 3, OutC: 5, Group: 1, In: []int{11}, Kernel: []int{3}, Strides: []int{1}, Dilations: []int{1}, PadsBegin: []int{0}, PadsEnd: []int{0}}, 2, true},
		{"1d-pad-stride-dil", ConvNDParams{InC: 4, OutC: 6, Group: 2, In: []int{13}, Kernel: []int{3}, Strides: []int{2}, Dilations: []int{2}, PadsBegin: []int{2}, PadsEnd: []int{1}}, 1, true},
		{"1d-pointwise", ConvNDParams{InC: 7, OutC: 3, Group: 1, In: []int{9}, Kernel: []int{1}, Strides: []int{1}, Dilations: []int{1}, PadsBegin: []int{0}, PadsEnd: []int{0}}, 3, false},
		{"1d-kernel-larger-than-input-padded", ConvNDParams{InC: 2, OutC: 2, Group: 1, In: []int{2}, Kernel: []int{5}, Strides: []int{1}, Dilations: []int{1}, PadsBegin: []int{2}, PadsEnd: []int{2}}, 1, true},
		{"2d-asym-pad", ConvNDParams{InC: 3, OutC: 4, Group: 1, In: []int{7, 9}, Kernel: []int{3, 2}, Strides: []int{2, 1}, Dilations: []int{1, 2}, PadsBegin: []int{1, 0}, PadsEnd: []int{0, 2}, Act: relu}, 2, true},
		{"2d-depthwise", ConvNDParams{InC: 5, OutC: 10, Group: 5, In: []int{6, 5}, Kernel: []int{3, 3}, Strides: []int{1, 1}, Dilations: []int{1, 1}, PadsBegin: []int{1, 1}, PadsEnd: []int{1, 1}, Act: clip}, 1, true},
		{"2d-pointwise-stride", ConvNDParams{InC: 3, OutC: 4, Group: 1, In: []int{7, 7}, Kernel: []int{1, 1}, Strides: []int{2, 2}, Dilations: []int{1, 1}, PadsBegin: []int{0, 0}, PadsEnd: []int{0, 0}}, 1, true},
		{"3d", ConvNDParams{InC: 2, OutC: 3, Group: 1, In: []int{5, 6, 7}, Kernel: []int{2, 3, 4}, Strides: []int{1, 1, 1}, Dilations: []int{1, 1, 1}, PadsBegin: []int{0, 0, 0}, PadsEnd: []int{0, 0, 0}}, 2, true},
		{"3d-all", ConvNDParams{InC: 4, OutC: 6, Group: 2, In: []int{7, 6, 9}, Kernel: []int{3, 2, 3}, Strides: []int{2, 1, 3}, Dilations: []int{2, 1, 2}, PadsBegin: []int{1, 0, 2}, PadsEnd: []int{2, 1, 0}, Act: relu}, 1, false},
		{"4d", ConvNDParams{InC: 2, OutC: 2, Group: 1, In: []int{3, 4, 3, 5}, Kernel: []int{2, 2, 1, 3}, Strides: []int{1, 2, 1, 2}, Dilations: []int{1, 1, 2, 1}, PadsBegin: []int{1, 0, 1, 1}, PadsEnd: []int{0, 1, 1, 1}}, 1, true},
	}
	for _, tc := range cases {
		for _, cfg := range []struct {
			name string
			cfg  Config
		}{{"detected", Config{}}, {"generic", Generic}} {
			t.Run(fmt.Sprintf("%s/%s", tc.name, cfg.name), func(t *testing.T) {
				p := tc.p
				out := p.Out()
				x := ndRandSlice(rng, tc.batch*p.InC*ndProd(p.In))
				w := ndRandSlice(rng, p.OutC*(p.InC/p.Group)*ndProd(p.Kernel))
				var b []float32
				if tc.bias {
					b = ndRandSlice(rng, p.OutC)
				}
				xc := append([]float32(nil), x...)
				c, err := NewConvND(cfg.cfg, p, w, b)
				if err != nil {
					t.Fatal(err)
				}
				ylen := tc.batch * p.OutC * ndProd(out)
				y := make([]float32, ylen+8)
				for i := range y {
					y[i] = float32(math.NaN())
				}
				ws := make([]float32, c.WorkspaceLen())
				pool := NewPool(2)
				defer pool.Close()
				c.Run(pool, tc.batch, x, y[:ylen], ws)
				want := refConvND(p, tc.batch, x, w, b)
				for i, v := range want {
					if d := math.Abs(float64(y[i]) - v); d > 1e-5+1e-4*math.Abs(v) {
						t.Fatalf("%s: y[%d] = %v, want %v", c.Kernel(), i, y[i], v)
					}
				}
				for i := ylen; i < len(y); i++ {
					if !math.IsNaN(float64(y[i])) {
						t.Fatalf("guard y[%d] overwritten", i)
					}
				}
				for i := range x {
					if x[i] != xc[i] {
						t.Fatalf("input modified at %d", i)
					}
				}
				if got, want := c.Params().MACs(), int64(p.OutC*ndProd(out)*(p.InC/p.Group)*ndProd(p.Kernel)); got != want {
					t.Errorf("MACs = %d, want %d", got, want)
				}
			})
		}
	}
}

func TestConvNDMatchesConv2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p2 := ConvParams{InC: 6, InH: 9, InW: 8, OutC: 4, KH: 3, KW: 2, StrideH: 2, StrideW: 1, DilH: 1, DilW: 2, PadTop: 1, PadLeft: 0, PadBottom: 2, PadRight: 1, Group: 2}
	pn := ConvNDParams{InC: 6, OutC: 4, Group: 2, In: []int{9, 8}, Kernel: []int{3, 2}, Strides: []int{2, 1}, Dilations: []int{1, 2}, PadsBegin: []int{1, 0}, PadsEnd: []int{2, 1}}
	x := ndRandSlice(rng, 2*6*9*8)
	w := ndRandSlice(rng, 4*3*3*2)
	b := ndRandSlice(rng, 4)
	c2, err := NewConv2D(Config{}, p2, w, b)
	if err != nil {
		t.Fatal(err)
	}
	cn, err := NewConvND(Config{}, pn, w, b)
	if err != nil {
		t.Fatal(err)
	}
	if o := cn.OutShape(); o[0] != p2.OutH() || o[1] != p2.OutW() {
		t.Fatalf("out shape %v, want %d×%d", o, p2.OutH(), p2.OutW())
	}
	n := 2 * 4 * p2.OutH() * p2.OutW()
	y2, yn := make([]float32, n), make([]float32, n)
	c2.Run(nil, 2, x, y2, make([]float32, c2.WorkspaceLen()))
	cn.Run(nil, 2, x, yn, make([]float32, cn.WorkspaceLen()))
	for i := range y2 {
		if math.Abs(float64(y2[i]-yn[i])) > 1e-5 {
			t.Fatalf("y[%d]: conv2d %v, convnd %v", i, y2[i], yn[i])
		}
	}
}

func TestConvNDValidate(t *testing.T) {
	ok := ConvNDParams{InC: 4, OutC: 4, Group: 2, In: []int{5}, Kernel: []int{3}, Strides: []int{1}, Dilations: []int{1}, PadsBegin: []int{0}, PadsEnd: []int{0}}
	bad := map[string]func(p *ConvNDParams){
		"no dims":        func(p *ConvNDParams) { p.In = nil },
		"kernel rank":    func(p *ConvNDParams) { p.Kernel = []int{3, 3} },
		"group":          func(p *ConvNDParams) { p.Group = 3 },
		"zero stride":    func(p *ConvNDParams) { p.Strides = []int{0} },
		"negative pad":   func(p *ConvNDParams) { p.PadsEnd = []int{-1} },
		"empty output":   func(p *ConvNDParams) { p.Kernel = []int{7} },
		"zero channels":  func(p *ConvNDParams) { p.InC = 0 },
		"zero dilation":  func(p *ConvNDParams) { p.Dilations = []int{0} },
		"zero input dim": func(p *ConvNDParams) { p.In = []int{0} },
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range bad {
		t.Run(name, func(t *testing.T) {
			p := ok
			mut(&p)
			if err := p.Validate(); err == nil {
				t.Fatal("no error")
			}
			if _, err := NewConvND(Config{}, p, make([]float32, 24), nil); err == nil {
				t.Fatal("NewConvND: no error")
			}
		})
	}
	if _, err := NewConvND(Config{}, ok, make([]float32, 5), nil); err == nil {
		t.Fatal("short weight accepted")
	}
	if _, err := NewConvND(Config{}, ok, make([]float32, 24), make([]float32, 3)); err == nil {
		t.Fatal("short bias accepted")
	}
}

// A 1-D convolution: one input channel [1 2 3 4 5], one filter [1 0 −1]
// with a zero pad on each side and a bias of 10.
func ExampleNewConvND() {
	p := ConvNDParams{InC: 1, OutC: 1, Group: 1, In: []int{5}, Kernel: []int{3}, Strides: []int{1},
		Dilations: []int{1}, PadsBegin: []int{1}, PadsEnd: []int{1}}
	c, err := NewConvND(Generic, p, []float32{1, 0, -1}, []float32{10})
	if err != nil {
		fmt.Println(err)
		return
	}
	out := make([]float32, 5)
	c.Run(nil, 1, []float32{1, 2, 3, 4, 5}, out, make([]float32, c.WorkspaceLen()))
	fmt.Println(c.OutShape(), out)
	// Output: [5] [8 8 8 8 14]
}
