package kernels_test

import (
	"fmt"

	"github.com/edgeml/edge/kernels"
)

func ExampleSelectUnary() {
	k := kernels.SelectUnary(kernels.Generic, kernels.UnaryClip)
	x := []float32{-3, 0.5, 9}
	y := make([]float32, len(x))
	k.Run(nil, y, x, kernels.UnaryParams{Min: 0, Max: 6})
	fmt.Println(k.Name, y)
	// Output: f32-clip-generic [0 0.5 6]
}

func ExampleSelectSoftmax() {
	k := kernels.SelectSoftmax(kernels.Generic)
	// Two rows of three values: softmax along the rows (outer 2, n 3, inner 1).
	x := []float32{0, 0, 0, 1, 1, 1}
	y := make([]float32, len(x))
	k.Run(nil, y, x, 2, 3, 1)
	fmt.Printf("%s %.4f\n", k.Name, y)
	// Output: f32-softmax-generic [0.3333 0.3333 0.3333 0.3333 0.3333 0.3333]
}
