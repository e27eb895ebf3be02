package device

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// ErrNoCache reports that no cached calibration matches the key.
var ErrNoCache = errors.New("device: no cached calibration")

// Version is edge's version from the build information: the module
// version, or "devel" (plus the VCS revision when recorded) for a
// development build.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	if v != "" && v != "(devel)" {
		return v
	}
	v = "devel"
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "-" + s.Value[:12]
		}
	}
	return v
}

// CacheDir is $XDG_CACHE_HOME/edge, or ~/.cache/edge when XDG_CACHE_HOME
// is unset or not absolute.
func CacheDir() (string, error) {
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "edge"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("device: no cache directory: %w; set XDG_CACHE_HOME", err)
	}
	return filepath.Join(home, ".cache", "edge"), nil
}

// CalibrationFormat is the version of the calibration's content and of
// the cost model that reads it; it is part of the cache key. Bump it
// when the calibration shapes, their JSON or Predict's use of them
// change.
const CalibrationFormat = 2

// Build fingerprints the running binary for the cache key: the VCS
// revision ("+dirty" when the tree was modified) recorded by
// debug.ReadBuildInfo, and the first 12 hex digits of the SHA-256 of the
// executable file, so that any rebuild of the kernels or the calibration
// code — committed or not, with or without VCS stamping — measures again.
// When the executable cannot be read the Go version stands in for the
// hash.
func Build() string { return buildFingerprint() }

// buildFingerprint is a variable so that tests can simulate a rebuild.
var buildFingerprint = sync.OnceValue(func() string {
	rev, dirty := "norev", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && len(s.Value) >= 12:
				rev = s.Value[:12]
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = "+dirty"
			}
		}
	}
	return rev + dirty + "/" + exeHash()
})

// exeHash hashes the running executable (the Go version when it cannot
// be read).
func exeHash() string {
	path, err := os.Executable()
	if err != nil {
		return goruntime.Version()
	}
	f, err := os.Open(path)
	if err != nil {
		return goruntime.Version()
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return goruntime.Version()
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// cacheKey identifies a calibration: CPU model, board, edge version,
// build fingerprint, calibration format, GEMM kernel, mode and thread
// counts.
func cacheKey(p *Profile, kernel string, quick bool, threads []int) string {
	mode := "full"
	if quick {
		mode = "quick"
	}
	return fmt.Sprintf("%s|%s|%s|%s|fmt%d|%s|%s|%v", p.CPU.Model, p.Board.Name, Version(), buildFingerprint(), CalibrationFormat, kernel, mode, threads)
}

// cacheFile names the file of a key: a readable prefix plus a hash.
func cacheFile(dir, key string) string {
	sum := sha256.Sum256([]byte(key))
	model, _, _ := strings.Cut(key, "|")
	var b strings.Builder
	for _, r := range strings.ToLower(model) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 40 {
			break
		}
	}
	name := strings.Trim(b.String(), "-")
	if name == "" {
		name = "cpu"
	}
	return filepath.Join(dir, "calibration-"+name+"-"+hex.EncodeToString(sum[:6])+".json")
}

// SaveCalibration writes c to dir (created if needed) under c.Key,
// atomically (temporary file and rename).
func SaveCalibration(dir string, c *Calibration) error {
	if c.Key == "" {
		return fmt.Errorf("device: calibration has no key; only Calibrate's results can be cached")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("device: cache directory: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("device: encode calibration: %w", err)
	}
	f, err := os.CreateTemp(dir, ".calibration-*")
	if err != nil {
		return fmt.Errorf("device: cache: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("device: cache: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("device: cache: %w", err)
	}
	if err := os.Rename(f.Name(), cacheFile(dir, c.Key)); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("device: cache: %w", err)
	}
	return nil
}

// LoadCalibration reads the calibration cached in dir under key. It
// returns an error wrapping ErrNoCache when there is none (or it was
// written for another key, or is unreadable).
func LoadCalibration(dir, key string) (*Calibration, error) {
	path := cacheFile(dir, key)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoCache, err)
	}
	var c Calibration
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: %s is corrupt (%v); run with --recalibrate", ErrNoCache, path, err)
	}
	if c.Key != key || len(c.Threads) == 0 || len(c.Memory) == 0 {
		return nil, fmt.Errorf("%w: %s holds another or an empty calibration", ErrNoCache, path)
	}
	return &c, nil
}
