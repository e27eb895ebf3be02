//go:build !gc || purego || !amd64

package kernels

// Without amd64 assembly the conv row packer and the pooling row max are
// the generic ones (packRowsGeneric, maxRowsGeneric).
var (
	archPackRows    func(dst, src *float32, offs *int, kc, nfull, nr int)
	archPackRowsISA ISA
	archMaxRows     func(dst, a, b *float32, n int)
	archMaxRowsISA  ISA
)
