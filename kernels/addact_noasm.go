//go:build !gc || purego || !amd64

package kernels

// Without amd64 assembly the fused add-activation is addClampGeneric.
var (
	archAddClamp    func(dst, a, b *float32, n int, lo, hi float32)
	archAddClampISA ISA
)
