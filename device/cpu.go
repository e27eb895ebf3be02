package device

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// loadCPUInfo parses /proc/cpuinfo once: blocks with a "processor" key
// describe one CPU; other blocks (ARM's Hardware/Revision/Model lines)
// go to the header map.
func (p *prober) loadCPUInfo() bool {
	if p.cpuhdr != nil {
		return len(p.cpuinfo) > 0 || len(p.cpuhdr) > 0
	}
	p.cpuhdr = map[string]string{}
	b, ok := p.read("cpuinfo", "proc/cpuinfo")
	if !ok {
		return false
	}
	cur := map[string]string{}
	flush := func() {
		if len(cur) == 0 {
			return
		}
		if _, isCPU := cur["processor"]; isCPU {
			p.cpuinfo = append(p.cpuinfo, cur)
		} else {
			for k, v := range cur {
				p.cpuhdr[k] = v
			}
		}
		cur = map[string]string{}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		k, v, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		k = strings.TrimSpace(k)
		// Old ARM kernels print "Processor : ARMv7 ..." in the header.
		if k == "processor" {
			if _, err := strconv.Atoi(strings.TrimSpace(v)); err != nil {
				k = "Processor"
			} else if _, dup := cur["processor"]; dup {
				flush()
			}
		}
		cur[k] = strings.TrimSpace(v)
	}
	flush()
	if len(p.cpuinfo) == 0 && len(p.cpuhdr) == 0 {
		p.sources[len(p.sources)-1].Status = Failed
		p.sources[len(p.sources)-1].Detail = "no key: value lines"
		return false
	}
	return true
}

// cpuField returns the first processor block's value of key, or the header's.
func (p *prober) cpuField(key string) string {
	for _, blk := range p.cpuinfo {
		if v, ok := blk[key]; ok {
			return v
		}
	}
	return p.cpuhdr[key]
}

// armParts names ARM CPU part numbers (implementer 0x41 unless noted).
var armParts = map[string]string{
	"0xd03": "Cortex-A53", "0xd04": "Cortex-A35", "0xd05": "Cortex-A55", "0xd07": "Cortex-A57",
	"0xd08": "Cortex-A72", "0xd09": "Cortex-A73", "0xd0a": "Cortex-A75", "0xd0b": "Cortex-A76",
	"0xd0c": "Neoverse-N1", "0xd0d": "Cortex-A77", "0xd40": "Neoverse-V1", "0xd41": "Cortex-A78",
	"0xd42": "Cortex-A78AE", "0xd44": "Cortex-X1", "0xd46": "Cortex-A510", "0xd47": "Cortex-A710",
	"0xd48": "Cortex-X2", "0xd49": "Neoverse-N2", "0xd4b": "Cortex-A78C", "0xd4f": "Neoverse-V2",
	"0xd80": "Cortex-A520", "0xd81": "Cortex-A720", "0xd82": "Cortex-X4", "0xc07": "Cortex-A7",
	"0xc0f": "Cortex-A15", "0xb76": "ARM1176",
}

var armImplementers = map[string]string{
	"0x41": "ARM", "0x42": "Broadcom", "0x43": "Cavium", "0x4e": "NVIDIA", "0x51": "Qualcomm",
	"0x61": "Apple", "0x48": "HiSilicon", "0xc0": "Ampere",
}

// x86Features maps /proc/cpuinfo flags to the names Profile uses, in
// report order; armFeatures likewise for the Features line.
var x86Features = [][2]string{
	{"sse4_2", "sse4.2"}, {"avx2", "avx2"}, {"fma", "fma"}, {"avx512f", "avx512f"},
	{"avx512bw", "avx512bw"}, {"avx512_vnni", "avx512vnni"}, {"avx512_bf16", "avx512bf16"},
}

var armFeatures = [][2]string{
	{"neon", "neon"}, {"asimd", "asimd"}, {"asimddp", "asimddp"}, {"asimdhp", "asimdhp"},
	{"i8mm", "i8mm"}, {"bf16", "bf16"}, {"sve", "sve"},
}

