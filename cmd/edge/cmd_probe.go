package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/edgeml/edge/device"
	"github.com/edgeml/edge/kernels"
)

var probeCommand = &command{
	name:    "probe",
	summary: "describe this device (CPU, SIMD, cores, caches, memory, board, thermal) and measure the kernels",
	usage: `Usage: edge probe [--json] [--root DIR] [--quick] [--recalibrate] [--no-calibrate]

Reads /proc, /sys and the device tree (below --root, for fake trees) and
prints the CPU (vendor, model, SIMD features, cores, big.LITTLE clusters,
caches, frequency, governor), memory and cgroup limits, the board
(Raspberry Pi, Jetson, DMI product) and thermal/throttling state. On this
machine (no --root) it also calibrates the kernels — GFLOPS on real layer
shapes and memory bandwidth at 1..N threads, about 2 s (--quick 0.5 s) —
and caches the result under $XDG_CACHE_HOME/edge.

Examples:
  edge probe
  edge probe --json | jq .cpu.features
  edge probe --root device/testdata/rpi4b-64bit --json
  edge probe --recalibrate`,
	newOpts: func() options { return &probeOpts{} },
}

type probeOpts struct {
	root        string
	json        bool
	quiet       bool
	quick       bool
	recalibrate bool
	noCal       bool
	disableISA  string
}

func (o *probeOpts) isQuiet() bool { return o.quiet }

func (o *probeOpts) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.root, "root", "", "probe the fake root `DIR` instead of this machine (no calibration)")
	flagJSON(fs, &o.json)
	flagQuiet(fs, &o.quiet)
	flagISA(fs, &o.disableISA)
	fs.BoolVar(&o.quick, "quick", false, "calibrate in about 0.5 s (1 and N threads only)")
	fs.BoolVar(&o.recalibrate, "recalibrate", false, "measure again even when a cached calibration exists")
	fs.BoolVar(&o.noCal, "no-calibrate", false, "skip the kernel calibration")
}

// ProbeReport is the JSON of `edge probe --json`: the device profile
// (device.Profile, inline) and the calibration (null when skipped).
type ProbeReport struct {
	*device.Profile
	Calibration *device.Calibration `json:"calibration"`
	// PeakGFLOPS is the best calibrated rate per thread count.
	PeakGFLOPS map[string]float64 `json:"peak_gflops,omitempty"`
}

func (o *probeOpts) run(e *env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	isa, err := kernels.ParseISA(o.disableISA)
	if err != nil {
		return usagef("--disable-isa: %v", err)
	}
	prof, err := device.Probe(device.ProbeOptions{Root: o.root})
	if err != nil {
		return err
	}
	rep := ProbeReport{Profile: prof}
	host := o.root == "" || filepath.Clean(o.root) == "/"
	if host && !o.noCal {
		cal, err := calibrate(e, prof, kernels.Config{Disabled: isa}, o.quick, o.recalibrate)
		if err != nil {
			return err
		}
		rep.Calibration = cal
		rep.PeakGFLOPS = map[string]float64{}
		for _, t := range cal.Threads {
			rep.PeakGFLOPS[fmt.Sprint(t)] = cal.PeakGFLOPS(t)
		}
	}
	if o.json {
		return e.printJSON(rep)
	}
	printProfile(e.stdout, prof)
	if rep.Calibration != nil {
		printCalibration(e.stdout, rep.Calibration)
	}
	return nil
}

// calibrate runs (or loads) the kernel calibration with a progress bar.
func calibrate(e *env, prof *device.Profile, cfg kernels.Config, quick, again bool) (*device.Calibration, error) {
	bar := e.newProgress("calibrating kernels", 0).Tick()
	cal, err := device.Calibrate(context.Background(), device.CalibrateOptions{Quick: quick, Kernels: cfg, Profile: prof, Recalibrate: again})
	bar.Done()
	return cal, err
}

