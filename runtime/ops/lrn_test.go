package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

func TestLRN(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		x                 ir.Shape
		size              int64
		alpha, beta, bias float32 // 0: attribute absent (defaults 1e-4, 0.75, 1)
	}{
		{ir.Shape{2, 5, 3, 4}, 3, 0, 0, 0},
		{ir.Shape{1, 7, 5, 3}, 4, 2e-4, 0.5, 2},
		{ir.Shape{1, 6, 9}, 5, 1e-2, 0.75, 1},
		{ir.Shape{2, 3, 2, 2, 2}, 1, 0.1, 1.5, 0.5},
		{ir.Shape{1, 2, 3, 3}, 6, 0.5, 0.6, 1},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v/size=%d", tc.x, tc.size), func(t *testing.T) {
			attrs := map[string]*ir.Attr{"size": aInt(tc.size)}
			alpha, beta, bias := 1e-4, 0.75, 1.0
			if tc.alpha != 0 {
				attrs["alpha"], attrs["beta"], attrs["bias"] = aFloat(tc.alpha), aFloat(tc.beta), aFloat(tc.bias)
				alpha, beta, bias = float64(tc.alpha), float64(tc.beta), float64(tc.bias)
			}
			x := h3Rand(rng, ir.Float32, tc.x)
			outs, _, err := h2Exec(h3MakeNode("LRN", 1, 1, attrs), 13, []*ir.Tensor{x}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			c, inner := tc.x[1], tc.x[2:].Size()
			want := make([]float64, tc.x.Size())
			for i := range want {
				ch := (i / inner) % c
				base := i - ch*inner
				var sq float64
				lo := ch - int(math.Floor(float64(tc.size-1)/2))
				hi := ch + int(math.Ceil(float64(tc.size-1)/2))
				for j := max(0, lo); j <= min(c-1, hi); j++ {
					v := float64(x.F32[base+j*inner])
					sq += v * v
				}
				want[i] = float64(x.F32[i]) / math.Pow(bias+alpha/float64(tc.size)*sq, beta)
			}
			h2Check(t, outs[0], tc.x, want, 1e-5, 1e-6)
		})
	}
	for _, bad := range []map[string]*ir.Attr{nil, {"size": aInt(0)}} {
		_, _, err := h2Exec(h3MakeNode("LRN", 1, 1, bad), 13, []*ir.Tensor{ir.NewTensor(ir.Float32, ir.Shape{1, 2, 2})}, nil, nil)
		h3MustErr(t, err, "bad size")
		if !strings.Contains(err.Error(), "(LRN)") || !strings.Contains(err.Error(), "size") {
			t.Errorf("error %q", err)
		}
	}
}
