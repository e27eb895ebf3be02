//go:build ignore

// gen writes the CLI test fixtures from the embedded demo data: the
// first three Fashion-MNIST test images as PNG (28×28 gray) and the
// fourth as an RGB JPEG upscaled to 56×56, a tiny ImageFolder tree of
// PNGs, a corrupt model, a truncated model and a corrupt image.
// Run from cmd/edge/testdata: go run gen.go
package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"

	"github.com/edgeml/edge/data"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func save(path string, img image.Image) {
	must(os.MkdirAll(filepath.Dir(path), 0o755))
	var b bytes.Buffer
	if filepath.Ext(path) == ".jpg" {
		must(jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}))
	} else {
		must(png.Encode(&b, img))
	}
	must(os.WriteFile(path, b.Bytes(), 0o644))
}

func main() {
	ds, err := data.OpenIDX("../assets/fmnist", "test")
	must(err)
	names := []string{"ankle-boot", "pullover", "trouser"}
	for i, n := range names {
		img, err := ds.Image(i)
		must(err)
		save("images/"+n+".png", img)
	}
	// Image 3 as RGB, 2× nearest upscale.
	g, _ := ds.Image(3)
	rgb := image.NewRGBA(image.Rect(0, 0, 56, 56))
	for y := 0; y < 56; y++ {
		for x := 0; x < 56; x++ {
			v := g.(*image.Gray).GrayAt(x/2, y/2).Y
			rgb.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	save("images/trouser-rgb.jpg", rgb)
	// ImageFolder of the first 4 test images of classes 0, 1 and 2; the
	// directory names sort in class order, so folder labels = model classes.
	dirs := []string{"0-tshirt", "1-trouser", "2-pullover"}
	seen := map[int]int{}
	for i := 0; i < ds.Len(); i++ {
		l := ds.Label(i)
		if l <= 2 && seen[l] < 4 {
			seen[l]++
			img, _ := ds.Image(i)
			save(fmt.Sprintf("folder/%s/%04d.png", dirs[l], i), img)
		}
	}
	must(os.WriteFile("images/broken.png", []byte("\x89PNG\r\n\x1a\nnot a png"), 0o644))
	must(os.WriteFile("corrupt.onnx", []byte("this is not an onnx model at all\n"), 0o644))
	m, err := os.ReadFile("../assets/fmnist-small.onnx")
	must(err)
	must(os.WriteFile("truncated.onnx", m[:4096], 0o644))
}
