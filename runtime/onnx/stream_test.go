package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// repoModel is the demo's embedded copy of fmnist-small, in the repository.
const repoModel = "../../cmd/edge/assets/fmnist-small.onnx"

// TestStreamMatchesWholeDecode checks that the streaming decode (skeleton
// plus raw_data read into the tensors) yields the graph the whole-file
// decode does, on the fixtures and the ONNX test models, and that it does
// not fall back for them.
func TestStreamMatchesWholeDecode(t *testing.T) {
	// The repository's copy of fmnist-small is always there; the shared
	// fixtures and Debian's test models when installed.
	paths := []string{repoModel}
	more, _ := filepath.Glob("../../../shared/models/*.onnx")
	paths = append(paths, more...)
	more, _ = filepath.Glob("/usr/share/libonnx-testdata/data/pytorch-converted/*/model.onnx")
	paths = append(paths, more...)
	more, _ = filepath.Glob("/usr/share/libonnx-testdata/data/node/test_conv*/model.onnx")
	paths = append(paths, more...)
	for _, p := range paths {
		t.Run(filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			want, err := decode(data, filepath.Dir(p))
			if err != nil {
				t.Skip(err)
			}
			if _, _, err := skeleton(bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatalf("skeleton: %v (the streaming decode would fall back)", err)
			}
			fell := false
			got, err := decodeStream(bytes.NewReader(data), int64(len(data)), filepath.Dir(p), func() ([]byte, error) { fell = true; return data, nil })
			if err != nil || fell {
				t.Fatalf("decodeStream: %v, fell back %v", err, fell)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatal("streaming decode differs from the whole-file decode")
			}
			got, err = DecodeFile(p)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("DecodeFile differs from the whole-file decode (err %v)", err)
			}
		})
	}
}

// TestStreamTruncated checks that every truncation of a model is an
// error from the streaming path as from the whole-file one.
func TestStreamTruncated(t *testing.T) {
	data, err := os.ReadFile(repoModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 10, 100, 1000, len(data) / 3, len(data) / 2, len(data) - 1} {
		_, errFull := decode(data[:n], "")
		_, errStream := Decode(data[:n])
		if (errFull == nil) != (errStream == nil) {
			t.Errorf("%d bytes: whole-file error %v, streaming error %v", n, errFull, errStream)
		}
	}
}
