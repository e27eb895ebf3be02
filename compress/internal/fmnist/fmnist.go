// Package fmnist reads the Fashion-MNIST IDX files installed by Debian's
// dataset-fashion-mnist package for compress's tests and measurements.
// It is a stop-gap until the project's data package is used instead.
package fmnist

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/edgeml/edge/runtime/ir"
)

// Dir is where Debian installs the files.
const Dir = "/usr/share/datasets/fashion-mnist"

func readIDX(path string, dims int) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("fmnist: %s: %v", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, nil, fmt.Errorf("fmnist: %s: %v", path, err)
	}
	if len(data) < 4+4*dims || data[2] != 0x08 || int(data[3]) != dims {
		return nil, nil, fmt.Errorf("fmnist: %s is not a %d-D uint8 IDX file", path, dims)
	}
	shape := make([]int, dims)
	n := 1
	for i := range shape {
		shape[i] = int(binary.BigEndian.Uint32(data[4+4*i:]))
		n *= shape[i]
	}
	body := data[4+4*dims:]
	if len(body) != n {
		return nil, nil, fmt.Errorf("fmnist: %s holds %d bytes, header says %d", path, len(body), n)
	}
	return shape, body, nil
}

// Load returns n images (from offset off) of split "train" or "t10k",
// preprocessed as the fixture models expect ((x/255 − 0.2860)/0.3530,
// N×1×28×28), and their labels. n <= 0 means all.
func Load(split string, off, n int) (*ir.Tensor, []int, error) {
	shape, pix, err := readIDX(filepath.Join(Dir, split+"-images-idx3-ubyte.gz"), 3)
	if err != nil {
		return nil, nil, err
	}
	_, lab, err := readIDX(filepath.Join(Dir, split+"-labels-idx1-ubyte.gz"), 1)
	if err != nil {
		return nil, nil, err
	}
	total := shape[0]
	if n <= 0 || off+n > total {
		n = total - off
	}
	if off < 0 || n <= 0 {
		return nil, nil, fmt.Errorf("fmnist: offset %d outside %d images", off, total)
	}
	hw := shape[1] * shape[2]
	t := ir.NewTensor(ir.Float32, ir.Shape{n, 1, shape[1], shape[2]})
	for i := 0; i < n*hw; i++ {
		t.F32[i] = (float32(pix[off*hw+i])/255 - 0.2860) / 0.3530
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = int(lab[off+i])
	}
	return t, labels, nil
}
