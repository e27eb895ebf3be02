package device

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Device-tree locations, relative to the root; /proc/device-tree is
// normally a symlink to the second.
var dtDirs = []string{"proc/device-tree", "sys/firmware/devicetree/base"}

// dtRead reads a device-tree property and records it under name.
func (p *prober) dtRead(name, prop string) ([]byte, bool) {
	for _, d := range dtDirs {
		if b, err := readFileUnder(p.root, d+"/"+prop); err == nil {
			p.note(name, "/"+d+"/"+prop, Found, "")
			return b, true
		}
	}
	p.note(name, "/proc/device-tree/"+prop, Absent, "no device tree (not an ARM board, or not exposed)")
	return nil, false
}

// splitNUL splits NUL-separated device-tree strings.
func splitNUL(b []byte) []string {
	var out []string
	for _, s := range strings.Split(string(b), "\x00") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p *prober) probeBoard(b *Board) {
	if raw, ok := p.dtRead("devicetree.model", "model"); ok {
		if m := splitNUL(raw); len(m) > 0 {
			b.Model = m[0]
		}
	}
	if raw, ok := p.dtRead("devicetree.compatible", "compatible"); ok {
		b.Compatible = splitNUL(raw)
	}
	p.loadCPUInfo()
	rev := p.cpuField("Revision")
	if rev == "" {
		for _, d := range dtDirs {
			if raw, err := readFileUnder(p.root, d+"/system/linux,revision"); err == nil && len(raw) >= 4 {
				rev = fmt.Sprintf("%x", binary.BigEndian.Uint32(raw[:4]))
				break
			}
		}
	}
	compat := func(prefix string) bool {
		for _, c := range b.Compatible {
			if strings.HasPrefix(c, prefix) {
				return true
			}
		}
		return false
	}
	hw := p.cpuField("Hardware")
	switch {
	case strings.HasPrefix(b.Model, "Raspberry Pi") || compat("raspberrypi,") ||
		(strings.HasPrefix(hw, "BCM2") && rev != ""):
		b.Kind = "raspberrypi"
		b.Revision = strings.TrimPrefix(strings.ToLower(rev), "0x")
		if r, err := DecodeRPiRevision(b.Revision); err == nil {
			b.RPi = r
		} else if rev != "" {
			p.note("rpi.revision", "/proc/cpuinfo", Failed, err.Error())
		}
		b.Name = b.Model
		if i := strings.Index(b.Name, " Rev "); i > 0 {
			b.Name = b.Name[:i]
		}
		if b.Name == "" && b.RPi != nil {
			b.Name = "Raspberry Pi " + b.RPi.Type
		}
		if b.Name == "" {
			b.Name = "Raspberry Pi"
		}
	case strings.Contains(b.Model, "Jetson") || compat("nvidia,"):
		b.Kind = "jetson"
		b.Name = jetsonName(b.Model, b.Compatible)
	default:
		if raw, ok := p.read("dmi.product_name", "sys/class/dmi/id/product_name"); ok {
			name := strings.TrimSpace(string(raw))
			if name != "" && !strings.Contains(name, "To be filled") && !strings.EqualFold(name, "System Product Name") {
				b.Kind, b.Name, b.Model = "dmi", name, name
				if v, ok := p.readQuiet("sys/class/dmi/id/sys_vendor"); ok && v != "" && !strings.HasPrefix(name, v) {
					b.Name = v + " " + name
				}
				return
			}
		}
		b.Kind, b.Name = "generic", "generic"
		if b.Model != "" {
			b.Name = b.Model
		}
	}
}

