package device

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ProbeOptions configure Probe.
type ProbeOptions struct {
	// Root is the directory that stands for "/": every file is read
	// below it. "" or "/" probes the real host (and then also uses cpuid
	// on amd64 and vcgencmd when present).
	Root string
}

// Probe finds out what the machine under opts.Root is. A missing or
// unreadable source lowers what is known (recorded in Profile.Sources),
// it never fails the probe; the error is non-nil only when Root itself
// is not a readable directory.
func Probe(opts ProbeOptions) (*Profile, error) {
	root := opts.Root
	if root == "" {
		root = "/"
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("device: probe root %q: %w; pass an existing directory (or \"/\" for this machine)", root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("device: probe root %q is not a directory; pass the directory that stands for \"/\"", root)
	}
	p := &prober{root: root, host: filepath.Clean(root) == "/"}
	prof := &Profile{Root: root}
	p.probeCPU(&prof.CPU)
	p.probeMemory(&prof.Memory)
	p.probeBoard(&prof.Board)
	p.probeThermal(&prof.Thermal)
	if kv, ok := p.keyValues("os-release", "etc/os-release", "="); ok {
		prof.OS = strings.Trim(kv["PRETTY_NAME"], `"`)
	}
	prof.Sources = p.sources
	return prof, nil
}

// prober reads files below root and records every source's outcome.
type prober struct {
	root    string
	host    bool
	sources []Source
	cpuinfo []map[string]string // one map per "processor" block (nil until read)
	cpuhdr  map[string]string   // keys outside processor blocks (Hardware, Revision, Model)
	cg      *cgroups            // parsed /proc/self/cgroup (nil when unreadable)
	cgRead  bool
}

func (p *prober) note(name, path string, st Status, detail string) {
	p.sources = append(p.sources, Source{Name: name, Path: path, Status: st, Detail: detail})
}

// read returns the contents of rel (relative to root) and records the
// outcome under name.
func (p *prober) read(name, rel string) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(p.root, rel))
	switch {
	case err == nil:
		p.note(name, "/"+rel, Found, "")
		return b, true
	case errors.Is(err, fs.ErrNotExist):
		p.note(name, "/"+rel, Absent, "file does not exist")
	default:
		p.note(name, "/"+rel, Failed, err.Error())
	}
	return nil, false
}

// readQuiet reads rel without recording anything (for the many per-CPU
// files whose absence is summarised by the caller).
func (p *prober) readQuiet(rel string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(p.root, rel))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func (p *prober) intQuiet(rel string) (int64, bool) {
	s, ok := p.readQuiet(rel)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

func (p *prober) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(p.root, rel))
	return err == nil
}

func (p *prober) glob(pattern string) []string {
	m, _ := filepath.Glob(filepath.Join(p.root, pattern))
	out := make([]string, 0, len(m))
	for _, f := range m {
		rel, err := filepath.Rel(p.root, f)
		if err == nil {
			out = append(out, rel)
		}
	}
	sort.Slice(out, func(i, j int) bool { return naturalLess(out[i], out[j]) })
	return out
}

// keyValues parses "key<sep>value" lines.
func (p *prober) keyValues(name, rel, sep string) (map[string]string, bool) {
	b, ok := p.read(name, rel)
	if !ok {
		return nil, false
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, found := strings.Cut(sc.Text(), sep)
		if found {
			kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return kv, true
}

// command runs a program on the real host only, with a short timeout.
func (p *prober) command(name string, args ...string) (string, bool) {
	if !p.host {
		return "", false
	}
	path, err := exec.LookPath(name)
	if err != nil {
		p.note(name, name, Absent, "not installed")
		return "", false
	}
	cmd := exec.Command(path, args...)
	done := make(chan struct{})
	var out []byte
	go func() {
		out, err = cmd.Output()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		<-done
		err = errors.New("timed out after 2 s")
	}
	line := name + " " + strings.Join(args, " ")
	if err != nil {
		p.note(name, line, Failed, err.Error())
		return "", false
	}
	p.note(name, line, Found, "")
	return strings.TrimSpace(string(out)), true
}

// parseCPUList parses "0-3,5,7-8" into CPU numbers.
func parseCPUList(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("bad CPU list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > 1<<16 {
				return nil, fmt.Errorf("bad CPU list %q", s)
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out, nil
}

// parseSize parses cache sizes such as "48K", "2048K", "1M", "512".
func parseSize(s string) (int, bool) {
	s = strings.TrimSpace(s)
	mult := 1
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, false
	}
	return v * mult, true
}

// naturalLess orders "cpu2" before "cpu10".
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da != "" && db != "" {
			x, _ := strconv.Atoi(da)
			y, _ := strconv.Atoi(db)
			if x != y {
				return x < y
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// hostArch is GOARCH, a variable so tests could pretend otherwise.
var hostArch = goruntime.GOARCH
