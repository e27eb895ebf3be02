//go:build ignore

// gen writes the demo's embedded Fashion-MNIST subset: the first 512
// train images (calibration) and the first 1000 test images (evaluation)
// with their labels, as gzip IDX files. fmnist-small.onnx is a copy of
// ../shared/models/fmnist-small.onnx. Run from cmd/edge/assets:
//
//	go run gen.go [/usr/share/datasets/fashion-mnist]
package main

import (
	"compress/gzip"
	"fmt"
	"os"

	"github.com/edgeml/edge/data"
)

func main() {
	src := "/usr/share/datasets/fashion-mnist"
	if len(os.Args) > 1 {
		src = os.Args[1]
	}
	for _, s := range []struct {
		prefix string
		n      int
	}{{"train", 512}, {"t10k", 1000}} {
		for _, kind := range []string{"images-idx3", "labels-idx1"} {
			name := s.prefix + "-" + kind + "-ubyte.gz"
			x, err := data.ReadIDXFile(src + "/" + name)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			per := len(x.Data) / x.Dims[0]
			x.Dims[0] = s.n
			x.Data = x.Data[:s.n*per]
			f, err := os.Create("fmnist/" + name)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
			if err := data.WriteIDX(zw, x); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			zw.Close()
			f.Close()
		}
	}
}
