//go:build !gc || purego || !amd64

package kernels

// Without amd64 assembly the gather is gatherGeneric.
var (
	archGather    func(dst, src *float32, idx *int32, n int)
	archGatherISA ISA
)
