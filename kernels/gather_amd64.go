//go:build gc && !purego

package kernels

// gatherAVX512 sets dst[i] = src[idx[i]] for i < n, and dst[i] = 0 where
// idx[i] < 0 (src is not read there). Its generic twin is gatherGeneric.
//
//go:noescape
func gatherAVX512(dst, src *float32, idx *int32, n int)

// archGather is the assembly gather and the ISA it needs.
var archGather, archGatherISA = gatherAVX512, AVX512
