package runtime

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

const fashionDir = "/usr/share/datasets/fashion-mnist"

// readIDX reads a gzipped IDX file: its dimensions and bytes.
func readIDX(path string) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(z)
	if err != nil {
		return nil, nil, err
	}
	if len(b) < 4 || b[0] != 0 || b[1] != 0 || b[2] != 8 {
		return nil, nil, fmt.Errorf("%s: not an unsigned-byte IDX file", path)
	}
	nd := int(b[3])
	dims := make([]int, nd)
	size := 1
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(b[4+4*i:]))
		size *= dims[i]
	}
	data := b[4+4*nd:]
	if len(data) != size {
		return nil, nil, fmt.Errorf("%s: %d bytes of data, want %d", path, len(data), size)
	}
	return dims, data, nil
}

// TestFashionMNISTTop1 runs the fixture models on the full Fashion-MNIST
// test set and compares the top-1 accuracy with ONNX Runtime 1.30's
// (MODELS.md).
func TestFashionMNISTTop1(t *testing.T) {
	if testing.Short() || raceEnabled || kernels.Detected() == 0 {
		t.Skip("full test set: skipped with -short, -race and without assembly kernels (purego)")
	}
	_, images, err := readIDX(filepath.Join(fashionDir, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		t.Skip(err)
	}
	_, labels, err := readIDX(filepath.Join(fashionDir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Skip(err)
	}
	ortTop1 := map[string]float64{"fmnist-small.onnx": 0.9254, "fmnist-squeezenet1_1.onnx": 0.9089}
	paths := []string{"testdata/fmnist-small.onnx"}
	if os.Getenv("EDGE_LONG_TESTS") != "" {
		// About 30 s more: EDGE_LONG_TESTS=1 go test ./runtime -run FashionMNIST
		paths = append(paths, "/work/shared/models/fmnist-squeezenet1_1.onnx")
	}
	for _, path := range paths {
		want := ortTop1[filepath.Base(path)]
		t.Run(filepath.Base(path), func(t *testing.T) {
			m, err := Load(path)
			if err != nil {
				t.Skip(err)
			}
			s, err := m.NewSession(Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			const batch = 100
			correct := 0
			x := ir.NewTensor(ir.Float32, ir.Shape{batch, 1, 28, 28})
			for start := 0; start < len(labels); start += batch {
				for i := range x.F32 {
					x.F32[i] = (float32(images[start*784+i])/255 - 0.2860) / 0.3530
				}
				out, err := s.RunIR(map[string]*ir.Tensor{"input": x})
				if err != nil {
					t.Fatal(err)
				}
				y := out["logits"].F32
				for i := range batch {
					best := 0
					for c := 1; c < 10; c++ {
						if y[i*10+c] > y[i*10+best] {
							best = c
						}
					}
					if best == int(labels[start+i]) {
						correct++
					}
				}
			}
			got := float64(correct) / float64(len(labels))
			t.Logf("top-1 %.4f (ONNX Runtime 1.30: %.4f)", got, want)
			if fmt.Sprintf("%.4f", got) != fmt.Sprintf("%.4f", want) {
				t.Errorf("top-1 %.4f, ONNX Runtime gives %.4f", got, want)
			}
		})
	}
}