func (p *prober) probeCPU(c *CPU) {
	haveInfo := p.loadCPUInfo()
	flags := strings.Fields(p.cpuField("flags"))
	armFeat := strings.Fields(p.cpuField("Features"))
	has := func(list []string, f string) bool {
		for _, x := range list {
			if x == f {
				return true
			}
		}
		return false
	}

	// Architecture.
	switch {
	case p.host:
		c.Arch = hostArch
	case len(flags) > 0 && has(flags, "lm"):
		c.Arch = "amd64"
	case len(flags) > 0:
		c.Arch = "386"
	case has(armFeat, "asimd") || strings.HasPrefix(p.cpuField("CPU architecture"), "8") && !strings.Contains(p.cpuField("model name"), "v7"):
		c.Arch = "arm64"
	case len(armFeat) > 0 || strings.Contains(p.cpuField("model name"), "ARMv"):
		c.Arch = "arm"
	}

	// Vendor, model and features from cpuinfo.
	if haveInfo {
		if v := p.cpuField("vendor_id"); v != "" {
			c.Vendor = v
		}
		if m := p.cpuField("model name"); m != "" && len(flags) > 0 {
			c.Model = m
		}
		for _, f := range x86Features {
			if has(flags, f[0]) {
				c.Features = append(c.Features, f[1])
			}
		}
		if len(flags) == 0 {
			for _, f := range armFeatures {
				if has(armFeat, f[0]) || f[0] == "asimdhp" && has(armFeat, "fphp") && has(armFeat, "asimdhp") {
					c.Features = append(c.Features, f[1])
				}
			}
			if impl := p.cpuField("CPU implementer"); impl != "" {
				c.Vendor = armImplementers[impl]
				if c.Vendor == "" {
					c.Vendor = "implementer " + impl
				}
			}
			var parts []string
			seen := map[string]bool{}
			for _, blk := range p.cpuinfo {
				if part := blk["CPU part"]; part != "" && !seen[part] {
					seen[part] = true
					name := armParts[part]
					if name == "" {
						name = "part " + part
					}
					parts = append(parts, name)
				}
			}
			c.Model = strings.Join(parts, " + ")
			if c.Model == "" {
				c.Model = p.cpuField("model name")
			}
		}
	}

	// Online CPUs.
	var online []int
	if b, ok := p.read("cpu.online", "sys/devices/system/cpu/online"); ok {
		cpus, err := parseCPUList(string(b))
		if err != nil {
			p.sources[len(p.sources)-1].Status = Failed
			p.sources[len(p.sources)-1].Detail = err.Error()
		} else {
			online = cpus
		}
	}
	if online == nil {
		for _, blk := range p.cpuinfo {
			if n, err := strconv.Atoi(blk["processor"]); err == nil {
				online = append(online, n)
			}
		}
	}
	c.LogicalCores = len(online)

	// Physical cores: distinct (package, core) pairs.
	cores := map[[2]int64]bool{}
	for _, n := range online {
		dir := fmt.Sprintf("sys/devices/system/cpu/cpu%d/topology/", n)
		core, ok1 := p.intQuiet(dir + "core_id")
		pkg, _ := p.intQuiet(dir + "physical_package_id")
		if !ok1 {
			cores = nil
			break
		}
		cores[[2]int64{pkg, core}] = true
	}
	if len(cores) == 0 {
		cores = map[[2]int64]bool{}
		for _, blk := range p.cpuinfo {
			core, err1 := strconv.ParseInt(blk["core id"], 10, 64)
			pkg, _ := strconv.ParseInt(blk["physical id"], 10, 64)
			if err1 != nil {
				cores = nil
				break
			}
			cores[[2]int64{pkg, core}] = true
		}
	}
	switch {
	case len(cores) > 0:
		c.PhysicalCores = len(cores)
	case strings.HasPrefix(c.Arch, "arm"):
		c.PhysicalCores = c.LogicalCores // no SMT on the ARM cores edge targets
	}

	// Clusters, frequency, governor.
	p.probeClusters(c, online)
	if c.CurMHz == 0 {
		if v, err := strconv.ParseFloat(p.cpuField("cpu MHz"), 64); err == nil {
			c.CurMHz = v
		}
	}

	// Caches from sysfs.
	p.probeCaches(c)

	// The real amd64 host: cpuid knows best.
	if p.host && hostArch == "amd64" && cpuid.CPU.VendorString != "" {
		p.note("cpuid", "cpuid", Found, "")
		c.Vendor = cpuid.CPU.VendorString
		c.Model = strings.TrimSpace(cpuid.CPU.BrandName)
		c.Features = c.Features[:0]
		for _, f := range []struct {
			id   cpuid.FeatureID
			name string
		}{{cpuid.SSE42, "sse4.2"}, {cpuid.AVX2, "avx2"}, {cpuid.FMA3, "fma"}, {cpuid.AVX512F, "avx512f"},
			{cpuid.AVX512BW, "avx512bw"}, {cpuid.AVX512VNNI, "avx512vnni"}, {cpuid.AVX512BF16, "avx512bf16"}} {
			if cpuid.CPU.Supports(f.id) {
				c.Features = append(c.Features, f.name)
			}
		}
		if cpuid.CPU.Cache.L1D > 0 {
			c.Cache.L1D = cpuid.CPU.Cache.L1D
		}
		if cpuid.CPU.Cache.L2 > 0 {
			c.Cache.L2 = cpuid.CPU.Cache.L2
		}
		if cpuid.CPU.Cache.L3 > 0 {
			c.Cache.L3 = cpuid.CPU.Cache.L3
		}
		if c.PhysicalCores == 0 && cpuid.CPU.PhysicalCores > 0 {
			c.PhysicalCores = cpuid.CPU.PhysicalCores
		}
		if c.MaxMHz == 0 && cpuid.CPU.BoostFreq > 0 {
			c.MaxMHz = float64(cpuid.CPU.BoostFreq) / 1e6
		}
	}
	if c.PhysicalCores == 0 {
		c.PhysicalCores = c.LogicalCores
	}

	// cgroup CPU quota.
	c.Quota = p.cpuQuota()
	c.Threads = c.LogicalCores
	if c.Quota > 0 {
		q := int(math.Ceil(c.Quota - 1e-9))
		if c.Threads == 0 || q < c.Threads {
			c.Threads = max(1, q)
		}
	}
}

