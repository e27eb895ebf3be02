package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPadRows checks the padded row copy the config selects against
// padRowsGeneric for widths around the 16-lane vectors and borders of
// 0 to 16, with the output poisoned around the rows.
func TestPadRows(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, cfg := range []Config{{}, Generic} {
		for _, w := range []int{1, 2, 15, 16, 17, 32, 33, 56} {
			for _, pads := range [][2]int{{0, 0}, {1, 1}, {0, 1}, {2, 1}, {3, 3}, {16, 16}, {5, 0}} {
				pl, pr := pads[0], pads[1]
				rows, wp := 3, w+pl+pr
				src := randSlice(r, rows*w)
				fn := selectPadRows(cfg, pl, pr)
				name := fmt.Sprintf("%v/w=%d/pad=%d,%d", cfg.Disabled, w, pl, pr)
				const guard = 20
				buf := nanSlice(guard + rows*wp + guard)
				fn(buf[guard:guard+rows*wp], src, rows, w, wp, pl)
				for i, v := range buf {
					j := i - guard
					if j < 0 || j >= rows*wp {
						if !math.IsNaN(float64(v)) {
							t.Fatalf("%s: wrote outside the rows at %d", name, j)
						}
						continue
					}
					row, x := j/wp, j%wp-pl
					want := float32(0)
					if x >= 0 && x < w {
						want = src[row*w+x]
					}
					if v != want {
						t.Fatalf("%s: dst[%d] = %v, want %v", name, j, v, want)
					}
				}
			}
		}
	}
}
