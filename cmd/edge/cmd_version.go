package main

import (
	"flag"
	"fmt"
	goruntime "runtime"
	"runtime/debug"
	"strings"

	"github.com/klauspost/cpuid/v2"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ops"
)

// version is set by the Makefile (-ldflags "-X main.version=...");
// otherwise the module version from the build info is used.
var version = ""

var versionCommand = &command{
	name:    "version",
	summary: "print the version, Go version, architecture and the kernels chosen for this CPU",
	usage: `Usage: edge version [--json] [--disable-isa LIST]

Prints edge's version (from the build), the Go toolchain, GOOS/GOARCH, the
CPU, the instruction sets detected and the kernels a model planned now
would use, with every compiled GEMM kernel and whether this CPU runs it,
and the ONNX operators edge supports.

Examples:
  edge version
  edge version --json
  edge version --disable-isa avx512   # what runs when AVX-512 is switched off`,
	newOpts: func() options { return &versionOpts{} },
}

type versionOpts struct {
	json       bool
	disableISA string
}

func (o *versionOpts) flags(fs *flag.FlagSet) {
	flagJSON(fs, &o.json)
	flagISA(fs, &o.disableISA)
}

// VersionReport is the JSON of `edge version --json`.
type VersionReport struct {
	Version  string            `json:"version"`
	Revision string            `json:"revision,omitempty"`
	Go       string            `json:"go"`
	OS       string            `json:"os"`
	Arch     string            `json:"arch"`
	CPU      string            `json:"cpu"`
	ISA      string            `json:"isa"`      // detected and usable in this build
	Disabled string            `json:"disabled"` // --disable-isa
	Selected map[string]string `json:"selected"` // kernel family → kernel
	GEMM     []KernelStatus    `json:"gemm_kernels"`
	// Operators are the ONNX operator types edge runs.
	Operators []string `json:"operators"`
}

// KernelStatus is one compiled kernel and whether it can run here.
type KernelStatus struct {
	Name      string `json:"name"`
	Requires  string `json:"requires"`
	Supported bool   `json:"supported"`
}

func buildVersion() (ver, rev string) {
	ver = version
	if bi, ok := debug.ReadBuildInfo(); ok {
		if ver == "" {
			ver = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if ver == "" {
		ver = "(devel)"
	}
	return ver, rev
}

func (o *versionOpts) run(e *env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	isa, err := kernels.ParseISA(o.disableISA)
	if err != nil {
		return usagef("--disable-isa: %v", err)
	}
	cfg := kernels.Config{Disabled: isa}
	r := VersionReport{
		Go: goruntime.Version(), OS: goruntime.GOOS, Arch: goruntime.GOARCH,
		CPU: strings.TrimSpace(cpuid.CPU.BrandName), ISA: kernels.Detected().String(),
		Disabled: isa.String(),
		Selected: map[string]string{
			"gemm":    kernels.SelectGemm(cfg).Name,
			"softmax": kernels.SelectSoftmax(cfg).Name,
			"relu":    kernels.SelectUnary(cfg, kernels.UnaryRelu).Name,
		},
	}
	if isa == 0 {
		r.Disabled = ""
	}
	r.Operators = ops.Supported()
	if r.CPU == "" {
		r.CPU = "unknown"
	}
	r.Version, r.Revision = buildVersion()
	if goruntime.GOARCH == "arm" {
		if v := goarm(); v != "" {
			r.Arch += " (GOARM=" + v + ")"
		}
	}
	for _, k := range kernels.GemmKernels() {
		req := k.Requires.String()
		if k.Requires == 0 {
			req = "-"
		}
		r.GEMM = append(r.GEMM, KernelStatus{Name: k.Name, Requires: req, Supported: k.Supported(cfg)})
	}
	if o.json {
		return e.printJSON(r)
	}
	w := e.stdout
	fmt.Fprintf(w, "edge %s", r.Version)
	if r.Revision != "" {
		fmt.Fprintf(w, " (%s)", r.Revision)
	}
	fmt.Fprintf(w, "\ngo       %s %s/%s\n", r.Go, r.OS, r.Arch)
	fmt.Fprintf(w, "cpu      %s\n", r.CPU)
	fmt.Fprintf(w, "isa      %s", r.ISA)
	if r.Disabled != "" {
		fmt.Fprintf(w, " (disabled: %s)", r.Disabled)
	}
	fmt.Fprintf(w, "\nkernels  gemm %s, softmax %s, relu %s\n", r.Selected["gemm"], r.Selected["softmax"], r.Selected["relu"])
	fmt.Fprintln(w, "gemm kernels compiled in (best first):")
	for _, k := range r.GEMM {
		mark := "  runs here"
		if !k.Supported {
			mark = "  not on this CPU"
		}
		if k.Name == r.Selected["gemm"] {
			mark = "  selected"
		}
		fmt.Fprintf(w, "  %-26s needs %-8s%s\n", k.Name, k.Requires, mark)
	}
	fmt.Fprintf(w, "operators (%d): %s\n", len(r.Operators), strings.Join(r.Operators, " "))
	return nil
}

func goarm() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOARM" {
				return s.Value
			}
		}
	}
	return ""
}
