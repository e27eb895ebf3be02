package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refConv2D is a direct float64 convolution (with bias and activation).
func refConv2D(p ConvParams, batch int, x, w, b []float32) (out, scale []float64) {
	oh, ow := p.OutH(), p.OutW()
	cg, kg := p.InC/p.Group, p.OutC/p.Group
	out = make([]float64, batch*p.OutC*oh*ow)
	scale = make([]float64, len(out))
	for n := 0; n < batch; n++ {
		for oc := 0; oc < p.OutC; oc++ {
			g := oc / kg
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s, sa float64
					if b != nil {
						s = float64(b[oc])
						sa = math.Abs(s)
					}
					for ic := 0; ic < cg; ic++ {
						for ky := 0; ky < p.KH; ky++ {
							iy := oy*p.StrideH - p.PadTop + ky*p.DilH
							if iy < 0 || iy >= p.InH {
								continue
							}
							for kx := 0; kx < p.KW; kx++ {
								ix := ox*p.StrideW - p.PadLeft + kx*p.DilW
								if ix < 0 || ix >= p.InW {
									continue
								}
								v := float64(x[((n*p.InC+g*cg+ic)*p.InH+iy)*p.InW+ix]) * float64(w[((oc*cg+ic)*p.KH+ky)*p.KW+kx])
								s += v
								sa += math.Abs(v)
							}
						}
					}
					switch p.Act.Kind {
					case ActRelu:
						s = math.Max(s, 0)
					case ActClip:
						s = math.Min(math.Max(s, float64(p.Act.Min)), float64(p.Act.Max))
					}
					i := ((n*p.OutC+oc)*oh+oy)*ow + ox
					out[i], scale[i] = s, sa+1
				}
			}
		}
	}
	return out, scale
}

// convCase builds ConvParams from a compact description.
func convCase(inC, h, w, outC, k, stride, pad, dil, group int) ConvParams {
	return ConvParams{InC: inC, InH: h, InW: w, OutC: outC, KH: k, KW: k, StrideH: stride, StrideW: stride,
		DilH: dil, DilW: dil, PadTop: pad, PadLeft: pad, PadBottom: pad, PadRight: pad, Group: group}
}

