package device

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// readFileUnder reads rel below root.
func readFileUnder(root, rel string) ([]byte, error) {
	return os.ReadFile(filepath.Join(root, rel))
}

const throttledFile = "sys/devices/platform/soc/soc:firmware/get_throttled"

func (p *prober) probeThermal(t *Thermal) {
	zones := p.glob("sys/class/thermal/thermal_zone*")
	if len(zones) == 0 {
		p.note("thermal", "/sys/class/thermal", Absent, "no thermal zones")
	}
	failed := 0
	for _, z := range zones {
		milli, ok := p.intQuiet(path.Join(z, "temp"))
		if !ok {
			failed++
			continue
		}
		typ, _ := p.readQuiet(path.Join(z, "type"))
		t.Zones = append(t.Zones, Zone{Name: path.Base(z), Type: typ, TempC: float64(milli) / 1000})
	}
	switch {
	case len(zones) > 0 && failed == len(zones):
		p.note("thermal", "/sys/class/thermal", Failed, "no readable temp file")
	case len(zones) > 0:
		p.note("thermal", "/sys/class/thermal", Found, fmt.Sprintf("%d zones", len(t.Zones)))
	}

	// Raspberry Pi firmware throttling word.
	if raw, ok := p.read("rpi.get_throttled", throttledFile); ok {
		v, err := parseThrottled(string(raw))
		if err != nil {
			p.sources[len(p.sources)-1].Status = Failed
			p.sources[len(p.sources)-1].Detail = err.Error()
		} else {
			t.Throttled = decodeThrottled(v, "/"+throttledFile)
		}
		return
	}
	if p.host && p.isRPi() {
		if out, ok := p.command("vcgencmd", "get_throttled"); ok {
			if v, err := parseThrottled(out); err == nil {
				t.Throttled = decodeThrottled(v, "vcgencmd get_throttled")
			} else {
				p.sources[len(p.sources)-1].Status = Failed
				p.sources[len(p.sources)-1].Detail = err.Error()
			}
		}
	}
}

func (p *prober) isRPi() bool {
	for _, d := range dtDirs {
		if b, err := readFileUnder(p.root, d+"/model"); err == nil && strings.HasPrefix(string(b), "Raspberry Pi") {
			return true
		}
	}
	return false
}

// parseThrottled accepts "0x50005", "50005" or "throttled=0x50005".
func parseThrottled(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if _, v, ok := strings.Cut(s, "="); ok {
		s = v
	}
	s = strings.TrimPrefix(strings.ToLower(s), "0x")
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("cannot parse throttling word %q", s)
	}
	return uint32(v), nil
}

// decodeThrottled decodes the firmware word: bits 0–3 are the current
// state (under-voltage, ARM frequency capped, throttled, soft temperature
// limit), bits 16–19 the same conditions since boot.
func decodeThrottled(v uint32, source string) *Throttled {
	flags := func(b uint32) ThrottleFlags {
		return ThrottleFlags{UnderVoltage: b&1 != 0, FreqCapped: b&2 != 0, Throttled: b&4 != 0, SoftTempLim: b&8 != 0}
	}
	return &Throttled{Raw: v, Source: source, Now: flags(v), Since: flags(v >> 16)}
}
