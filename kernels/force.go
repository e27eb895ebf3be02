package kernels

import "sync/atomic"

// forceGeneric, when set, makes every Config allow only generic kernels.
var forceGeneric atomic.Bool

// ForceGeneric makes kernel selection pick the pure-Go kernels for every
// Config until the returned function restores the previous state:
//
//	defer kernels.ForceGeneric()()
//
// It is a test hook; kernels already chosen keep running as chosen.
func ForceGeneric() (restore func()) {
	old := forceGeneric.Swap(true)
	return func() { forceGeneric.Store(old) }
}

// KernelInfo describes one kernel compiled into this build.
type KernelInfo struct {
	Family    string // "gemm" or "dwconv"
	Name      string // e.g. "f32-gemm-6x64-avx512"
	Requires  ISA
	Supported bool // runs on this CPU (ignoring Config)
}

// Kernels lists the kernels of every family, best first within a family,
// for `edge version` and `edge bench -v`.
func Kernels() []KernelInfo {
	var out []KernelInfo
	for _, g := range gemmKernels {
		out = append(out, KernelInfo{Family: "gemm", Name: g.Name, Requires: g.Requires, Supported: Config{}.Allows(g.Requires)})
	}
	for _, k := range dwKernels {
		out = append(out, KernelInfo{Family: "dwconv", Name: k.name, Requires: k.requires, Supported: Config{}.Allows(k.requires)})
	}
	return out
}