func printProfile(w io.Writer, p *device.Profile) {
	c := p.CPU
	fmt.Fprintf(w, "board     %s", p.Board.Name)
	if p.Board.Kind != "" && p.Board.Kind != "generic" {
		fmt.Fprintf(w, " (%s)", p.Board.Kind)
	}
	if p.Board.RPi != nil {
		fmt.Fprintf(w, ", rev %s %s %d MB", p.Board.RPi.Code, p.Board.RPi.Processor, p.Board.RPi.MemoryMB)
	}
	fmt.Fprintln(w)
	if p.OS != "" {
		fmt.Fprintf(w, "os        %s\n", p.OS)
	}
	fmt.Fprintf(w, "cpu       %s %s (%s)\n", orUnknown(c.Vendor), orUnknown(c.Model), orUnknown(c.Arch))
	fmt.Fprintf(w, "simd      %s\n", orUnknown(strings.Join(c.Features, " ")))
	fmt.Fprintf(w, "cores     %s physical, %s logical, edge uses %d threads", count(c.PhysicalCores), count(c.LogicalCores), c.Threads)
	if c.Quota > 0 {
		fmt.Fprintf(w, " (cgroup quota %.2g CPUs)", c.Quota)
	}
	fmt.Fprintln(w)
	for _, cl := range c.Clusters {
		fmt.Fprintf(w, "cluster   cpus %v %s capacity %d max %.0f MHz\n", cl.CPUs, cl.Model, cl.Capacity, cl.MaxMHz)
	}
	fmt.Fprintf(w, "caches    L1d %s, L2 %s, L3 %s\n", cache(c.Cache.L1D), cache(c.Cache.L2), cache(c.Cache.L3))
	if c.CurMHz > 0 || c.MaxMHz > 0 || c.Governor != "" {
		fmt.Fprintf(w, "clock     %s MHz now, %s MHz max, governor %s\n", mhz(c.CurMHz), mhz(c.MaxMHz), orUnknown(c.Governor))
	}
	m := p.Memory
	fmt.Fprintf(w, "memory    %s total, %s available, limit %s (%s), swap %s\n", mem(m.Total), mem(m.Available), mem(m.Limit), orUnknown(m.LimitSource), mem(m.SwapTotal))
	if m.CgroupV2Max > 0 || m.CgroupV1Limit > 0 {
		fmt.Fprintf(w, "cgroup    limit %s, usage %s, this process may use %s\n", mem(max(m.CgroupV2Max, m.CgroupV1Limit)), mem(m.Usage), mem(m.EffectiveAvailable))
	}
	if len(p.Thermal.Zones) == 0 {
		fmt.Fprintln(w, "thermal   no thermal zones")
	}
	for _, z := range p.Thermal.Zones {
		fmt.Fprintf(w, "thermal   %s %s %.1f °C\n", z.Name, z.Type, z.TempC)
	}
	if t := p.Thermal.Throttled; t != nil {
		state := "ok"
		if !t.Trustworthy() {
			state = "THROTTLED NOW — benchmark numbers are pessimistic"
		} else if t.Since.Any() {
			state = "ok now, throttled since boot"
		}
		fmt.Fprintf(w, "throttle  0x%x (%s): %s\n", t.Raw, t.Source, state)
	}
	var absent, failed int
	for _, s := range p.Sources {
		switch s.Status {
		case device.Absent:
			absent++
		case device.Failed:
			failed++
		}
	}
	fmt.Fprintf(w, "sources   %d read, %d absent, %d failed (--json lists them)\n", len(p.Sources)-absent-failed, absent, failed)
}

func printCalibration(w io.Writer, c *device.Calibration) {
	how := fmt.Sprintf("measured in %.1f s", c.ElapsedMs/1000)
	if c.Cached {
		how = "cached from " + c.CreatedAt.Format("2006-01-02 15:04")
	}
	fmt.Fprintf(w, "kernels   %s, %s\n", c.Kernel, how)
	for _, t := range c.Threads {
		line := fmt.Sprintf("gflops    %d thread%s: peak %.1f GFLOP/s", t, plural(t), c.PeakGFLOPS(t))
		for _, m := range c.Memory {
			if m.Threads == t {
				line += fmt.Sprintf(", copy %.1f GB/s (cache) %.1f GB/s (DRAM), %.1f µs per op", m.CacheGBs, m.DRAMGBs, m.OverheadNs/1000)
			}
		}
		fmt.Fprintln(w, line)
	}
	if c.Throttled {
		fmt.Fprintln(w, "warning   the board was throttling during calibration")
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func count(n int) string {
	if n <= 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

func cache(b int) string {
	if b <= 0 {
		return "?"
	}
	return humanBytes(int64(b))
}

func mem(b int64) string {
	if b <= 0 {
		return "?"
	}
	return humanBytes(b)
}

func mhz(f float64) string {
	if f <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f", f)
}
