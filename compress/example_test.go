package compress_test

import (
	"context"
	"fmt"
	"log"

	"github.com/edgeml/edge/compress"
	"github.com/edgeml/edge/runtime"
)

// Compress fmnist-small to half of its MACs with the greedy baseline (no
// calibration data needed) and check the budget.
func ExampleCompress() {
	m, err := runtime.Load("/work/shared/models/fmnist-small.onnx")
	if err != nil {
		log.Fatal(err)
	}
	budget := compress.Budget{MACs: m.Info().MACs / 2}
	res, err := compress.Compress(context.Background(), m, compress.Options{Method: compress.MethodGreedy, Budget: budget})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("fits:", res.MACsAfter <= budget.MACs)
	for _, r := range res.Ranks {
		fmt.Printf("%s %s kept %d of %d\n", r.Layer, r.OpType, r.Kept, r.Full)
	}
	// Output:
	// fits: true
	// /0/Conv Conv kept 9 of 9
	// /2/Conv Conv kept 7 of 96
	// /5/Conv Conv kept 96 of 96
	// /7/Conv Conv kept 53 of 192
	// /11/Gemm Gemm kept 128 of 128
	// /14/Gemm Gemm kept 10 of 10
}

func ExampleParseMethod() {
	m, err := compress.ParseMethod("greedy")
	fmt.Println(m, err)
	_, err = compress.ParseMethod("svd")
	fmt.Println(err)
	// Output:
	// greedy <nil>
	// compress: unknown method "svd"; use cobla, greedy or uniform
}
