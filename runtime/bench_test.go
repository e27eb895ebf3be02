package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

// BenchmarkSessionRun measures whole-model inference on the fixture:
// BenchmarkSessionRun/fmnist-small/batch=N, reporting images/s.
func BenchmarkSessionRun(b *testing.B) {
	m := loadSmall(b)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("fmnist-small/batch=%d", batch), func(b *testing.B) {
			s, err := m.NewSession(Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			in := map[string]*ir.Tensor{"input": randomInput(rng, ir.Shape{batch, 1, 28, 28})}
			for b.Loop() {
				if _, err := s.RunIR(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkLoad measures Load of the fixture (decode, optimize, plan).
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load("testdata/fmnist-small.onnx"); err != nil {
			b.Fatal(err)
		}
	}
}
