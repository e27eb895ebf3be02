//go:build ignore

// gen writes the test fixtures of package data: a tiny IDX dataset
// (plain and gzip), an ImageFolder tree, a flat folder and a corrupt
// image. Run from data/testdata: go run gen.go
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
)

func idx(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func write(path string, b []byte) {
	must(os.MkdirAll(filepath.Dir(path), 0o755))
	must(os.WriteFile(path, b, 0o644))
}

func main() {
	// 3 images of 4×5 (H×W): image i has pixel (y,x) = 10·i + 5·y + x.
	const n, h, w = 3, 4, 5
	pix := make([]byte, n*h*w)
	for i := 0; i < n; i++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				pix[i*h*w+y*w+x] = byte(10*i + 5*y + x)
			}
		}
	}
	labels := []byte{2, 0, 1}
	write("idx/t10k-images-idx3-ubyte.gz", gz(idx([]int{n, h, w}, pix)))
	write("idx/t10k-labels-idx1-ubyte.gz", gz(idx([]int{n}, labels)))
	write("idx/train-images-idx3-ubyte", idx([]int{2, h, w}, pix[:2*h*w]))
	write("idx/train-labels-idx1-ubyte", idx([]int{2}, labels[:2]))

	// ImageFolder: bird (1 image), cat (2), empty dir ignored.
	solid := func(c color.Color, wd, ht int) image.Image {
		m := image.NewNRGBA(image.Rect(0, 0, wd, ht))
		for y := 0; y < ht; y++ {
			for x := 0; x < wd; x++ {
				m.Set(x, y, c)
			}
		}
		return m
	}
	enc := func(path string, img image.Image) {
		var b bytes.Buffer
		if filepath.Ext(path) == ".jpg" {
			must(jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}))
		} else {
			must(png.Encode(&b, img))
		}
		write(path, b.Bytes())
	}
	enc("folder/cat/a.png", solid(color.NRGBA{200, 100, 50, 255}, 8, 6))
	enc("folder/cat/b.jpg", solid(color.NRGBA{128, 128, 128, 255}, 16, 16))
	enc("folder/bird/x.png", solid(color.NRGBA{0, 255, 0, 255}, 4, 4))
	write("folder/bird/notes.txt", []byte("not an image\n"))
	must(os.MkdirAll("folder/empty", 0o755))
	write("folder/empty/.keep", nil)
	enc("flat/one.png", solid(color.NRGBA{10, 20, 30, 255}, 3, 3))
	enc("flat/two.png", solid(color.NRGBA{40, 50, 60, 255}, 3, 3))
	write("corrupt/bad/broken.png", []byte("\x89PNG\r\n\x1a\nthis is not really a png"))
}
