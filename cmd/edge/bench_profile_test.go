package main

import (
	"math"
	"strings"
	"testing"
)

func TestBenchProfile(t *testing.T) {
	r := edge(t, "bench", "--model", testModel, "--iters", "4", "--threads", "2", "--json", "--profile")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	j := jsonObject(t, r.stdout)
	layers, _ := j["layers"].([]any)
	if len(layers) < 6 {
		t.Fatalf("%d layers: %s", len(layers), r.stdout)
	}
	share := 0.0
	for _, l := range layers {
		l := l.(map[string]any)
		ms, _ := l["ms"].(float64)
		s, _ := l["share"].(float64)
		if ms <= 0 || s <= 0 || s > 1 || l["output"] == "" {
			t.Errorf("layer %v: ms %v share %v output %v", l["name"], l["ms"], l["share"], l["output"])
		}
		if l["op"] == "Conv" {
			if gf, _ := l["gflops"].(float64); gf <= 0 {
				t.Errorf("conv layer %v: gflops %v", l["name"], l["gflops"])
			}
		}
		share += s
	}
	if math.Abs(share-1) > 1e-6 {
		t.Errorf("shares add up to %v", share)
	}
	txt := edge(t, "bench", "--model", testModel, "--iters", "3", "--profile")
	for _, col := range []string{"ms", "share", "GFLOP/s", "Conv"} {
		if !strings.Contains(txt.stdout, col) {
			t.Errorf("bench --profile output lacks %q:\n%s", col, txt.stdout)
		}
	}
}
