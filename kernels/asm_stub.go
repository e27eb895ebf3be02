//go:build !gc || purego || !(amd64 || arm64)

package kernels

// asmBuilt is the set of extensions with assembly compiled into this
// build: none here (purego, gccgo, or an architecture without kernels).
const asmBuilt ISA = 0
