package kernels

import (
	"strings"
	"testing"
)

// TestConvGemmPool checks which pointwise convs with packed B (more
// than directMaxM output channels) run their GEMM on the caller alone at
// 2 threads: the small ones whose GEMM would split rows (one column
// panel), not those it splits by columns or the large ones.
func TestConvGemmPool(t *testing.T) {
	if SelectGemm(Config{}).Requires != AVX512 {
		t.Skip("the cases are sized for the AVX-512 kernels' panels")
	}
	pool := NewPool(2)
	defer pool.Close()
	for _, tc := range []struct {
		p      ConvParams
		serial bool
	}{
		{convCase(48, 4, 4, 192, 1, 1, 0, 1, 1), true},    // 1 panel, 147k MACs
		{convCase(512, 4, 4, 128, 1, 1, 0, 1, 1), true},   // 1 panel, 1M MACs, B 64 KB
		{convCase(135, 4, 4, 512, 1, 1, 0, 1, 1), false},  // 1.1M MACs, B 17 KB: one barrier
		{convCase(64, 16, 16, 128, 1, 1, 0, 1, 1), false}, // column split
		{convCase(1024, 4, 4, 256, 1, 1, 0, 1, 1), false}, // 4.2M MACs
	} {
		c, err := NewConv2D(Config{}, tc.p, make([]float32, tc.p.OutC*tc.p.InC), nil)
		if err != nil {
			t.Fatal(err)
		}
		p := c.p
		m, n, k := p.OutC, p.OutH()*p.OutW(), p.InC
		src := gemmSrc{prepackedA: true, alignM: c.gemm.MR}
		if got := c.gemmPool(pool, m, n, k, &src) == nil; got != tc.serial {
			t.Errorf("%+v (%s): serial = %v, want %v", tc.p, c.Kernel(), got, tc.serial)
		}
		if c.gemmPool(nil, m, n, k, &src) != nil {
			t.Errorf("%+v: a nil pool became non-nil", tc.p)
		}
	}
}

// TestConvPaths checks the paths of convs2.go that need an indirect-B
// GEMM kernel (the AVX-512 ones) by the kernel names of TestConv2D's
// cases that take them.
func TestConvPaths(t *testing.T) {
	if SelectGemm(Config{}).Requires != AVX512 {
		t.Skip("the paths need the AVX-512 indirect-B kernels")
	}
	want := map[string]string{
		"1x1":                 "f32-conv1x1-direct/",
		"1x1-s2":              "f32-conv1x1s2-subsample-direct/",
		"1x1-s3x2":            "f32-conv1x1s3x2-subsample-direct/",
		"1x1-s2-par":          "f32-conv1x1s2-subsample/",
		"1x1-serial":          "f32-conv1x1-gemm/",
		"3x3-s2-rows":         "f32-conv3x3s2-igemm-rows/",
		"3x3-s2-rows-grouped": "f32-conv3x3s2-igemm-rows/",
		"7x7-s2-rows":         "f32-conv7x7s2-6x64-avx512", // K 147: indirect-A
		"3x3-s2-p1":           "f32-conv3x3s2-6x64-avx512", // 8 wide
	}
	seen := 0
	for _, tc := range convCases {
		w, ok := want[tc.name]
		if !ok {
			continue
		}
		seen++
		p := tc.p
		c, err := NewConv2D(Config{}, p, make([]float32, p.OutC*(p.InC/p.Group)*p.KH*p.KW), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.Kernel(), w) {
			t.Errorf("%s: kernel %q, want %q…", tc.name, c.Kernel(), w)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d cases in convCases", seen, len(want))
	}
}