// probeClusters groups online CPUs by (capacity, max frequency, part).
func (p *prober) probeClusters(c *CPU, online []int) {
	type key struct {
		capacity int64
		maxKHz   int64
		part     string
	}
	part := map[int]string{}
	for _, blk := range p.cpuinfo {
		if n, err := strconv.Atoi(blk["processor"]); err == nil && blk["CPU part"] != "" {
			part[n] = armParts[blk["CPU part"]]
		}
	}
	groups := map[key][]int{}
	var order []key
	found := 0
	for _, n := range online {
		dir := fmt.Sprintf("sys/devices/system/cpu/cpu%d/", n)
		capy, ok1 := p.intQuiet(dir + "cpu_capacity")
		maxKHz, ok2 := p.intQuiet(dir + "cpufreq/cpuinfo_max_freq")
		if ok1 || ok2 {
			found++
		}
		k := key{capy, maxKHz, part[n]}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], n)
	}
	if found == 0 {
		p.note("cpu.capacity", "/sys/devices/system/cpu/cpu*/{cpu_capacity,cpufreq}", Absent, "no cpu_capacity or cpufreq files")
	} else {
		p.note("cpu.capacity", "/sys/devices/system/cpu/cpu*/{cpu_capacity,cpufreq}", Found, fmt.Sprintf("%d of %d CPUs", found, len(online)))
		sort.SliceStable(order, func(i, j int) bool {
			if order[i].capacity != order[j].capacity {
				return order[i].capacity > order[j].capacity
			}
			return order[i].maxKHz > order[j].maxKHz
		})
		for _, k := range order {
			c.Clusters = append(c.Clusters, Cluster{CPUs: groups[k], Model: k.part, Capacity: int(k.capacity), MaxMHz: float64(k.maxKHz) / 1000})
			c.MaxMHz = max(c.MaxMHz, float64(k.maxKHz)/1000)
		}
	}
	if len(online) > 0 {
		dir := fmt.Sprintf("sys/devices/system/cpu/cpu%d/cpufreq/", online[0])
		if v, ok := p.intQuiet(dir + "scaling_cur_freq"); ok {
			c.CurMHz = float64(v) / 1000
		}
		if g, ok := p.readQuiet(dir + "scaling_governor"); ok {
			c.Governor = g
		}
	}
}

// probeCaches reads cpu0's cache/index*/ directories.
func (p *prober) probeCaches(c *CPU) {
	dirs := p.glob("sys/devices/system/cpu/cpu0/cache/index*")
	if len(dirs) == 0 {
		p.note("cpu.cache", "/sys/devices/system/cpu/cpu0/cache", Absent, "no cache index directories")
		return
	}
	n := 0
	for _, d := range dirs {
		level, ok1 := p.intQuiet(path.Join(d, "level"))
		typ, ok2 := p.readQuiet(path.Join(d, "type"))
		sz, ok3 := p.readQuiet(path.Join(d, "size"))
		size, ok4 := parseSize(sz)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			continue
		}
		n++
		switch {
		case level == 1 && typ == "Data":
			c.Cache.L1D = size
		case level == 2 && typ != "Instruction":
			c.Cache.L2 = size
		case level == 3 && typ != "Instruction":
			c.Cache.L3 = size
		}
	}
	if n == 0 {
		p.note("cpu.cache", "/sys/devices/system/cpu/cpu0/cache", Failed, "index directories without readable level/type/size")
		return
	}
	p.note("cpu.cache", "/sys/devices/system/cpu/cpu0/cache", Found, "")
}
