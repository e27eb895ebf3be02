package device

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// unlimited is the threshold above which a cgroup v1 limit means "none"
// (the kernel reports PAGE_COUNTER_MAX rounded to pages, ~2^63).
const unlimited = int64(1) << 60

// cgroups holds the process's cgroup paths from /proc/self/cgroup.
type cgroups struct {
	v2 string            // unified hierarchy path ("" when none)
	v1 map[string]string // controller → path
}

func (p *prober) selfCgroups() (*cgroups, bool) {
	if p.cgRead {
		return p.cg, p.cg != nil
	}
	p.cgRead = true
	b, ok := p.read("cgroup", "proc/self/cgroup")
	if !ok {
		return nil, false
	}
	cg := &cgroups{v1: map[string]string{}}
	p.cg = cg
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			cg.v2 = parts[2]
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			cg.v1[ctl] = parts[2]
		}
	}
	return cg, true
}

// cgroupDirs lists the directories to consult for a cgroup at cgPath under
// the hierarchy mounted at mount: the cgroup itself and its ancestors
// when visible, else the mount root (a container sees its own cgroup as
// the root of its namespace).
func (p *prober) cgroupDirs(mount, cgPath string) []string {
	var dirs []string
	cgPath = path.Clean("/" + cgPath)
	for {
		d := path.Join(mount, cgPath)
		if p.exists(d) {
			dirs = append(dirs, d)
		}
		if cgPath == "/" {
			break
		}
		cgPath = path.Dir(cgPath)
	}
	return dirs
}

// minLimit reads file in each dir and returns the smallest finite value
// (0 when all are "max"/unlimited), whether any file was found, and the
// file path of the smallest.
func (p *prober) minLimit(dirs []string, file string) (limit int64, found bool, where string, err error) {
	for _, d := range dirs {
		s, ok := p.readQuiet(path.Join(d, file))
		if !ok {
			continue
		}
		found = true
		if s == "max" {
			continue
		}
		v, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil {
			return 0, true, path.Join(d, file), fmt.Errorf("cannot parse %q", s)
		}
		if v >= unlimited || v <= 0 {
			continue
		}
		if limit == 0 || v < limit {
			limit, where = v, path.Join(d, file)
		}
	}
	return limit, found, where, nil
}

