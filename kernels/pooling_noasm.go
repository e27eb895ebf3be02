//go:build !gc || purego || !amd64

package kernels

// Without amd64 assembly, stride-2 max pooling rows use
// maxPoolS2Generic.
var (
	archMaxPoolS2    func(dst, src *float32, offs *int, rows, ldd, n, kw int, masks *[5]uint16)
	archMaxPoolS2ISA ISA
)
