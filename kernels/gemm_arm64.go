//go:build gc && !purego

package kernels

// archGemmKernels are the arm64 assembly GEMM kernels, best first. NEON
// is baseline on arm64 and needs no run-time check.
var archGemmKernels = []*GemmKernel{
	{Name: "f32-gemm-8x12-neon", MR: 8, NR: 12, Requires: NEON, micro: gemmF32x8x12NEON, eff: 1},
}

// gemmF32x8x12NEON is the f32-gemm-8x12-neon micro-kernel (see microFn);
// it needs mr == 8 and a full column mask. Its generic twin is
// microRef(8, 12, ...).
//
//go:noescape
func gemmF32x8x12NEON(k int, a, b, c *float32, ldc, mr int, mask uint64, flags int, rowBias, colBias *float32, lo, hi float32)

// archDWKernels are the arm64 depthwise kernels, best first.
var archDWKernels = []*dwKernel{
	{name: "f32-dwconv-3x3s1-neon", requires: NEON, ok: is3x3s(1), row3: dwRow3x3s1NEON},
	{name: "f32-dwconv-3x3s2-neon", requires: NEON, ok: is3x3s(2), row3: dwRow3x3s2NEON},
}

// archWino is nil: the Winograd transforms are generic on arm64.
var archWino *winoKernels
