package device_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/edgeml/edge/device"
	"github.com/edgeml/edge/device/devicetest"
	"github.com/klauspost/cpuid/v2"
)

func TestProbeTrees(t *testing.T) {
	type want struct {
		arch, vendor, model string
		features            []string
		physical, logical   int
		threads             int
		l1d, l2, l3         int
		maxMHz              float64
		governor            string
		memLimit            int64
		limitSource         string
		boardKind, board    string
		rpiType             string
		rpiMemMB            int
		zones               int
		throttled           bool // Throttled present
		now, since          device.ThrottleFlags
		osName              string
	}
	tests := []struct {
		tree string
		want want
	}{
		{"rpi4b-32bit", want{arch: "arm", vendor: "ARM", model: "Cortex-A72", features: []string{"neon"},
			physical: 4, logical: 4, threads: 4, maxMHz: 1500, governor: "performance",
			memLimit: 1893128 << 10, limitSource: "meminfo", boardKind: "raspberrypi", board: "Raspberry Pi 4 Model B",
			rpiType: "4B", rpiMemMB: 2048, zones: 1, throttled: true,
			now:    device.ThrottleFlags{UnderVoltage: true, FreqCapped: true},
			since:  device.ThrottleFlags{UnderVoltage: true, FreqCapped: true},
			osName: "Raspbian GNU/Linux 11 (bullseye)"}},
		{"rpi4b-64bit", want{arch: "arm64", vendor: "ARM", model: "Cortex-A72", features: []string{"asimd"},
			physical: 4, logical: 4, threads: 4, l1d: 32 << 10, l2: 1 << 20, maxMHz: 1800, governor: "ondemand",
			memLimit: 3885396 << 10, limitSource: "meminfo", boardKind: "raspberrypi", board: "Raspberry Pi 4 Model B",
			rpiType: "4B", rpiMemMB: 4096, zones: 1, throttled: true,
			since:  device.ThrottleFlags{UnderVoltage: true, Throttled: true},
			osName: "Debian GNU/Linux 12 (bookworm)"}},
		{"rpi5", want{arch: "arm64", vendor: "ARM", model: "Cortex-A76", features: []string{"asimd", "asimddp", "asimdhp"},
			physical: 4, logical: 4, threads: 4, l1d: 64 << 10, l2: 512 << 10, l3: 2 << 20, maxMHz: 2400, governor: "ondemand",
			memLimit: 8245232 << 10, limitSource: "meminfo", boardKind: "raspberrypi", board: "Raspberry Pi 5 Model B",
			rpiType: "5", rpiMemMB: 8192, zones: 1, throttled: true, osName: "Debian GNU/Linux 12 (bookworm)"}},
		{"jetson-nano", want{arch: "arm64", vendor: "ARM", model: "Cortex-A57", features: []string{"asimd"},
			physical: 3, logical: 3, threads: 3, maxMHz: 1479, governor: "schedutil",
			memLimit: 4051032 << 10, limitSource: "meminfo", boardKind: "jetson", board: "Jetson Nano", zones: 6,
			osName: "Ubuntu 18.04.6 LTS"}},
		{"jetson-orin-nano", want{arch: "arm64", vendor: "ARM", model: "Cortex-A78AE", features: []string{"asimd", "asimddp", "asimdhp"},
			physical: 6, logical: 6, threads: 6, l1d: 64 << 10, l2: 256 << 10, l3: 2 << 20, maxMHz: 1510.4, governor: "schedutil",
			memLimit: 7812572 << 10, limitSource: "meminfo", boardKind: "jetson", board: "Jetson Orin Nano", zones: 5,
			osName: "Ubuntu 22.04.4 LTS"}},
		{"x86-container-512m", want{arch: "amd64", vendor: "AuthenticAMD", model: "AMD EPYC 9354 32-Core Processor",
			features: []string{"sse4.2", "avx2", "fma", "avx512f", "avx512bw", "avx512vnni", "avx512bf16"},
			physical: 8, logical: 16, threads: 2, l1d: 32 << 10, l2: 1 << 20, l3: 32 << 20,
			memLimit: 536870912, limitSource: "cgroup v2 memory.max", boardKind: "dmi", board: "Dell Inc. PowerEdge R6625",
			osName: "Debian GNU/Linux 12 (bookworm)"}},
	}
	for _, tt := range tests {
		t.Run(tt.tree, func(t *testing.T) {
			p, err := device.Probe(device.ProbeOptions{Root: devicetest.TreeDir(tt.tree)})
			if err != nil {
				t.Fatal(err)
			}
			w, c := tt.want, p.CPU
			check := func(what string, got, want any) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("arch", c.Arch, w.arch)
			check("vendor", c.Vendor, w.vendor)
			check("model", c.Model, w.model)
			if !slices.Equal(c.Features, w.features) {
				t.Errorf("features = %v, want %v", c.Features, w.features)
			}
			check("physical cores", c.PhysicalCores, w.physical)
			check("logical cores", c.LogicalCores, w.logical)
			check("threads", c.Threads, w.threads)
			check("L1d", c.Cache.L1D, w.l1d)
			check("L2", c.Cache.L2, w.l2)
			check("L3", c.Cache.L3, w.l3)
			check("max MHz", c.MaxMHz, w.maxMHz)
			check("governor", c.Governor, w.governor)
			check("memory limit", p.Memory.Limit, w.memLimit)
			check("limit source", p.Memory.LimitSource, w.limitSource)
			check("board kind", p.Board.Kind, w.boardKind)
			check("board", p.Board.Name, w.board)
			if w.rpiType != "" {
				if p.Board.RPi == nil {
					t.Fatalf("no decoded revision (revision %q)", p.Board.Revision)
				}
				check("rpi type", p.Board.RPi.Type, w.rpiType)
				check("rpi memory", p.Board.RPi.MemoryMB, w.rpiMemMB)
			} else if p.Board.RPi != nil {
				t.Errorf("unexpected Raspberry Pi revision %+v", p.Board.RPi)
			}
			check("thermal zones", len(p.Thermal.Zones), w.zones)
			check("throttled present", p.Thermal.Throttled != nil, w.throttled)
			if th := p.Thermal.Throttled; th != nil {
				check("throttled now", th.Now, w.now)
				check("throttled since boot", th.Since, w.since)
				check("trustworthy", th.Trustworthy(), !w.now.Any())
			}
			check("os", p.OS, w.osName)
			// Every source has one of the three outcomes; JSON round-trips.
			for _, s := range p.Sources {
				if s.Status != device.Found && s.Status != device.Absent && s.Status != device.Failed {
					t.Errorf("source %s has status %q", s.Name, s.Status)
				}
				if s.Status != device.Found && s.Detail == "" {
					t.Errorf("source %s is %s without a reason", s.Name, s.Status)
				}
			}
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var back device.Profile
			if err := json.Unmarshal(b, &back); err != nil || back.Board.Name != p.Board.Name || back.Memory.Limit != p.Memory.Limit {
				t.Errorf("JSON round trip: %v, %+v", err, back.Board)
			}
		})
	}
}

