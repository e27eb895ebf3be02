package ops

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// h2Ops are the operators of conv.go, gemm.go, matmul.go, pool.go,
// batchnorm.go and lrn.go; cases whose nodes include one of them are
// counted in TestConformanceH2. The cases run through h3RunCase (in
// h3_conformance_test.go): float inputs, including the weights of the
// node/ cases, are not constants there, initializers are.
var h2Ops = map[string]bool{
	"Conv": true, "Gemm": true, "MatMul": true, "MaxPool": true, "AveragePool": true,
	"GlobalAveragePool": true, "GlobalMaxPool": true, "BatchNormalization": true, "LRN": true,
}

func TestConformanceH2(t *testing.T) {
	if _, err := os.Stat(h3TestData); err != nil {
		t.Skipf("ONNX test data not installed: %v", err)
	}
	var dirs []string
	for _, sub := range []string{"node", "pytorch-converted", "pytorch-operator"} {
		d, _ := filepath.Glob(filepath.Join(h3TestData, sub, "test_*"))
		dirs = append(dirs, d...)
	}
	passed, failed, skipped := 0, 0, 0
	for _, dir := range dirs {
		mine := false
		for _, op := range h3CaseOps(dir) {
			mine = mine || h2Ops[op]
		}
		if !mine {
			continue
		}
		name := filepath.Base(filepath.Dir(dir)) + "/" + filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			err := h3RunCase(dir)
			switch {
			case err == nil:
				passed++
			case errors.Is(err, errH3Skip):
				// Only the cases outside the project's scope may be
				// skipped: op versions before opset 7 (AveragePool-1,
				// BatchNormalization-6, Gemm-6) and uint8 tensors.
				msg := err.Error()
				if !strings.Contains(msg, "predates the supported versions") && !strings.Contains(msg, "dtype uint8") {
					failed++
					t.Fatalf("skipped for an unexpected reason: %v", err)
				}
				skipped++
				t.Skip(err)
			default:
				failed++
				t.Error(err)
			}
		})
	}
	t.Logf("conformance (cases using H2 ops): %d passed, %d failed, %d skipped", passed, failed, skipped)
	if passed < 94 {
		t.Errorf("%d cases passed; Debian's libonnx-testdata 1.12 has 94 runnable cases using these ops", passed)
	}
}
