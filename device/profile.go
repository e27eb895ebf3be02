package device

// Status is the outcome of reading one source of information.
type Status string

// The three outcomes of every probe source.
const (
	Found  Status = "found"  // the source was read and parsed
	Absent Status = "absent" // the source does not exist here (Detail says why)
	Failed Status = "failed" // the source exists but could not be read or parsed
)

// Source records what happened to one probed file or command.
type Source struct {
	Name   string `json:"name"`             // e.g. "cpuinfo", "cgroup2.memory.max"
	Path   string `json:"path,omitempty"`   // file read (relative to the root) or command run
	Status Status `json:"status"`           // found, absent or failed
	Detail string `json:"detail,omitempty"` // reason for absent/failed, or a short note
}

// Profile is what Probe found out about a machine. Zero numbers mean
// unknown; Sources says why.
type Profile struct {
	Root    string   `json:"root"` // "/" for the real host
	CPU     CPU      `json:"cpu"`
	Memory  Memory   `json:"memory"`
	Board   Board    `json:"board"`
	Thermal Thermal  `json:"thermal"`
	OS      string   `json:"os,omitempty"` // PRETTY_NAME of /etc/os-release
	Sources []Source `json:"sources"`
}

// CPU describes the processor.
type CPU struct {
	Vendor string `json:"vendor"` // "GenuineIntel", "AuthenticAMD", "ARM", "NVIDIA", ...
	Model  string `json:"model"`  // brand string, or "Cortex-A72" from the ARM part number
	// Arch is the instruction-set architecture of the running OS:
	// "amd64", "386", "arm64" or "arm" (a 32-bit OS on a 64-bit core).
	Arch string `json:"arch"`
	// Features lists the kernel-relevant extensions present, in a fixed
	// order (sse4.2 avx2 fma avx512f avx512bw avx512vnni avx512bf16 on x86;
	// neon asimd asimddp asimdhp i8mm bf16 sve on ARM).
	Features      []string `json:"features"`
	PhysicalCores int      `json:"physical_cores"`
	LogicalCores  int      `json:"logical_cores"` // online CPUs
	// Quota is the cgroup CPU quota in CPUs (cpu.max or cfs_quota/period);
	// 0 when unlimited or unknown.
	Quota float64 `json:"quota,omitempty"`
	// Threads is the worker count edge should use by default: the online
	// logical CPUs, capped by the quota (rounded up).
	Threads  int       `json:"threads"`
	Clusters []Cluster `json:"clusters,omitempty"`
	Cache    Caches    `json:"cache"`
	CurMHz   float64   `json:"cur_mhz,omitempty"`
	MaxMHz   float64   `json:"max_mhz,omitempty"`
	Governor string    `json:"governor,omitempty"`
}

// Has reports whether the CPU has the named feature (as in Features).
func (c CPU) Has(feature string) bool {
	for _, f := range c.Features {
		if f == feature {
			return true
		}
	}
	return false
}

// Cluster is a group of cores with the same capacity (big.LITTLE).
type Cluster struct {
	CPUs     []int   `json:"cpus"`
	Model    string  `json:"model,omitempty"`
	Capacity int     `json:"capacity,omitempty"` // cpu_capacity (1024 = biggest)
	MaxMHz   float64 `json:"max_mhz,omitempty"`
}

// Caches are data/unified cache sizes in bytes (0 = unknown). L1D and L2
// are per core as the hardware reports them; L3 is the shared size.
type Caches struct {
	L1D int `json:"l1d"`
	L2  int `json:"l2"`
	L3  int `json:"l3"`
}

// Memory describes RAM and the limits that apply to this process.
type Memory struct {
	Total     int64 `json:"total"`     // MemTotal
	Available int64 `json:"available"` // MemAvailable
	SwapTotal int64 `json:"swap_total"`
	SwapFree  int64 `json:"swap_free"`
	// CgroupV2Max and CgroupV1Limit are the cgroup limits found (0 = none).
	CgroupV2Max   int64 `json:"cgroup_v2_max,omitempty"`
	CgroupV1Limit int64 `json:"cgroup_v1_limit,omitempty"`
	// Limit is the smallest of Total and the cgroup limits; LimitSource
	// names which one ("meminfo", "cgroup v2 memory.max", "cgroup v1
	// memory.limit_in_bytes").
	Limit       int64  `json:"limit"`
	LimitSource string `json:"limit_source"`
	// Usage is the cgroup's current usage when a cgroup limit applies.
	Usage int64 `json:"usage,omitempty"`
	// EffectiveAvailable is what this process may still allocate:
	// min(Available, Limit − Usage).
	EffectiveAvailable int64 `json:"effective_available"`
}

// Board identifies the computer.
type Board struct {
	// Kind is "raspberrypi", "jetson", "dmi" or "generic".
	Kind       string   `json:"kind"`
	Name       string   `json:"name"`                 // e.g. "Raspberry Pi 4 Model B", "Jetson Orin Nano"
	Model      string   `json:"model,omitempty"`      // device-tree model string or DMI product name
	Compatible []string `json:"compatible,omitempty"` // device-tree compatible strings
	Revision   string   `json:"revision,omitempty"`   // Raspberry Pi revision code, hex
	// RPi is the decoded revision code (nil when not a Raspberry Pi or
	// the code is missing).
	RPi *RPiRevision `json:"rpi,omitempty"`
}

// RPiRevision is a decoded new-style Raspberry Pi revision code.
type RPiRevision struct {
	Code         string `json:"code"`
	Type         string `json:"type"` // "4B", "5", "Zero 2 W", "3B+", "CM4", ...
	Processor    string `json:"processor"`
	MemoryMB     int    `json:"memory_mb"`
	Manufacturer string `json:"manufacturer"`
	BoardRev     string `json:"board_rev"` // "1.4"
}

// Thermal holds temperatures and throttling state.
type Thermal struct {
	Zones     []Zone     `json:"zones,omitempty"`
	Throttled *Throttled `json:"throttled,omitempty"` // Raspberry Pi only
}

// Zone is one /sys/class/thermal zone.
type Zone struct {
	Name  string  `json:"name"` // thermal_zone0
	Type  string  `json:"type"` // cpu-thermal, ...
	TempC float64 `json:"temp_c"`
}

// Throttled is the decoded Raspberry Pi firmware get_throttled word.
type Throttled struct {
	Raw    uint32        `json:"raw"`
	Source string        `json:"source"` // file or "vcgencmd"
	Now    ThrottleFlags `json:"now"`
	Since  ThrottleFlags `json:"since_boot"`
}

// ThrottleFlags are the four conditions the firmware reports.
type ThrottleFlags struct {
	UnderVoltage bool `json:"under_voltage"`
	FreqCapped   bool `json:"freq_capped"`
	Throttled    bool `json:"throttled"`
	SoftTempLim  bool `json:"soft_temp_limit"`
}

// Any reports whether any flag is set.
func (f ThrottleFlags) Any() bool {
	return f.UnderVoltage || f.FreqCapped || f.Throttled || f.SoftTempLim
}

// Trustworthy reports whether benchmark numbers taken now can be trusted:
// nothing throttles or caps the clock at the moment.
func (t *Throttled) Trustworthy() bool { return t == nil || !t.Now.Any() }
