package runtime_test

import (
	"fmt"
	"log"

	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

func ExampleSession_Profile() {
	m, err := runtime.Load("testdata/fmnist-small.onnx")
	if err != nil {
		log.Fatal(err)
	}
	s, err := m.NewSession(runtime.Options{Threads: 1, Profile: true})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	in := map[string]*ir.Tensor{"input": ir.NewTensor(ir.Float32, ir.Shape{1, 1, 28, 28})}
	for i := 0; i < 3; i++ {
		if _, err := s.RunIR(in); err != nil {
			log.Fatal(err)
		}
	}
	for _, l := range s.Profile() {
		// l.Mean() is the layer's time per run; l.MACs/l.Mean() its speed.
		fmt.Println(l.OpType, l.Fused, l.MACs, l.Runs, l.Mean() > 0)
	}
	// Output:
	// Conv Relu 225792 3 true
	// Conv Relu 7225344 3 true
	// MaxPool  0 3 true
	// Conv Relu 3612672 3 true
	// Conv Relu 7225344 3 true
	// MaxPool  0 3 true
	// Gemm Relu 401408 3 true
	// Gemm  1280 3 true
}