func TestProbeContainerMemory(t *testing.T) {
	p, err := device.Probe(device.ProbeOptions{Root: devicetest.TreeDir("x86-container-512m")})
	if err != nil {
		t.Fatal(err)
	}
	m := p.Memory
	if m.CgroupV2Max != 536870912 || m.Usage != 41943040 {
		t.Errorf("cgroup v2 max %d usage %d, want 536870912 and 41943040", m.CgroupV2Max, m.Usage)
	}
	if want := int64(536870912 - 41943040); m.EffectiveAvailable != want {
		t.Errorf("effective available = %d, want %d (limit − usage, below MemAvailable)", m.EffectiveAvailable, want)
	}
	if p.CPU.Quota != 2 {
		t.Errorf("quota = %v, want 2 CPUs from cpu.max 200000 100000", p.CPU.Quota)
	}
}

// TestProbeFakeTrees covers cases built on the fly: empty roots, cgroup
// v1 limits below v2 ones, nested cgroups, big.LITTLE clusters and
// unparsable files.
func TestProbeFakeTrees(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		check func(t *testing.T, p *device.Profile)
	}{
		{"empty root", map[string]string{"README": "nothing here"}, func(t *testing.T, p *device.Profile) {
			if p.Board.Kind != "generic" || p.CPU.LogicalCores != 0 || p.Memory.LimitSource != "unknown" {
				t.Errorf("board %q cores %d limit source %q, want generic, 0, unknown", p.Board.Kind, p.CPU.LogicalCores, p.Memory.LimitSource)
			}
			for _, s := range p.Sources {
				if s.Status == device.Found {
					t.Errorf("source %s found in an empty root", s.Name)
				}
			}
		}},
		{"cgroup v1 below meminfo", map[string]string{
			"proc/meminfo":     "MemTotal: 2097152 kB\nMemAvailable: 1048576 kB\n",
			"proc/self/cgroup": "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n",
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes":  "268435456\n",
			"sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes":  "16777216\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes":             "9223372036854771712\n",
			"sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us":  "150000\n",
			"sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
			"sys/devices/system/cpu/online":                          "0-3\n",
		}, func(t *testing.T, p *device.Profile) {
			if p.Memory.Limit != 268435456 || p.Memory.LimitSource != "cgroup v1 memory.limit_in_bytes" {
				t.Errorf("limit %d from %q, want 268435456 from cgroup v1", p.Memory.Limit, p.Memory.LimitSource)
			}
			if p.Memory.EffectiveAvailable != 268435456-16777216 {
				t.Errorf("effective available %d", p.Memory.EffectiveAvailable)
			}
			if p.CPU.Quota != 1.5 || p.CPU.Threads != 2 {
				t.Errorf("quota %v threads %d, want 1.5 and 2", p.CPU.Quota, p.CPU.Threads)
			}
		}},
		{"nested cgroup v2: smallest ancestor wins", map[string]string{
			"proc/meminfo":                     "MemTotal: 8388608 kB\nMemAvailable: 8000000 kB\n",
			"proc/self/cgroup":                 "0::/a/b\n",
			"sys/fs/cgroup/cgroup.controllers": "memory cpu\n",
			"sys/fs/cgroup/a/memory.max":       "1073741824\n",
			"sys/fs/cgroup/a/b/memory.max":     "max\n",
			"sys/fs/cgroup/a/b/memory.current": "1000\n",
			"sys/fs/cgroup/a/memory.current":   "2000\n",
		}, func(t *testing.T, p *device.Profile) {
			if p.Memory.Limit != 1<<30 || p.Memory.LimitSource != "cgroup v2 memory.max" || p.Memory.Usage != 2000 {
				t.Errorf("limit %d from %q usage %d", p.Memory.Limit, p.Memory.LimitSource, p.Memory.Usage)
			}
		}},
		{"big.LITTLE clusters", map[string]string{
			"proc/cpuinfo": "processor\t: 0\nFeatures\t: fp asimd asimddp i8mm bf16 sve\nCPU implementer\t: 0x41\nCPU part\t: 0xd05\n\n" +
				"processor\t: 1\nFeatures\t: fp asimd asimddp i8mm bf16 sve\nCPU implementer\t: 0x41\nCPU part\t: 0xd05\n\n" +
				"processor\t: 2\nFeatures\t: fp asimd asimddp i8mm bf16 sve\nCPU implementer\t: 0x41\nCPU part\t: 0xd0b\n\n",
			"sys/devices/system/cpu/online":                        "0-2\n",
			"sys/devices/system/cpu/cpu0/cpu_capacity":             "414\n",
			"sys/devices/system/cpu/cpu1/cpu_capacity":             "414\n",
			"sys/devices/system/cpu/cpu2/cpu_capacity":             "1024\n",
			"sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq": "1800000\n",
			"sys/devices/system/cpu/cpu1/cpufreq/cpuinfo_max_freq": "1800000\n",
			"sys/devices/system/cpu/cpu2/cpufreq/cpuinfo_max_freq": "2400000\n",
			"sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": "schedutil\n",
			"sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq": "408000\n",
		}, func(t *testing.T, p *device.Profile) {
			c := p.CPU
			if len(c.Clusters) != 2 || c.Clusters[0].Capacity != 1024 || !slices.Equal(c.Clusters[0].CPUs, []int{2}) ||
				c.Clusters[0].Model != "Cortex-A76" || !slices.Equal(c.Clusters[1].CPUs, []int{0, 1}) {
				t.Errorf("clusters = %+v", c.Clusters)
			}
			if c.Model != "Cortex-A55 + Cortex-A76" || c.MaxMHz != 2400 || c.CurMHz != 408 {
				t.Errorf("model %q max %v cur %v", c.Model, c.MaxMHz, c.CurMHz)
			}
			if !slices.Equal(c.Features, []string{"asimd", "asimddp", "i8mm", "bf16", "sve"}) || !c.Has("i8mm") || c.Has("neon") {
				t.Errorf("features = %v", c.Features)
			}
		}},
		{"unparsable files fail, probe continues", map[string]string{
			"proc/cpuinfo":                  "garbage without colons\n",
			"sys/devices/system/cpu/online": "zero-three\n",
			"proc/meminfo":                  "nothing useful\n",
			"sys/devices/platform/soc/soc:firmware/get_throttled": "not hex\n",
			"proc/device-tree/model":                              "Raspberry Pi 3 Model B Plus Rev 1.3\x00",
		}, func(t *testing.T, p *device.Profile) {
			failed := map[string]bool{}
			for _, s := range p.Sources {
				if s.Status == device.Failed {
					failed[s.Name] = true
				}
			}
			for _, name := range []string{"cpuinfo", "cpu.online", "meminfo", "rpi.get_throttled"} {
				if !failed[name] {
					t.Errorf("source %s not reported failed: %+v", name, p.Sources)
				}
			}
			if p.Board.Name != "Raspberry Pi 3 Model B Plus" || p.Thermal.Throttled != nil {
				t.Errorf("board %q throttled %+v", p.Board.Name, p.Thermal.Throttled)
			}
		}},
		{"Jetson from compatible only", map[string]string{
			"sys/firmware/devicetree/base/compatible": "nvidia,p3509-0000+p3668-0001\x00nvidia,p3668-0001\x00nvidia,tegra194\x00",
		}, func(t *testing.T, p *device.Profile) {
			if p.Board.Kind != "jetson" || p.Board.Name != "Jetson Xavier NX" {
				t.Errorf("board %q %q", p.Board.Kind, p.Board.Name)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := device.Probe(device.ProbeOptions{Root: devicetest.WriteTree(t, tt.files)})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestProbeBadRoot(t *testing.T) {
	if _, err := device.Probe(device.ProbeOptions{Root: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("missing root: no error")
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := device.Probe(device.ProbeOptions{Root: f}); err == nil {
		t.Error("file as root: no error")
	}
}

// TestProbeHost checks the real machine against cpuid and the OS, not
// against hard-coded values.
func TestProbeHost(t *testing.T) {
	p, err := device.Probe(device.ProbeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	online, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err == nil {
		n := 0
		for _, part := range splitComma(string(online)) {
			var a, b int
			if k, _ := sscan(part, &a, &b); k == 2 {
				n += b - a + 1
			} else if k == 1 {
				n++
			}
		}
		if p.CPU.LogicalCores != n {
			t.Errorf("logical cores = %d, /sys says %d", p.CPU.LogicalCores, n)
		}
	}
	if p.CPU.Arch == "amd64" {
		if got, want := p.CPU.Has("avx512f"), cpuid.CPU.Supports(cpuid.AVX512F); got != want {
			t.Errorf("avx512f = %v, cpuid says %v", got, want)
		}
		if got, want := p.CPU.Has("avx2"), cpuid.CPU.Supports(cpuid.AVX2); got != want {
			t.Errorf("avx2 = %v, cpuid says %v", got, want)
		}
		if cpuid.CPU.Cache.L1D > 0 && p.CPU.Cache.L1D != cpuid.CPU.Cache.L1D {
			t.Errorf("L1d = %d, cpuid says %d", p.CPU.Cache.L1D, cpuid.CPU.Cache.L1D)
		}
	}
	if p.Memory.Total <= 0 || p.Memory.Limit <= 0 || p.Memory.Limit > p.Memory.Total {
		t.Errorf("memory total %d limit %d", p.Memory.Total, p.Memory.Limit)
	}
	if p.CPU.Threads < 1 || p.CPU.Threads > p.CPU.LogicalCores {
		t.Errorf("threads = %d with %d logical cores", p.CPU.Threads, p.CPU.LogicalCores)
	}
}
