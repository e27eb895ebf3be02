package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDconvMicro compares every indirect-A micro-kernel (and its
// grouped variant) with a float64 reference on random planes, scattered
// positions and offsets, every row count, column tails and epilogue
// flags; C is poisoned around the tile, and lanes outside the rows and
// mask must stay untouched.
func TestDconvMicro(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	src := randSlice(r, 5000)
	type variant struct {
		d     *dconvKernel
		micro dconvFn
		grp   int
		ks    []int
	}
	var vs []variant
	for _, d := range dconvKernels {
		if !(Config{}).Allows(d.requires) {
			continue
		}
		vs = append(vs, variant{d, d.micro, 1, []int{1, 3, 4, 7, 37}})
		if d.micro3 != nil {
			vs = append(vs, variant{d, d.micro3, 3, []int{3, 6, 9, 21, 39}})
		}
	}
	for _, vr := range vs {
		d := vr.d
		for _, k := range vr.ks {
			for mr := 1; mr <= d.mr; mr++ {
				for _, nc := range []int{1, 15, 16, 17, d.nr - 1, d.nr} {
					if nc < 1 || nc > d.nr {
						continue
					}
					for _, flags := range []int{0, flagAcc, flagRowBias | flagColBias | flagClamp, flagAcc | flagColBias} {
						name := fmt.Sprintf("%s/g%d/k%d/mr%d/nc%d/f%d", d.name, vr.grp, k, mr, nc, flags)
						pos := make([]int, d.mr)
						for i := range pos {
							pos[i] = r.IntN(2000)
						}
						offs := make([]int, k/vr.grp)
						for l := range offs {
							offs[l] = r.IntN(2900)
						}
						b := randSlice(r, k*d.nr)
						rb, cb := randSlice(r, d.mr), randSlice(r, d.nr)
						ldc := d.nr + 3
						c := nanSlice(d.mr * ldc)
						for i := 0; i < mr; i++ {
							for j := 0; j < nc; j++ {
								c[i*ldc+j] = float32(r.NormFloat64())
							}
						}
						c0 := slices.Clone(c)
						mask := ^uint64(0) >> uint(64-nc)
						lo, hi := float32(-0.5), float32(0.5)
						vr.micro(k, &src[0], &pos[0], &b[0], &offs[0], &c[0], ldc, mr, mask, flags, &rb[0], &cb[0], lo, hi)
						for i := 0; i < d.mr; i++ {
							for j := 0; j < ldc; j++ {
								got := c[i*ldc+j]
								if i >= mr || j >= nc {
									if !math.IsNaN(float64(got)) && !(got == c0[i*ldc+j]) {
										t.Fatalf("%s: wrote (%d,%d) outside the tile", name, i, j)
									}
									continue
								}
								var v, sa float64
								for l := 0; l < k; l++ {
									x := float64(src[pos[i]+offs[l/vr.grp]+l%vr.grp]) * float64(b[l*d.nr+j])
									v += x
									sa += math.Abs(x)
								}
								if flags&flagAcc != 0 {
									v += float64(c0[i*ldc+j])
								}
								if flags&flagRowBias != 0 {
									v += float64(rb[i])
								}
								if flags&flagColBias != 0 {
									v += float64(cb[j])
								}
								if flags&flagClamp != 0 {
									v = math.Min(math.Max(v, float64(lo)), float64(hi))
								}
								if !close32(got, v, sa+1) {
									t.Fatalf("%s: c[%d][%d] = %v, want %v", name, i, j, got, v)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestDconvTranspose compares the 16×16 copy-out kernels with
// transposeGeneric for every column count and row mask.
func TestDconvTranspose(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, d := range dconvKernels {
		if d.transpose16 == nil || !(Config{}).Allows(d.requires) {
			continue
		}
		const lds, ldd = 21, 19
		src := randSlice(r, 16*lds)
		for ncols := 1; ncols <= 16; ncols++ {
			for nrows := 1; nrows <= 16; nrows++ {
				got, want := nanSlice(16*ldd), nanSlice(16*ldd)
				d.transpose16(&got[0], ldd, &src[0], lds, ncols, uint64(1)<<uint(nrows)-1)
				transposeGeneric(want, ldd, src, lds, ncols, nrows)
				for i := range got {
					if !(got[i] == want[i] || math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
						t.Fatalf("%s ncols %d nrows %d: dst[%d] = %v, want %v", d.name, ncols, nrows, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// dconvCases are layer shapes for the indirect-A path: odd sizes and
// tails of positions (not multiples of 6 or 48) and channels (not
// multiples of 16 or 64), strides, dilation, asymmetric padding,
// groups, several K blocks.
var dconvCases = []benchLayer{
	{"3x3-s1", convCase(3, 17, 19, 16, 3, 1, 1, 1, 1)},
	{"3x3-s1-tails", convCase(32, 12, 13, 70, 3, 1, 1, 1, 1)},
	{"3x3-s1-130", convCase(20, 9, 11, 130, 3, 1, 1, 1, 1)},
	{"3x3-s2", convCase(9, 15, 17, 33, 3, 2, 1, 1, 1)},
	{"3x3-s3-dil2", convCase(6, 20, 17, 10, 3, 3, 2, 2, 1)},
	{"5x5-s2-odd", convCase(5, 11, 13, 9, 5, 2, 2, 1, 1)},
	{"7x7-s2-p3", convCase(3, 32, 30, 65, 7, 2, 3, 1, 1)},
	{"5x5-valid", convCase(4, 9, 9, 6, 5, 1, 0, 1, 1)},
	{"3x3-s2-valid-grouped", convCase(8, 13, 12, 10, 3, 2, 0, 1, 2)},
	{"grouped", convCase(8, 10, 9, 12, 3, 1, 1, 1, 4)},
	{"grouped-wide", convCase(32, 8, 9, 136, 3, 1, 1, 1, 2)},
	{"1px", convCase(7, 1, 1, 1, 3, 1, 1, 1, 1)},
	{"asym", ConvParams{InC: 3, InH: 10, InW: 12, OutC: 5, KH: 3, KW: 2, StrideH: 2, StrideW: 1, DilH: 1, DilW: 2, PadTop: 1, PadLeft: 0, PadBottom: 2, PadRight: 1, Group: 1}},
	{"kblocks", convCase(350, 6, 7, 20, 3, 1, 1, 1, 1)},
	{"kblocks-dil2", convCase(350, 6, 7, 20, 3, 1, 2, 2, 1)},
	{"1x3", ConvParams{InC: 9, InH: 11, InW: 13, OutC: 70, KH: 1, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 0, PadLeft: 1, PadBottom: 0, PadRight: 1, Group: 1}},
	{"3x1", ConvParams{InC: 9, InH: 11, InW: 13, OutC: 70, KH: 3, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 0, PadBottom: 1, PadRight: 0, Group: 1}},
}

// TestConvDirectA runs the indirect-A path with the selected kernel and
// with the generic twin against the float64 reference, on one and two
// threads, into poisoned outputs and workspaces.
func TestConvDirectA(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	pool := NewPool(2)
	defer pool.Close()
	kernels := []*dconvKernel{nil, dconvGeneric} // nil: selectDconv's choice
	defer func() { dconvTestKernel = nil }()
	acts := []Activation{{}, {Kind: ActRelu}, {Kind: ActClip, Min: -0.5, Max: 0.5}}
	for ci, tc := range dconvCases {
		for _, dk := range kernels {
			dconvTestKernel = dk
			if selectDconv(Config{}) == nil {
				continue // no assembly kernel in this build
			}
			for ai, act := range acts {
				p := tc.p
				p.Act = act
				batch := 1 + ci%2
				x := randSlice(r, batch*p.InC*p.InH*p.InW)
				w := randSlice(r, p.OutC*(p.InC/p.Group)*p.KH*p.KW)
				var b []float32
				if ai != 1 {
					b = randSlice(r, p.OutC)
				}
				c, err := NewConv2D(Config{NoWinograd: true}, p, w, b)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				name := fmt.Sprintf("%s/%s/act%d", tc.name, c.Kernel(), ai)
				if c.algo != convDirectA || !contains(c.Kernel(), selectDconv(Config{}).name) {
					t.Fatalf("%s: not the indirect-A path", name)
				}
				want, scale := refConv2D(p, batch, x, w, b)
				const guard = 9
				for _, pl := range []*Pool{nil, pool} {
					out := nanSlice(guard + len(want) + guard)
					c.Run(pl, batch, x, out[guard:guard+len(want)], nanSlice(c.WorkspaceLen()))
					checkGuarded(t, fmt.Sprintf("%s T%d", name, pl.Threads()), out, guard, want, scale)
				}
			}
		}
	}
}

// TestConvDirectASelect checks the plan-time choice: the assembly kernel
// only where its ISA is allowed, never under ForceGeneric, not for 1×1
// convs, and Winograd kept only for wide layers.
func TestConvDirectASelect(t *testing.T) {
	p := convCase(64, 56, 56, 64, 3, 1, 1, 1, 1)
	kernelOf := func(cfg Config, p ConvParams) string {
		c, err := NewConv2D(cfg, p, make([]float32, p.OutC*p.InC/p.Group*p.KH*p.KW), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Kernel()
	}
	d := selectDconv(Config{})
	if d == nil {
		t.Skip("no indirect-A assembly kernel in this build")
	}
	if got := kernelOf(Config{}, p); got != "f32-conv3x3s1-"+d.name {
		t.Errorf("64→64 at 56²: kernel %q, want the indirect-A path", got)
	}
	if got := kernelOf(Config{Disabled: d.requires}, p); contains(got, d.name) {
		t.Errorf("with %v disabled: kernel %q", d.requires, got)
	}
	if got := kernelOf(Generic, p); contains(got, d.name) {
		t.Errorf("Generic: kernel %q", got)
	}
	func() {
		defer ForceGeneric()()
		if got := kernelOf(Config{}, p); contains(got, d.name) {
			t.Errorf("ForceGeneric: kernel %q", got)
		}
	}()
	for _, tc := range []struct {
		p   ConvParams
		grp int
	}{{p, 3}, {convCase(8, 9, 9, 8, 3, 1, 2, 2, 1), 1}, {convCase(8, 9, 9, 8, 5, 1, 2, 1, 1), 1}} {
		c, err := NewConv2D(Config{}, tc.p, make([]float32, tc.p.OutC*tc.p.InC*tc.p.KH*tc.p.KW), nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: tc.grp, false: 1}[d.micro3 != nil]; c.dGrp != want {
			t.Errorf("%d×%d dilation %d: %d K steps per offset, want %d", tc.p.KH, tc.p.KW, tc.p.DilW, c.dGrp, want)
		}
	}
	if got := kernelOf(Config{}, convCase(64, 9, 9, 64, 1, 2, 0, 1, 1)); contains(got, d.name) {
		t.Errorf("1×1 s2: kernel %q", got)
	}
	if archWino != nil {
		if got := kernelOf(Config{}, convCase(128, 56, 56, 128, 3, 1, 1, 1, 1)); !contains(got, "winograd") {
			t.Errorf("128→128 at 56²: kernel %q, want Winograd", got)
		}
	}
}

// checkGuarded fails t unless out, a result with guard NaN cells on each
// side, matches want within the reference's scale and the guard cells
// are untouched.
func checkGuarded(t *testing.T, name string, out []float32, guard int, want, scale []float64) {
	t.Helper()
	for i, v := range out {
		j := i - guard
		if j < 0 || j >= len(want) {
			if !math.IsNaN(float64(v)) {
				t.Fatalf("%s: wrote outside the output at %d", name, j)
			}
			continue
		}
		if !close32(v, want[j], scale[j]) {
			t.Fatalf("%s: out[%d] = %v, want %v", name, j, v, want[j])
		}
	}
}
