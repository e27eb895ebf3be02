package main

import (
	"bytes"
	"embed"
	"fmt"

	"github.com/edgeml/edge/data"
)

// The demo's embedded default: fmnist-small.onnx (a copy of
// ../shared/models/fmnist-small.onnx) and the first 512 Fashion-MNIST
// train images (calibration) and first 1000 test images (evaluation)
// with labels; assets/gen.go regenerates them (make assets).
var (
	//go:embed assets/fmnist-small.onnx
	demoModel []byte
	//go:embed assets/fmnist/*.gz
	demoData embed.FS
)

// demoDataset returns the embedded "train" (512) or "test" (1000) images.
func demoDataset(split string) (*data.IDXDataset, error) {
	prefix := map[string]string{"train": "train", "test": "t10k"}[split]
	if prefix == "" {
		return nil, fmt.Errorf("no embedded split %q", split)
	}
	read := func(kind string) (*data.IDX, error) {
		b, err := demoData.ReadFile("assets/fmnist/" + prefix + "-" + kind + "-ubyte.gz")
		if err != nil {
			return nil, err
		}
		return data.ReadIDX(bytes.NewReader(b))
	}
	images, err := read("images-idx3")
	if err != nil {
		return nil, err
	}
	labels, err := read("labels-idx1")
	if err != nil {
		return nil, err
	}
	return data.NewIDXDataset("embedded fashion-mnist:"+split, images, labels, data.FashionMNISTClasses)
}