var convCases = []struct {
	name string
	p    ConvParams
	algo string // substring of Kernel() under Config{}
}{
	{"1x1", convCase(16, 7, 9, 24, 1, 1, 0, 1, 1), "conv1x1-"},
	{"1x1-wide", convCase(64, 14, 14, 70, 1, 1, 0, 1, 1), "conv1x1-gemm"},
	{"1x1-s2", convCase(8, 9, 9, 12, 1, 2, 0, 1, 1), "conv1x1s2-subsample"},
	{"1x1-s3x2", ConvParams{InC: 7, InH: 14, InW: 11, OutC: 9, KH: 1, KW: 1, StrideH: 3, StrideW: 2, DilH: 1, DilW: 1, Group: 1}, "conv1x1s3x2-subsample"},
	{"1x1-s3", convCase(5, 10, 13, 6, 1, 3, 0, 1, 1), "conv1x1s3-subsample"},
	{"1x1-s2-grouped", convCase(8, 9, 10, 12, 1, 2, 0, 1, 2), "conv1x1s2-subsample"},
	// Enough pixels that the subsampling runs on the pool.
	{"1x1-s2-par", convCase(40, 30, 29, 70, 1, 2, 0, 1, 1), "conv1x1s2-subsample"},
	// One column panel: the GEMM would split rows, the conv runs serial.
	{"1x1-serial", convCase(48, 4, 4, 192, 1, 1, 0, 1, 1), "conv1x1-gemm"},
	{"1x1-pad", convCase(8, 5, 5, 12, 1, 1, 1, 1, 1), "conv1x1s1-igemm"},
	{"3x3-s1-p1", convCase(3, 17, 19, 16, 3, 1, 1, 1, 1), "conv3x3s1-"},
	{"3x3-s1-p1-wide", convCase(32, 12, 12, 64, 3, 1, 1, 1, 1), "conv3x3s1-"},
	{"3x3-s2-p1", convCase(8, 15, 16, 20, 3, 2, 1, 1, 1), "conv3x3s2-"},
	{"3x3-s3-dil2", convCase(6, 20, 17, 10, 3, 3, 2, 2, 1), "conv3x3s3-"},
	{"5x5-s2-odd", convCase(5, 11, 13, 9, 5, 2, 2, 1, 1), "conv5x5s2-"},
	{"3x3-s2-wide", convCase(16, 34, 33, 24, 3, 2, 1, 1, 1), "conv3x3s2-"},
	{"3x3-dil2", convCase(5, 13, 11, 7, 3, 1, 2, 2, 1), "conv3x3s1-"},
	// Strided with more than 64 output channels: B packed from the
	// phase planes (odd widths, odd and even pads, one used phase).
	{"3x3-s2-packed", convCase(9, 15, 17, 70, 3, 2, 1, 1, 1), "conv3x3s2-"},
	{"3x3-s2-dil2-packed", convCase(6, 19, 18, 72, 3, 2, 2, 2, 1), "conv3x3s2-"},
	{"3x3-s3-packed", convCase(5, 20, 23, 66, 3, 3, 1, 1, 1), "conv3x3s3-"},
	{"1x1-s2-subsample", convCase(10, 13, 12, 70, 1, 2, 0, 1, 1), "conv1x1s2-subsample/"},
	{"1x1-s2-pad-packed", convCase(10, 25, 15, 70, 1, 2, 1, 1, 1), "conv1x1s2-igemm/"},
	{"1x1-s2-w1-packed", convCase(10, 40, 1, 70, 1, 2, 1, 1, 1), "conv1x1s2-igemm/"},
	{"7x7-s2-p3", convCase(3, 32, 30, 16, 7, 2, 3, 1, 1), "conv7x7s2-"},
	// Outputs at least rowDirectMinW wide, shallow K: with an indirect-B
	// kernel, one GEMM per output row, written straight into the output
	// (TestConvPaths).
	{"3x3-s2-rows", convCase(3, 70, 67, 20, 3, 2, 1, 1, 1), "conv3x3s2-"},
	{"7x7-s2-rows", convCase(3, 40, 72, 16, 7, 2, 3, 1, 1), "conv7x7s2-"},
	{"3x3-s2-rows-grouped", convCase(4, 20, 70, 8, 3, 2, 1, 1, 2), "conv3x3s2-"},
	{"5x5-valid", convCase(4, 9, 9, 6, 5, 1, 0, 1, 1), "conv5x5s1-"},
	{"grouped", convCase(8, 10, 9, 12, 3, 1, 1, 1, 4), "conv3x3s1-"},
	{"grouped-mult", convCase(6, 8, 8, 12, 3, 2, 1, 1, 6), "conv3x3s2-"},
	{"dw3x3s1", convCase(10, 13, 21, 10, 3, 1, 1, 1, 10), "dwconv-3x3s1"},
	{"dw3x3s2", convCase(9, 14, 23, 9, 3, 2, 1, 1, 9), "dwconv-3x3s2"},
	{"dw3x3s1-nopad", convCase(4, 6, 40, 4, 3, 1, 0, 1, 4), "dwconv-3x3s1"},
	{"dw3x3s2-tiny", convCase(3, 2, 3, 3, 3, 2, 1, 1, 3), "dwconv-3x3s2"},
	{"dw5x5-dil", convCase(4, 12, 12, 4, 5, 1, 4, 2, 4), "dwconv-generic"},
	{"dw3x3s1-wide", convCase(3, 5, 150, 3, 3, 1, 1, 1, 3), "dwconv-3x3s1"},
	{"dw3x3s2-wide", convCase(3, 7, 99, 3, 3, 2, 1, 1, 3), "dwconv-3x3s2"},
	{"dw3x3s2-even", convCase(2, 8, 64, 2, 3, 2, 0, 1, 2), "dwconv-3x3s2"},
	{"winograd-odd", convCase(64, 9, 11, 64+6, 3, 1, 1, 1, 1), "winograd2x2"},
	{"winograd-nopad", convCase(64, 8, 8, 64, 3, 1, 0, 1, 1), "winograd2x2"},
	{"winograd-pad2", convCase(64+1, 5, 6, 64, 3, 1, 2, 1, 1), "winograd2x2"},
	{"winograd-chunks", convCase(64, 10, 9, 64, 3, 1, 1, 1, 1), "winograd2x2"},
	{"winograd-simd", convCase(64, 5, 40, 64, 3, 1, 1, 1, 1), "winograd2x2"},
	{"winograd-simd-wide", convCase(64, 6, 70, 65, 3, 1, 0, 1, 1), "winograd2x2"},
	{"dw-big", convCase(48, 28, 28, 48, 3, 1, 1, 1, 48), "dwconv-3x3s1"},
	{"asym", ConvParams{InC: 3, InH: 10, InW: 12, OutC: 5, KH: 3, KW: 2, StrideH: 2, StrideW: 1, DilH: 1, DilW: 2, PadTop: 1, PadLeft: 0, PadBottom: 2, PadRight: 1, Group: 1}, "conv3x2s2x1-"},
	{"tall-k", convCase(130, 6, 6, 9, 3, 1, 1, 1, 1), "conv3x3s1-"},
	{"gemmT-3x3", convCase(40, 4, 4, 70, 3, 1, 1, 1, 1), "conv3x3-gemmT"},
	{"gemmT-1x1-s2", convCase(24, 8, 7, 33, 1, 2, 0, 1, 1), "conv1x1-gemmT"},
	{"gemmT-tall-k", convCase(130, 2, 3, 65, 3, 1, 1, 1, 1), "conv3x3-gemmT"},
	{"gemmT-1px", convCase(16, 3, 3, 40, 3, 1, 0, 1, 1), "conv3x3-gemmT"},
	{"gemmT-6x6", convCase(64, 6, 6, 130, 3, 1, 1, 1, 1), "conv3x3-gemmT"},
	// From 7² on the indirect-A kernel when there is one (else gemmT).
	{"small-8x8", convCase(48, 8, 8, 130, 3, 1, 1, 1, 1), "conv3x3"},
	// Weights (2.4 MB) larger than L2: stream blocking and B prefetch.
	{"gemmT-stream", convCase(256, 4, 4, 250, 3, 1, 1, 1, 1), "conv3x3-gemmT"},
	// Three row tiles and three 64-wide panels (two threads split either
	// 2:1): the threads split K instead and add partial sums.
	{"gemmT-splitK", convCase(512, 4, 4, 177, 3, 1, 1, 1, 1), "conv3x3-gemmT"},
	{"gemmT-splitK-1row", convCase(300, 2, 2, 177, 3, 1, 1, 1, 1), "conv3x3-gemmT"},
	{"gemmT-splitK-uneven", convCase(512, 4, 4, 95, 3, 1, 1, 1, 1), "conv3x3-gemmT"},
	// 36 columns past the 64-wide panel: the 6x48 tail.
	{"gemmT-tail48", convCase(96, 4, 4, 100, 3, 1, 1, 1, 1), "conv3x3-gemmT"},
	{"gemmT-1x1-2x2", convCase(70, 2, 2, 33, 1, 1, 0, 1, 1), "conv1x1-gemmT"},
	{"gemmT-1x1-1px", convCase(130, 1, 1, 20, 1, 1, 0, 1, 1), "conv1x1-gemmT"},
	{"gemmT-asym", ConvParams{InC: 7, InH: 5, InW: 6, OutC: 50, KH: 3, KW: 2, StrideH: 2, StrideW: 1, DilH: 1, DilW: 2, PadTop: 1, PadLeft: 0, PadBottom: 2, PadRight: 1, Group: 1}, "conv3x2-gemmT"},
}