func (p *prober) probeMemory(m *Memory) {
	if kv, ok := p.keyValues("meminfo", "proc/meminfo", ":"); ok {
		kb := func(k string) int64 {
			f := strings.Fields(kv[k])
			if len(f) == 0 {
				return 0
			}
			v, _ := strconv.ParseInt(f[0], 10, 64)
			if len(f) > 1 && strings.EqualFold(f[1], "kB") {
				v <<= 10
			}
			return v
		}
		m.Total, m.Available = kb("MemTotal"), kb("MemAvailable")
		m.SwapTotal, m.SwapFree = kb("SwapTotal"), kb("SwapFree")
		if m.Available == 0 {
			m.Available = kb("MemFree") + kb("Cached") + kb("Buffers")
		}
		if m.Total == 0 {
			p.sources[len(p.sources)-1].Status = Failed
			p.sources[len(p.sources)-1].Detail = "no MemTotal line"
		}
	}
	m.Limit, m.LimitSource = m.Total, "meminfo"
	var usage int64
	if cg, ok := p.selfCgroups(); ok {
		// cgroup v2.
		if p.exists("sys/fs/cgroup/cgroup.controllers") || p.exists("sys/fs/cgroup/memory.max") {
			dirs := p.cgroupDirs("sys/fs/cgroup", cg.v2)
			lim, found, where, err := p.minLimit(dirs, "memory.max")
			switch {
			case err != nil:
				p.note("cgroup2.memory.max", "/"+where, Failed, err.Error())
			case !found:
				p.note("cgroup2.memory.max", "/sys/fs/cgroup/.../memory.max", Absent, "memory controller not enabled for this cgroup")
			case lim == 0:
				p.note("cgroup2.memory.max", "/sys/fs/cgroup"+cg.v2+"/memory.max", Found, "max (no limit)")
			default:
				p.note("cgroup2.memory.max", "/"+where, Found, fmt.Sprintf("%d bytes", lim))
				m.CgroupV2Max = lim
				if u, ok := p.intQuiet(path.Dir(where) + "/memory.current"); ok {
					usage = u
				}
			}
		} else {
			p.note("cgroup2.memory.max", "/sys/fs/cgroup", Absent, "no cgroup v2 hierarchy mounted at /sys/fs/cgroup")
		}
		// cgroup v1.
		if mp, ok := cg.v1["memory"]; ok && p.exists("sys/fs/cgroup/memory") {
			dirs := p.cgroupDirs("sys/fs/cgroup/memory", mp)
			lim, found, where, err := p.minLimit(dirs, "memory.limit_in_bytes")
			switch {
			case err != nil:
				p.note("cgroup1.memory.limit_in_bytes", "/"+where, Failed, err.Error())
			case !found:
				p.note("cgroup1.memory.limit_in_bytes", "/sys/fs/cgroup/memory", Absent, "no memory.limit_in_bytes")
			case lim == 0:
				p.note("cgroup1.memory.limit_in_bytes", "/sys/fs/cgroup/memory"+mp+"/memory.limit_in_bytes", Found, "unlimited")
			default:
				p.note("cgroup1.memory.limit_in_bytes", "/"+where, Found, fmt.Sprintf("%d bytes", lim))
				m.CgroupV1Limit = lim
				if u, ok := p.intQuiet(path.Dir(where) + "/memory.usage_in_bytes"); ok && (m.CgroupV2Max == 0 || lim < m.CgroupV2Max) {
					usage = u
				}
			}
		} else {
			p.note("cgroup1.memory.limit_in_bytes", "/sys/fs/cgroup/memory", Absent, "no cgroup v1 memory controller")
		}
	}
	if m.CgroupV2Max > 0 && (m.Limit == 0 || m.CgroupV2Max < m.Limit) {
		m.Limit, m.LimitSource = m.CgroupV2Max, "cgroup v2 memory.max"
	}
	if m.CgroupV1Limit > 0 && (m.Limit == 0 || m.CgroupV1Limit < m.Limit) {
		m.Limit, m.LimitSource = m.CgroupV1Limit, "cgroup v1 memory.limit_in_bytes"
	}
	if m.Limit == 0 {
		m.LimitSource = "unknown"
	}
	m.EffectiveAvailable = m.Available
	if m.LimitSource != "meminfo" && m.Limit > 0 {
		m.Usage = usage
		room := max(0, m.Limit-usage)
		if m.EffectiveAvailable == 0 || room < m.EffectiveAvailable {
			m.EffectiveAvailable = room
		}
	}
}

// cpuQuota returns the cgroup CPU quota in CPUs (0 = none or unknown).
func (p *prober) cpuQuota() float64 {
	cg, ok := p.selfCgroups()
	if !ok {
		return 0
	}
	best := 0.0
	take := func(q float64) {
		if q > 0 && (best == 0 || q < best) {
			best = q
		}
	}
	if p.exists("sys/fs/cgroup/cgroup.controllers") || p.exists("sys/fs/cgroup/cpu.max") {
		for _, d := range p.cgroupDirs("sys/fs/cgroup", cg.v2) {
			s, ok := p.readQuiet(path.Join(d, "cpu.max"))
			if !ok {
				continue
			}
			f := strings.Fields(s)
			if len(f) == 2 && f[0] != "max" {
				q, err1 := strconv.ParseFloat(f[0], 64)
				per, err2 := strconv.ParseFloat(f[1], 64)
				if err1 == nil && err2 == nil && per > 0 {
					take(q / per)
				}
			}
		}
	}
	if cp, ok := cg.v1["cpu"]; ok {
		for _, mount := range []string{"sys/fs/cgroup/cpu", "sys/fs/cgroup/cpu,cpuacct"} {
			for _, d := range p.cgroupDirs(mount, cp) {
				q, ok1 := p.intQuiet(path.Join(d, "cpu.cfs_quota_us"))
				per, ok2 := p.intQuiet(path.Join(d, "cpu.cfs_period_us"))
				if ok1 && ok2 && q > 0 && per > 0 {
					take(float64(q) / float64(per))
				}
			}
		}
	}
	if best > 0 {
		p.note("cgroup.cpu.quota", "/sys/fs/cgroup", Found, fmt.Sprintf("%.2f CPUs", best))
	} else {
		p.note("cgroup.cpu.quota", "/sys/fs/cgroup", Absent, "no CPU quota set")
	}
	return best
}
