package device

import (
	"fmt"
	"strings"
)

// Summary renders the profile as the readable lines `edge probe` prints:
// CPU, SIMD, cores, caches, frequency, memory, board, thermal state.
// Unknown values are shown as "unknown".
func (p *Profile) Summary() string {
	var b strings.Builder
	line := func(key, format string, a ...any) {
		fmt.Fprintf(&b, "%-9s "+format+"\n", append([]any{key + ":"}, a...)...)
	}
	unknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	c := p.CPU
	line("cpu", "%s (%s), %s", unknown(c.Model), unknown(c.Vendor), unknown(c.Arch))
	simd := strings.Join(c.Features, " ")
	line("simd", "%s", unknown(simd))
	cores := fmt.Sprintf("%d physical, %d logical", c.PhysicalCores, c.LogicalCores)
	if c.Quota > 0 {
		cores += fmt.Sprintf(", cgroup quota %.2g CPUs", c.Quota)
	}
	line("cores", "%s; %d threads by default", cores, c.Threads)
	if len(c.Clusters) > 1 {
		var parts []string
		for _, cl := range c.Clusters {
			parts = append(parts, fmt.Sprintf("%s cpus %v capacity %d %.0f MHz", unknown(cl.Model), cl.CPUs, cl.Capacity, cl.MaxMHz))
		}
		line("clusters", "%s", strings.Join(parts, "; "))
	}
	size := func(n int) string {
		switch {
		case n <= 0:
			return "unknown"
		case n >= 1<<20:
			return fmt.Sprintf("%g MiB", float64(n)/(1<<20))
		}
		return fmt.Sprintf("%g KiB", float64(n)/(1<<10))
	}
	line("cache", "L1d %s, L2 %s, L3 %s", size(c.Cache.L1D), size(c.Cache.L2), size(c.Cache.L3))
	freq := "unknown"
	if c.CurMHz > 0 || c.MaxMHz > 0 {
		freq = fmt.Sprintf("%.0f MHz now, %.0f MHz max", c.CurMHz, c.MaxMHz)
		if c.Governor != "" {
			freq += ", governor " + c.Governor
		}
	}
	line("freq", "%s", freq)
	m := p.Memory
	mib := func(v int64) string { return fmt.Sprintf("%.0f MiB", float64(v)/(1<<20)) }
	line("memory", "%s total, %s available, limit %s (%s), %s usable now, swap %s",
		mib(m.Total), mib(m.Available), mib(m.Limit), m.LimitSource, mib(m.EffectiveAvailable), mib(m.SwapTotal))
	board := p.Board.Name
	if p.Board.RPi != nil {
		r := p.Board.RPi
		board += fmt.Sprintf(" (revision %s: %s, %s, %d MB, board rev %s)", r.Code, r.Type, r.Processor, r.MemoryMB, r.BoardRev)
	}
	line("board", "%s [%s]", unknown(board), p.Board.Kind)
	if p.OS != "" {
		line("os", "%s", p.OS)
	}
	var temps []string
	for _, z := range p.Thermal.Zones {
		temps = append(temps, fmt.Sprintf("%s %.1f°C", unknown(z.Type), z.TempC))
	}
	line("thermal", "%s", unknown(strings.Join(temps, ", ")))
	if th := p.Thermal.Throttled; th != nil {
		flags := func(f ThrottleFlags) string {
			var s []string
			for _, x := range []struct {
				on   bool
				name string
			}{{f.UnderVoltage, "under-voltage"}, {f.FreqCapped, "frequency capped"}, {f.Throttled, "throttled"}, {f.SoftTempLim, "soft temperature limit"}} {
				if x.on {
					s = append(s, x.name)
				}
			}
			if len(s) == 0 {
				return "none"
			}
			return strings.Join(s, ", ")
		}
		line("throttle", "0x%x: now %s; since boot %s", th.Raw, flags(th.Now), flags(th.Since))
		if !th.Trustworthy() {
			line("warning", "the board is throttling now: benchmark numbers will be low")
		}
	}
	return b.String()
}
