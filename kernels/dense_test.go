package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestDense(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	pool := NewPool(2)
	defer pool.Close()
	for _, cfg := range convConfigs() {
		for _, sh := range [][3]int{{1, 1, 1}, {1, 1000, 512}, {3, 10, 7}, {7, 65, 300}, {16, 129, 1029}, {2, 4096, 64}} {
			batch, out, in := sh[0], sh[1], sh[2]
			w := randSlice(r, out*in)
			b := randSlice(r, out)
			act := Activation{Kind: ActClip, Min: -1, Max: 1}
			d, err := NewDense(cfg, in, out, batch, w, b, act)
			if err != nil {
				t.Fatal(err)
			}
			x := randSlice(r, batch*in)
			want, scale := refGemm(false, true, batch, out, in, 1, x, in, w, in, 0, nil, out, Epilogue{ColBias: b, Act: act})
			for _, pl := range []*Pool{nil, pool} {
				name := fmt.Sprintf("%s/%dx%dx%d/T%d", d.Kernel(), batch, out, in, pl.Threads())
				guard := 5
				y := nanSlice(guard + batch*out + guard)
				xc := slices.Clone(x)
				d.Run(pl, batch, x, y[guard:guard+batch*out])
				if !slices.Equal(x, xc) {
					t.Fatalf("%s: input modified", name)
				}
				checkC(t, name, y, guard, batch, out, out, want, scale)
			}
		}
	}
	if _, err := NewDense(Config{}, 3, 4, 1, make([]float32, 11), nil, Activation{}); err == nil {
		t.Error("NewDense accepted a short weight")
	}
}

func TestForceGeneric(t *testing.T) {
	restore := ForceGeneric()
	if g := SelectGemm(Config{}); g.Requires != 0 {
		t.Errorf("under ForceGeneric SelectGemm = %s", g.Name)
	}
	c, err := NewConv2D(Config{}, convCase(4, 8, 8, 4, 3, 1, 1, 1, 4), make([]float32, 36), nil)
	if err != nil || !contains(c.Kernel(), "generic") {
		t.Errorf("under ForceGeneric depthwise kernel = %v (%v)", c.Kernel(), err)
	}
	restore()
	if Detected() != 0 && SelectGemm(Config{}).Requires == 0 {
		t.Error("restore did not re-enable the SIMD kernels")
	}
}

func TestKernelsList(t *testing.T) {
	ks := Kernels()
	var lastGemm KernelInfo
	for _, k := range ks {
		if k.Family == "gemm" {
			lastGemm = k
		}
	}
	if lastGemm.Requires != 0 || !lastGemm.Supported {
		t.Errorf("last gemm kernel %+v, want the generic one", lastGemm)
	}
	if len(ks) < 4 {
		t.Errorf("Kernels() lists %d kernels", len(ks))
	}
}

func TestCheckGemmArgs(t *testing.T) {
	if err := CheckGemm(false, false, 2, 3, 4, make([]float32, 8), 4, make([]float32, 12), 3, make([]float32, 6), 3); err != nil {
		t.Errorf("valid args: %v", err)
	}
	if err := CheckGemm(false, false, 2, 3, 4, make([]float32, 7), 4, make([]float32, 12), 3, make([]float32, 6), 3); err == nil {
		t.Error("short A accepted")
	}
	if err := CheckGemm(false, true, 2, 3, 4, make([]float32, 8), 4, make([]float32, 12), 3, make([]float32, 6), 3); err == nil {
		t.Error("small ldb for transposed B accepted")
	}
}

func ExampleGemmKernel_Sgemm() {
	g := SelectGemm(Config{})
	a := []float32{1, 2, 3, 4, 5, 6} // 2×3
	b := []float32{1, 0, 0, 1, 1, 1} // 3×2
	c := make([]float32, 4)
	g.Sgemm(nil, false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [4 5 10 11]
}

func ExampleNewConv2D() {
	p := ConvParams{InC: 1, InH: 3, InW: 3, OutC: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1,
		PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Group: 1, Act: Activation{Kind: ActRelu}}
	w := []float32{0, 0, 0, 0, 1, 0, 0, 0, 0} // identity
	conv, err := NewConv2D(Config{}, p, w, []float32{-2})
	if err != nil {
		panic(err)
	}
	out := make([]float32, 9)
	ws := make([]float32, conv.WorkspaceLen())
	conv.Run(nil, 1, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, out, ws)
	fmt.Println(out)
	// Output: [0 0 1 2 3 4 5 6 7]
}

func ExampleNewDense() {
	d, err := NewDense(Config{}, 2, 3, 1, []float32{1, 0, 0, 1, 1, 1}, []float32{0, 0, 10}, Activation{})
	if err != nil {
		panic(err)
	}
	y := make([]float32, 3)
	d.Run(nil, 1, []float32{2, 3}, y)
	fmt.Println(y)
	// Output: [2 3 15]
}

var _ = math.NaN

// TestDenseLend checks that NewDense packs a lent weight the same as a
// kept one while never reading what it reported packed: drop overwrites
// those elements with NaN, and the outputs must still match bit for bit.
func TestDenseLend(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, cfg := range convConfigs() {
		for _, sh := range [][3]int{{1, 1, 1}, {1, 10, 7}, {3, 65, 300}, {1, 200, 1029}, {2, 130, 4096}} {
			batch, out, in := sh[0], sh[1], sh[2]
			w := randSlice(r, out*in)
			b := randSlice(r, out)
			x := randSlice(r, batch*in)
			ref, err := NewDense(cfg, in, out, batch, w, b, Activation{})
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("%s/%dx%dx%d", ref.Kernel(), batch, out, in)
			lent := slices.Clone(w)
			var calls []int
			end := LendWeight(lent, func(n int) {
				if len(calls) > 0 && n < calls[len(calls)-1] || n > len(lent) {
					t.Fatalf("%s: drop(%d) after %v", name, n, calls)
				}
				calls = append(calls, n)
				for i := range lent[:n] {
					lent[i] = float32(math.NaN())
				}
			})
			if LendWeight(lent, func(int) {})() {
				t.Fatalf("%s: a second loan of the same weight was used", name)
			}
			d, err := NewDense(cfg, in, out, batch, lent, b, Activation{})
			if err != nil {
				t.Fatal(err)
			}
			if !end() || len(calls) == 0 || calls[len(calls)-1] != len(w) {
				t.Fatalf("%s: loan used %v, drops %v, want the last at %d", name, end(), calls, len(w))
			}
			if out > ref.gemm.NR && len(calls) < 2 {
				t.Errorf("%s: %d rows dropped in one call, want one call per row panel", name, out)
			}
			want, got := make([]float32, batch*out), make([]float32, batch*out)
			ref.Run(nil, batch, x, want)
			d.Run(nil, batch, x, got)
			if !slices.Equal(math32bits(got), math32bits(want)) {
				t.Fatalf("%s: output differs from the kept weight's", name)
			}
			// An ended loan is not used again.
			n := len(calls)
			if _, err := NewDense(cfg, in, out, batch, lent, b, Activation{}); err != nil || len(calls) != n {
				t.Fatalf("%s: NewDense after the loan ended: drops %v (%v)", name, calls[n:], err)
			}
		}
	}
}

func math32bits(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, f := range v {
		out[i] = math.Float32bits(f)
	}
	return out
}
