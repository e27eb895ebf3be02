package kernels

import "fmt"

// gatherer copies src[idx[i]] to dst[i], and zero where idx[i] < 0: the
// gather of the transposed conv path's im2col matrix (tapOffsets).
type gatherer struct {
	fn   func(dst, src *float32, idx *int32, n int) // assembly or nil
	name string
}

// selectGather chooses f32-gather-avx512 when cfg allows it, else
// f32-gather-generic.
func selectGather(cfg Config) gatherer {
	if archGather != nil && cfg.Allows(archGatherISA) {
		return gatherer{archGather, fmt.Sprintf("f32-gather-%s", archGatherISA)}
	}
	return gatherer{nil, "f32-gather-generic"}
}

// run gathers len(idx) elements into dst; every non-negative index must
// be inside src.
func (g gatherer) run(dst, src []float32, idx []int32) {
	if len(idx) == 0 {
		return
	}
	if g.fn != nil {
		dst = dst[:len(idx)]
		g.fn(&dst[0], &src[0], &idx[0], len(idx))
		return
	}
	gatherGeneric(dst, src, idx)
}

// gatherGeneric is the pure-Go gather.
func gatherGeneric(dst, src []float32, idx []int32) {
	dst = dst[:len(idx)]
	for i, o := range idx {
		v := float32(0)
		if o >= 0 {
			v = src[o]
		}
		dst[i] = v
	}
}
