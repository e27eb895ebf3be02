//go:build !gc || purego || !amd64

package kernels

// Without amd64 assembly the padded row copy is padRowsGeneric.
var (
	archPadRows    padRowsFn
	archPadRowsISA ISA
)
