package kernels

import (
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/klauspost/cpuid/v2"
)

// ISA is a set of instruction-set extensions a kernel may require.
type ISA uint32

// Instruction-set extensions used by kernels. NEON is baseline on arm64
// and needs no run-time check.
const (
	AVX2   ISA = 1 << iota // AVX2 + FMA3
	AVX512                 // AVX-512F
	NEON                   // arm64 ASIMD
)

var isaNames = []struct {
	isa  ISA
	name string
}{{AVX512, "avx512"}, {AVX2, "avx2"}, {NEON, "neon"}}

// String lists the extensions, e.g. "avx512,avx2"; "generic" when empty.
func (s ISA) String() string {
	var parts []string
	for _, n := range isaNames {
		if s&n.isa != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "generic"
	}
	return strings.Join(parts, ",")
}

// ParseISA parses a comma-separated list such as "avx512,avx2" (the
// --disable-isa flag). "all" names every extension.
func ParseISA(s string) (ISA, error) {
	var out ISA
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		if f == "all" {
			out |= AVX2 | AVX512 | NEON
			continue
		}
		found := false
		for _, n := range isaNames {
			if n.name == f {
				out |= n.isa
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("kernels: unknown instruction set %q; use avx512, avx2, neon or all", f)
		}
	}
	return out, nil
}

var (
	detectOnce sync.Once
	detected   ISA
)

// Detected returns the extensions this CPU and build support. It is
// computed on first use, not in init.
func Detected() ISA {
	detectOnce.Do(func() {
		switch goruntime.GOARCH {
		case "amd64":
			if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
				detected |= AVX2
			}
			if cpuid.CPU.Supports(cpuid.AVX512F) {
				detected |= AVX512
			}
		case "arm64":
			detected |= NEON
		}
		detected &= asmBuilt
	})
	return detected
}

// Config selects kernels. The zero value uses every detected extension.
type Config struct {
	// Disabled lists extensions that must not be used (--disable-isa).
	Disabled ISA
	// NoWinograd makes convolutions use the (implicit) GEMM paths only.
	NoWinograd bool
}

// Allows reports whether kernels requiring req may run under c.
func (c Config) Allows(req ISA) bool {
	if forceGeneric.Load() {
		return req == 0
	}
	avail := Detected() &^ c.Disabled
	return req&avail == req
}

// Generic is a Config that forces the pure-Go kernels.
var Generic = Config{Disabled: AVX2 | AVX512 | NEON}

var (
	cacheOnce sync.Once
	l1d, l2sz int
)

// cacheSizes returns the per-core L1 data and L2 cache sizes in bytes
// from cpuid, with defaults (32 KiB, 512 KiB) when the CPU does not report
// them (arm64, VMs).
func cacheSizes() (l1, l2 int) {
	cacheOnce.Do(func() {
		l1d, l2sz = cpuid.CPU.Cache.L1D, cpuid.CPU.Cache.L2
		if l1d <= 0 {
			l1d = 32 << 10
		}
		if l2sz <= 0 {
			l2sz = 512 << 10
		}
	})
	return l1d, l2sz
}
