//go:build gc && !purego

package kernels

// addClampAVX512 sets dst[i] = min(max(a[i]+b[i], lo), hi) for i < n,
// NaN propagating; dst may be a or b. Its generic twin is
// addClampGeneric.
//
//go:noescape
func addClampAVX512(dst, a, b *float32, n int, lo, hi float32)

// archAddClamp is the assembly fused add-activation and the ISA it needs.
var archAddClamp, archAddClampISA = addClampAVX512, AVX512
