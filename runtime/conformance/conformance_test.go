package conformance

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

func TestConformance(t *testing.T) {
	if _, err := os.Stat(DefaultDir); err != nil {
		t.Skipf("%s not installed (Debian package libonnx-testdata): %v", DefaultDir, err)
	}
	rep, err := Run(DefaultDir, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Failed {
		t.Errorf("FAIL %s: %s", c.Name, c.Reason)
	}
	if testing.Verbose() {
		for _, c := range rep.Skipped {
			t.Logf("skip %s: %s", c.Name, c.Reason)
		}
	}
	t.Logf("passed %d, failed %d, skipped %d", len(rep.Passed), len(rep.Failed), len(rep.Skipped))
	if len(rep.Passed) == 0 {
		t.Error("no case passed")
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"passed":`, `"failed":`, `"skipped":`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestRunMissingDir(t *testing.T) {
	if _, err := Run(t.TempDir(), Options{}); err == nil {
		t.Error("Run of an empty directory succeeded")
	}
}

func TestCompare(t *testing.T) {
	nan := float32(0)
	nan = nan / nan
	f := func(v ...float32) *ir.Tensor { return &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{len(v)}, F32: v} }
	tests := []struct {
		name      string
		got, want *ir.Tensor
		ok        bool
	}{
		{"equal", f(1, 2), f(1, 2), true},
		{"within-rtol", f(1000.9), f(1000), true},
		{"beyond-rtol", f(1002), f(1000), false},
		{"within-atol", f(5e-6), f(0), true},
		{"beyond-atol", f(2e-5), f(0), false},
		{"nan-nan", f(nan), f(nan), true},
		{"nan-number", f(nan), f(1), false},
		{"number-nan", f(1), f(nan), false},
		{"shape", f(1, 2), &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{1, 2}, F32: []float32{1, 2}}, false},
		{"dtype", &ir.Tensor{DType: ir.Int64, Shape: ir.Shape{1}, I64: []int64{1}}, f(1), false},
		{"int-diff", &ir.Tensor{DType: ir.Int64, Shape: ir.Shape{1}, I64: []int64{1}}, &ir.Tensor{DType: ir.Int64, Shape: ir.Shape{1}, I64: []int64{2}}, false},
		{"bool", &ir.Tensor{DType: ir.Bool, Shape: ir.Shape{1}, Bool: []bool{true}}, &ir.Tensor{DType: ir.Bool, Shape: ir.Shape{1}, Bool: []bool{true}}, true},
		{"missing", nil, f(1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := compare(tc.got, tc.want)
			if (msg == "") != tc.ok {
				t.Errorf("compare = %q, want ok=%v", msg, tc.ok)
			}
		})
	}
}
