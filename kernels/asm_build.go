//go:build gc && !purego && (amd64 || arm64)

package kernels

// asmBuilt is the set of extensions with assembly compiled into this build.
const asmBuilt ISA = AVX2 | AVX512 | NEON
