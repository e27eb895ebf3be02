package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const m, n, k = 7, 13, 5
	cShapes := []ir.Shape{nil, {}, {1}, {n}, {1, n}, {m, 1}, {m, n}, {1, 1}}
	relu := &kernels.Activation{Kind: kernels.ActRelu}
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for ci, cs := range cShapes {
				for _, ab := range [][2]float32{{1, 1}, {0.25, 0.35}, {-1.5, 0}} {
					name := fmt.Sprintf("tA=%v/tB=%v/C=%v/alpha=%v/beta=%v", ta, tb, cs, ab[0], ab[1])
					if cs == nil {
						name = fmt.Sprintf("tA=%v/tB=%v/noC/alpha=%v/beta=%v", ta, tb, ab[0], ab[1])
					}
					t.Run(name, func(t *testing.T) {
						as, bs := ir.Shape{m, k}, ir.Shape{k, n}
						if ta {
							as = ir.Shape{k, m}
						}
						if tb {
							bs = ir.Shape{n, k}
						}
						a, b := h3Rand(rng, ir.Float32, as), h3Rand(rng, ir.Float32, bs)
						in := []*ir.Tensor{a, b}
						var c *ir.Tensor
						if cs != nil {
							c = h3Rand(rng, ir.Float32, cs)
							if ab[1] == 0 {
								for i := range c.F32 {
									c.F32[i] = float32(math.NaN()) // beta = 0: C is not read
								}
							}
							in = append(in, c)
						}
						attrs := map[string]*ir.Attr{"alpha": aFloat(ab[0]), "beta": aFloat(ab[1])}
						if ta {
							attrs["transA"] = aInt(1)
						}
						if tb {
							attrs["transB"] = aInt(1)
						}
						var act *kernels.Activation
						if ci%2 == 1 {
							act = relu
						}
						// B and C constant or not: the packed dense path, the
						// GEMM with a bias epilogue and the filled-C path.
						konst := []bool{false, ci%2 == 0, ci%3 != 1}
						outs, op, err := h2Exec(h3MakeNode("Gemm", len(in), 1, attrs), 13, in, konst, act)
						if err != nil {
							t.Fatal(err)
						}
						want := make([]float64, m*n)
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								var s float64
								for l := 0; l < k; l++ {
									av, bv := a.F32[i*k+l], b.F32[l*n+j]
									if ta {
										av = a.F32[l*m+i]
									}
									if tb {
										bv = b.F32[j*k+l]
									}
									s += float64(av) * float64(bv)
								}
								s *= float64(ab[0])
								if c != nil && ab[1] != 0 {
									ci, cj := 0, 0
									if len(cs) == 2 && cs[0] == m {
										ci = i
									}
									if cs.Size() > 1 && cs[len(cs)-1] == n {
										cj = j
									}
									cols := 1
									if len(cs) > 0 {
										cols = cs[len(cs)-1]
									}
									s += float64(ab[1]) * float64(c.F32[ci*cols+cj])
								}
								if act != nil {
									s = math.Max(s, 0)
								}
								want[i*n+j] = s
							}
						}
						h2Check(t, outs[0], ir.Shape{m, n}, want, 1e-5, 1e-5)
						if op.(Coster).MACs() != m*n*k {
							t.Errorf("MACs %d", op.(Coster).MACs())
						}
						if name := op.(Kerneler).KernelName(); !strings.HasPrefix(name, "f32-gemm") && !strings.HasPrefix(name, "f32-dense") {
							t.Errorf("kernel %q", op.(Kerneler).KernelName())
						}
					})
				}
			}
		}
	}
}

func TestGemmErrors(t *testing.T) {
	f32 := func(s ...int) *ir.Tensor { return ir.NewTensor(ir.Float32, ir.Shape(s)) }
	cases := []struct {
		name  string
		attrs map[string]*ir.Attr
		in    []*ir.Tensor
		want  string
	}{
		{"inner mismatch", nil, []*ir.Tensor{f32(3, 4), f32(5, 6)}, "inner dimensions"},
		{"inner mismatch transB", map[string]*ir.Attr{"transB": aInt(1)}, []*ir.Tensor{f32(3, 4), f32(4, 6)}, "inner dimensions"},
		{"rank", nil, []*ir.Tensor{f32(2, 3, 4), f32(4, 6)}, "matrices"},
		{"C rows", nil, []*ir.Tensor{f32(3, 4), f32(4, 6), f32(2, 6)}, "broadcast"},
		{"C cols", nil, []*ir.Tensor{f32(3, 4), f32(4, 6), f32(5)}, "broadcast"},
		{"C rank", nil, []*ir.Tensor{f32(3, 4), f32(4, 6), f32(1, 3, 6)}, "C has shape"},
		{"transA 2", map[string]*ir.Attr{"transA": aInt(2)}, []*ir.Tensor{f32(3, 4), f32(4, 6)}, "transA"},
		{"int", nil, []*ir.Tensor{ir.NewTensor(ir.Int64, ir.Shape{3, 4}), f32(4, 6)}, "dtype"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := h3MakeNode("Gemm", len(tc.in), 1, tc.attrs)
			_, _, err := h2Exec(n, 13, tc.in, nil, nil)
			h3MustErr(t, err, tc.name)
			if !strings.Contains(err.Error(), `(Gemm)`) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks the op or %q", err, tc.want)
			}
		})
	}
}

// TestGemmPaths checks which implementation each operand pattern gets.
func TestGemmPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, b := h3Rand(rng, ir.Float32, ir.Shape{3, 4}), h3Rand(rng, ir.Float32, ir.Shape{5, 4})
	cases := []struct {
		name  string
		c     *ir.Tensor
		konst []bool
		dense bool
	}{
		{"const B, no C", nil, []bool{false, true}, true},
		{"const B, const [N] C", h3Rand(rng, ir.Float32, ir.Shape{5}), []bool{false, true, true}, true},
		{"const B, const scalar C", h3Rand(rng, ir.Float32, ir.Shape{}), []bool{false, true, true}, true},
		{"const B, dynamic C", h3Rand(rng, ir.Float32, ir.Shape{5}), []bool{false, true, false}, false},
		{"const B, [M,1] C", h3Rand(rng, ir.Float32, ir.Shape{3, 1}), []bool{false, true, true}, false},
		{"dynamic B", nil, []bool{false, false}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := []*ir.Tensor{a, b}
			if tc.c != nil {
				in = append(in, tc.c)
			}
			_, op, err := h2Exec(h3MakeNode("Gemm", len(in), 1, map[string]*ir.Attr{"transB": aInt(1)}), 13, in, tc.konst, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.HasPrefix(op.(Kerneler).KernelName(), "f32-dense"); got != tc.dense {
				t.Errorf("kernel %q, want dense = %v", op.(Kerneler).KernelName(), tc.dense)
			}
		})
	}
}
