//go:build !gc || purego || !amd64

package kernels

// Without amd64 assembly, stride-2 max pooling uses maxPoolS2Generic
// and global average pooling sumF64Generic.
var (
	archSumF64       func(x *float32, n int) float64
	archSumF64ISA    ISA
	archMaxPoolS2    func(dst, src *float32, offs *int, rows, ldd, n, kw int, masks *[5]uint16)
	archMaxPoolS2ISA ISA
)
