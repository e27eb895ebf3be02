package data_test

import (
	"fmt"
	"image"

	"github.com/edgeml/edge/data"
)

func ExampleOpen() {
	ds, err := data.Open("testdata/folder", "test")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ds.Len(), ds.Classes(), ds.Label(0), ds.Label(2))
	// Output: 3 [bird cat] 0 1
}

func ExampleFromModel() {
	meta := map[string]string{"preprocess.scale": "1/255", "preprocess.mean": "0.5", "preprocess.std": "0.5", "preprocess.color": "gray"}
	p, err := data.FromModel(meta, []int{-1, 1, 2, 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	copy(img.Pix, []byte{0, 51, 204, 255})
	x := make([]float32, p.Size())
	if err := p.Apply(img, x); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v %.1f\n", p.Shape(8), x)
	// Output: [8 1 2 2] [-1.0 -0.6 0.6 1.0]
}

func ExamplePreprocess_Fill() {
	ds, _ := data.Open("testdata/idx:train", "test")
	p := data.Preprocess{Channels: 1, Height: 4, Width: 5, Scale: 1, Mean: []float64{0}, Std: []float64{1}, Layout: "NCHW"}
	x := make([]float32, ds.Len()*p.Size())
	labels := make([]int, ds.Len())
	if err := p.Fill(ds, 0, ds.Len(), x, labels, 2); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(labels, x[p.Size()+7])
	// Output: [2 0] 17
}