// convConfigs are the kernel configurations every conv test runs under.
func convConfigs() []Config {
	cfgs := []Config{{}, {Disabled: AVX512}, Generic, {NoWinograd: true}}
	return cfgs
}

func TestConv2D(t *testing.T) {
	// Exercise the Winograd path on small channel counts.
	defer func(minC, scalarC, tiles, scalarTiles, tileCap, dconvC int) {
		winogradMinC, winogradScalarMinC, winogradMinTiles, winogradScalarMinTiles, winogradTileCap, winogradDconvMinC = minC, scalarC, tiles, scalarTiles, tileCap, dconvC
	}(winogradMinC, winogradScalarMinC, winogradMinTiles, winogradScalarMinTiles, winogradTileCap, winogradDconvMinC)
	winogradMinC, winogradScalarMinC, winogradMinTiles, winogradScalarMinTiles, winogradTileCap, winogradDconvMinC = 64, 64, 1, 1, 40, 64
	r := rand.New(rand.NewPCG(1, 1))
	pool := NewPool(2)
	defer pool.Close()
	acts := []Activation{{}, {Kind: ActRelu}, {Kind: ActClip, Min: -0.5, Max: 0.5}}
	for ci, tc := range convCases {
		for _, cfg := range convConfigs() {
			for ai, act := range acts {
				p := tc.p
				p.Act = act
				batch := 1 + ci%2
				withBias := ai != 1
				x := randSlice(r, batch*p.InC*p.InH*p.InW)
				w := randSlice(r, p.OutC*(p.InC/p.Group)*p.KH*p.KW)
				var b []float32
				if withBias {
					b = randSlice(r, p.OutC)
				}
				c, err := NewConv2D(cfg, p, w, b)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				name := fmt.Sprintf("%s/%s/act%d", tc.name, c.Kernel(), ai)
				if cfg == (Config{}) && !contains(c.Kernel(), tc.algo) {
					t.Errorf("%s: kernel %q, want one containing %q", name, c.Kernel(), tc.algo)
				}
				want, scale := refConv2D(p, batch, x, w, b)
				guard := 9
				for _, pl := range []*Pool{nil, pool} {
					out := nanSlice(guard + len(want) + guard)
					xc := slices.Clone(x)
					c.Run(pl, batch, x, out[guard:guard+len(want)], nanSlice(c.WorkspaceLen())) // a dirty workspace
					if !slices.Equal(x, xc) {
						t.Fatalf("%s: input modified", name)
					}
					checkGuarded(t, fmt.Sprintf("%s T%d", name, pl.Threads()), out, guard, want, scale)
				}
			}
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestNewConv2DErrors(t *testing.T) {
	good := convCase(4, 8, 8, 4, 3, 1, 1, 1, 1)
	for _, tc := range []struct {
		name   string
		p      ConvParams
		w, b   int
		errSub string
	}{
		{"weight", good, 10, 4, "weight"},
		{"bias", good, 4 * 4 * 9, 3, "bias"},
		{"group", convCase(4, 8, 8, 6, 3, 1, 1, 1, 4), 6 * 9, 6, "group"},
		{"empty", convCase(4, 2, 2, 4, 5, 1, 0, 1, 1), 4 * 4 * 25, 4, "empty"},
		{"stride", convCase(4, 8, 8, 4, 3, 0, 1, 1, 1), 4 * 4 * 9, 4, "stride"},
	} {
		_, err := NewConv2D(Config{}, tc.p, make([]float32, tc.w), make([]float32, tc.b))
		if err == nil || !contains(err.Error(), tc.errSub) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.errSub)
		}
	}
}

// TestConvTTail checks that the transposed path packs the last columns
// for the narrow twin of the GEMM kernel when it has one (AVX-512) on a
// small map, and pads them to NR otherwise.
func TestConvTTail(t *testing.T) {
	for _, tc := range []struct {
		p    ConvParams
		tail string
	}{
		{convCase(64, 4, 4, 135, 3, 1, 1, 1, 1), "+6x16"},
		{convCase(64, 2, 2, 95, 3, 1, 1, 1, 1), "+6x32"},
		{convCase(64, 4, 4, 128, 3, 1, 1, 1, 1), ""}, // no tail
		{convCase(64, 8, 8, 135, 3, 1, 1, 1, 1), ""}, // 11 row tiles
	} {
		p := tc.p
		w := make([]float32, p.OutC*p.InC*9)
		for _, cfg := range []Config{{}, Generic} {
			c, err := NewConv2D(cfg, p, w, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.tail
			if len(c.gemm.tails) == 0 {
				want = ""
			}
			if got := c.Kernel(); (want == "") != (c.tail == nil) || want != "" && !contains(got, want) {
				t.Errorf("%d→%d at %d²/%v: kernel %q, want tail %q", p.InC, p.OutC, p.InH, cfg.Disabled, got, want)
			}
		}
	}
}

// TestConvSmallMapRoute checks where NewConv2D sends small maps: the
// transposed path below 7², the indirect-A kernel (when the CPU has it)
// from 7² on.
func TestConvSmallMapRoute(t *testing.T) {
	for _, tc := range []struct {
		hw    int
		gemmT bool
	}{{4, true}, {6, true}, {7, false}, {8, false}} {
		p := convCase(64, tc.hw, tc.hw, 256, 3, 1, 1, 1, 1)
		w := make([]float32, p.OutC*p.InC*9)
		for _, cfg := range []Config{{NoWinograd: true}, Generic} {
			c, err := NewConv2D(cfg, p, w, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.gemmT || selectDconv(cfg) == nil
			if got := contains(c.Kernel(), "gemmT"); got != want {
				t.Errorf("%d² %v: kernel %q, want gemmT %v", tc.hw, cfg.Disabled, c.Kernel(), want)
			}
		}
	}
}
