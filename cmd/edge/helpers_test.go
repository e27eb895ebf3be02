package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgeml/edge/data"
	"github.com/edgeml/edge/runtime/conformance"
)

func mustOpen(t *testing.T, spec string) data.Dataset {
	t.Helper()
	ds, err := data.Open(spec, "test")
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args []string
		pos  []string
		top  int
		json bool
	}{
		{[]string{"a.png", "--top", "3", "b.png"}, []string{"a.png", "b.png"}, 3, false},
		{[]string{"--json", "a.png"}, []string{"a.png"}, 5, true},
		{[]string{"a.png", "--", "--top", "-x"}, []string{"a.png", "--top", "-x"}, 5, false},
		{nil, nil, 5, false},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			top := fs.Int("top", 5, "")
			js := fs.Bool("json", false, "")
			pos, err := parseInterspersed(fs, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pos, tc.pos) || *top != tc.top || *js != tc.json {
				t.Fatalf("pos %q top %d json %v", pos, *top, *js)
			}
		})
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	if _, err := parseInterspersed(fs, []string{"x", "--nope"}); err == nil {
		t.Fatal("unknown flag after a positional argument accepted")
	}
}

func TestTopKAndRank(t *testing.T) {
	s := []float32{0.1, 3, 2, 3, -1}
	if got := topK(s, 3); !reflect.DeepEqual(got, []int{1, 3, 2}) {
		t.Fatalf("topK %v", got)
	}
	if got := topK(s, 9); len(got) != 5 {
		t.Fatalf("topK beyond length %v", got)
	}
	for label, want := range []int{4, 1, 3, 2, 5} {
		if r := rank(s, label); r != want {
			t.Errorf("rank(%d) = %d, want %d", label, r, want)
		}
	}
}

func TestProbabilities(t *testing.T) {
	p := probabilities([]float32{0, 0, 0, 0})
	for _, v := range p {
		if v != 0.25 {
			t.Fatalf("uniform softmax %v", p)
		}
	}
	// Already a distribution: kept as is.
	q := probabilities([]float32{0.2, 0.8})
	if q[0] != float64(float32(0.2)) || q[1] != float64(float32(0.8)) {
		t.Fatalf("distribution changed: %v", q)
	}
	big := probabilities([]float32{1000, 0})
	if big[0] != 1 || big[1] != 0 {
		t.Fatalf("overflow: %v", big)
	}
}

func TestLatencyStats(t *testing.T) {
	lat := make([]float64, 100)
	for i := range lat {
		lat[(i*37)%100] = float64(i + 1)
	}
	mn, p50, p90, p99, mean := latencyStats(lat)
	if mn != 1 || p50 != 50 || p90 != 90 || p99 != 99 || mean != 50.5 {
		t.Fatalf("%v %v %v %v %v", mn, p50, p90, p99, mean)
	}
	if mn, p50, _, p99, _ := latencyStats([]float64{7}); mn != 7 || p50 != 7 || p99 != 7 {
		t.Fatal("single sample")
	}
}

func TestProgressLine(t *testing.T) {
	var b strings.Builder
	now := time.Unix(0, 0)
	p := &progress{w: &b, on: true, label: "eval", total: 100, start: now, now: func() time.Time { return now }, every: time.Millisecond}
	now = now.Add(10 * time.Second)
	p.Set(25)
	if got := b.String(); !strings.Contains(got, " 25%") || !strings.Contains(got, "ETA 0:30") || !strings.Contains(got, "0:10 elapsed") {
		t.Fatalf("line %q", got)
	}
	p.Done()
	if !strings.HasSuffix(b.String(), "\r\033[K") {
		t.Fatalf("Done did not erase: %q", b.String())
	}
	b.Reset()
	p.Set(50)
	if b.Len() != 0 {
		t.Fatalf("drew after Done: %q", b.String())
	}
	var nilBar *progress
	nilBar.Set(1) // must not panic
	off := &progress{w: &b, on: false, now: time.Now, start: time.Now()}
	off.Set(1)
	if b.Len() != 0 {
		t.Fatal("disabled bar drew")
	}
	if clock(3725*time.Second) != "1:02:05" || clock(65*time.Second) != "1:05" {
		t.Fatal("clock")
	}
}

func TestSkipReasons(t *testing.T) {
	cs := []conformance.Case{
		{Name: "a", Reason: "operators not supported: Neg, Where"},
		{Name: "b", Reason: "operators not supported: Neg"},
		{Name: "c", Reason: "Add at opset 6 predates the supported versions (opset ≥ 7)"},
		{Name: "d", Reason: `"x" has element type uint8`},
		{Name: "e", Reason: "training-mode Dropout draws random masks"},
	}
	got := skipReasons(cs)
	if len(got) != 4 || got[0].n != 2 || got[0].reason != "unsupported operators: Neg 2, Where 1" {
		t.Fatalf("%+v", got)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	boom := errors.New("boom")
	err := writeFileAtomic(path, func(f *os.File) error {
		f.WriteString("partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("failed write left %d files", len(ents))
	}
	if err := writeFileAtomic(path, func(f *os.File) error { _, err := f.WriteString("ok"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "ok" {
		t.Fatalf("content %q", b)
	}
}