// jetsonName names an NVIDIA Jetson module from the device-tree model and
// compatible strings (module part numbers p3767 = Orin NX/Nano, p3701 =
// AGX Orin, p3668 = Xavier NX, p2888 = AGX Xavier, p3448 = Nano).
func jetsonName(model string, compatible []string) string {
	byModel := []struct{ sub, name string }{
		{"Orin Nano", "Jetson Orin Nano"}, {"Orin NX", "Jetson Orin NX"}, {"AGX Orin", "Jetson AGX Orin"},
		{"Xavier NX", "Jetson Xavier NX"}, {"AGX Xavier", "Jetson AGX Xavier"}, {"Jetson Nano", "Jetson Nano"},
		{"Jetson TX2", "Jetson TX2"}, {"Jetson TX1", "Jetson TX1"},
	}
	for _, m := range byModel {
		if strings.Contains(model, m.sub) {
			return m.name
		}
	}
	has := func(sub string) bool {
		for _, c := range compatible {
			if strings.Contains(c, sub) {
				return true
			}
		}
		return false
	}
	switch {
	case has("p3767-0003"), has("p3767-0004"), has("p3767-0005"):
		return "Jetson Orin Nano"
	case has("p3767"):
		return "Jetson Orin NX"
	case has("p3701"):
		return "Jetson AGX Orin"
	case has("p3668"):
		return "Jetson Xavier NX"
	case has("p2888"), has("p2972"):
		return "Jetson AGX Xavier"
	case has("p3448"), has("p3450"), has("jetson-nano"):
		return "Jetson Nano"
	case has("tegra234"):
		return "Jetson Orin"
	case has("tegra194"):
		return "Jetson Xavier"
	case has("tegra210"):
		return "Jetson (Tegra X1)"
	}
	if model != "" {
		return model
	}
	return "NVIDIA Jetson"
}

// Raspberry Pi revision-code tables
// (https://www.raspberrypi.com/documentation/computers/raspberry-pi.html#raspberry-pi-revision-codes).
var (
	rpiTypes = map[uint32]string{
		0x00: "A", 0x01: "B", 0x02: "A+", 0x03: "B+", 0x04: "2B", 0x05: "Alpha", 0x06: "CM1",
		0x08: "3B", 0x09: "Zero", 0x0a: "CM3", 0x0c: "Zero W", 0x0d: "3B+", 0x0e: "3A+",
		0x10: "CM3+", 0x11: "4B", 0x12: "Zero 2 W", 0x13: "400", 0x14: "CM4", 0x15: "CM4S",
		0x17: "5", 0x18: "CM5", 0x19: "500", 0x1a: "CM5 Lite",
	}
	rpiProcessors = []string{"BCM2835", "BCM2836", "BCM2837", "BCM2711", "BCM2712"}
	rpiMakers     = []string{"Sony UK", "Egoman", "Embest", "Sony Japan", "Embest", "Stadium"}
)

// DecodeRPiRevision decodes a new-style Raspberry Pi revision code (hex,
// as in /proc/cpuinfo "Revision", e.g. "c03114" = 4B 4 GB rev 1.4):
// bit 23 new-style flag, bits 20–22 memory (256 MB << n), 16–19
// manufacturer, 12–15 processor, 4–11 type, 0–3 revision.
func DecodeRPiRevision(code string) (*RPiRevision, error) {
	code = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(code)), "0x")
	if code == "" {
		return nil, fmt.Errorf("device: empty Raspberry Pi revision code")
	}
	v64, err := strconv.ParseUint(code, 16, 32)
	if err != nil {
		return nil, fmt.Errorf("device: Raspberry Pi revision %q is not hexadecimal", code)
	}
	v := uint32(v64)
	if v&(1<<23) == 0 {
		return nil, fmt.Errorf("device: Raspberry Pi revision %q is an old-style code (first-generation Pi 1); only new-style codes are decoded", code)
	}
	r := &RPiRevision{Code: code}
	typ := v >> 4 & 0xff
	if name, ok := rpiTypes[typ]; ok {
		r.Type = name
	} else {
		r.Type = fmt.Sprintf("type 0x%x", typ)
	}
	if proc := v >> 12 & 0xf; int(proc) < len(rpiProcessors) {
		r.Processor = rpiProcessors[proc]
	} else {
		r.Processor = fmt.Sprintf("processor %d", proc)
	}
	r.MemoryMB = 256 << (v >> 20 & 7)
	if mk := v >> 16 & 0xf; int(mk) < len(rpiMakers) {
		r.Manufacturer = rpiMakers[mk]
	} else {
		r.Manufacturer = fmt.Sprintf("manufacturer %d", mk)
	}
	r.BoardRev = fmt.Sprintf("1.%d", v&0xf)
	return r, nil
}
