package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"strings"
	"testing"
)

func sample() *Report {
	t1, t1c := 0.9254, 0.9120
	r := &Report{
		Title: "edge demo: fmnist-small", Generated: "2026-01-02T03:04:05Z", Version: "v0-test",
		Device: Device{Board: "generic", CPU: "Test CPU", Arch: "amd64", Features: []string{"avx2", "fma"}, Threads: 2,
			MemoryLimit: 1 << 30, PeakGFLOPS: map[string]float64{"1": 50, "2": 95}},
		Budget: Budget{Targets: "--macs 0.5", MACs: 9_000_000, Params: 400_000, WeightBytes: 1_600_000, Binding: "macs",
			Explanation: []string{"MACs target 50% ⇒ ≤ 9 M MACs <b>"}},
		Model: Model{Name: "fmnist-small.onnx", Method: "cobla", MACsBefore: 18_690_000, MACsAfter: 8_900_000, ParamsBefore: 467_818, ParamsAfter: 300_000, Seconds: 12.5},
		Layers: []Layer{
			{Name: "/0/Conv", Op: "Conv", Scheme: "channel", Kept: 9, Full: 9, Dense: true, MACsBefore: 225_792, MACsAfter: 225_792},
			{Name: "/2/Conv", Op: "Conv", Scheme: "channel", Kept: 12, Full: 32, MACsBefore: 7_225_344, MACsAfter: 3_000_000},
			{Name: "/11/Gemm", Op: "Gemm", Scheme: "channel", Kept: 40, Full: 128, MACsBefore: 401_408, MACsAfter: 130_000},
		},
		Dense:   &Measure{Top1: &t1, P50Ms: 1.2, ImagesPerS: 800, ModelBytes: 1_873_491, PeakRSSMB: 30, MACs: 18_690_000},
		Compact: &Measure{Top1: &t1c, P50Ms: 0.8, ImagesPerS: 1200, ModelBytes: 1_200_000, PeakRSSMB: 28, MACs: 8_900_000},
		Sweep: []SweepPoint{
			{Method: "cobla", Fraction: 0.5, Top1: 0.91}, {Method: "cobla", Fraction: 0.25, Top1: 0.85},
			{Method: "greedy", Fraction: 0.5, Top1: 0.89}, {Method: "greedy", Fraction: 0.25, Top1: 0.80},
		},
	}
	return r
}

// TestWrite checks that the page is well-formed XML-ish HTML with one
// inline SVG per chart, escapes text, and references no external asset.
func TestWrite(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if n := strings.Count(s, "<svg "); n != 3 {
		t.Errorf("%d inline SVG charts, want 3", n)
	}
	for _, bad := range []string{"<script", "src=", "href=\"http", "@import", "url("} {
		if strings.Contains(s, bad) {
			t.Errorf("page contains %q (external asset or script)", bad)
		}
	}
	if strings.Contains(s, "9 M MACs <b>") || !strings.Contains(s, "9 M MACs &lt;b&gt;") {
		t.Error("explanation text not escaped")
	}
	for _, want := range []string{"/2/Conv", "0.9254", "0.9120", "Accuracy vs MACs", "kept", "greedy", "1.50×"} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Every SVG is well-formed XML.
	for _, part := range strings.Split(s, "<svg ")[1:] {
		end := strings.Index(part, "</svg>")
		if end < 0 {
			t.Fatal("unterminated svg")
		}
		d := xml.NewDecoder(strings.NewReader("<svg " + part[:end+6]))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("svg is not well-formed: %v", err)
			}
		}
	}
}

func TestWriteMinimal(t *testing.T) {
	var b bytes.Buffer
	r := &Report{Title: "x", Model: Model{Name: "m", Method: "greedy"}}
	if err := Write(&b, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<svg ") {
		t.Error("charts drawn without data")
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Layers) != 3 || back.Layers[1].Kept != 12 || *back.Compact.Top1 != 0.912 || len(back.Sweep) != 4 {
		t.Fatalf("round trip: %+v", back)
	}
}

// TestSample writes the sample page to $REPORT_SAMPLE (for a look in a
// browser: REPORT_SAMPLE=/tmp/r.html go test -run TestSample).
func TestSample(t *testing.T) {
	path := os.Getenv("REPORT_SAMPLE")
	if path == "" {
		t.Skip("REPORT_SAMPLE not set")
	}
	var b bytes.Buffer
	if err := Write(&b, sample()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
