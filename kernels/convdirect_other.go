//go:build !gc || purego || !amd64

package kernels

// archDconv is empty: no indirect-A assembly in this build.
var archDconv []*dconvKernel
