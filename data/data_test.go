package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	if err := WriteIDX(&b, &IDX{Dims: dims, Data: data}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func TestReadIDX(t *testing.T) {
	good := idxBytes([]int{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	tests := []struct {
		name    string
		in      []byte
		dims    []int
		wantErr error
	}{
		{"plain", good, []int{2, 3}, nil},
		{"gzip", gzipped(good), []int{2, 3}, nil},
		{"empty", nil, nil, ErrFormat},
		{"truncated data", good[:len(good)-1], nil, ErrFormat},
		{"truncated dims", good[:6], nil, ErrFormat},
		{"bad magic", append([]byte{1, 0}, good[2:]...), nil, ErrFormat},
		{"float type", append([]byte{0, 0, 0x0d}, good[3:]...), nil, ErrFormat},
		{"rank 0", []byte{0, 0, 8, 0}, nil, ErrFormat},
		{"huge", []byte{0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil, ErrFormat},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0}, nil, ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := ReadIDX(bytes.NewReader(tc.in))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(x.Dims, tc.dims) || !bytes.Equal(x.Data, []byte{1, 2, 3, 4, 5, 6}) {
				t.Fatalf("got %v %v", x.Dims, x.Data)
			}
		})
	}
}

func TestWriteIDXErrors(t *testing.T) {
	var b bytes.Buffer
	if err := WriteIDX(&b, &IDX{Dims: []int{2, 2}, Data: []byte{1}}); !errors.Is(err, ErrFormat) {
		t.Fatalf("mismatched size: err = %v", err)
	}
	if err := WriteIDX(&b, &IDX{}); !errors.Is(err, ErrFormat) {
		t.Fatalf("rank 0: err = %v", err)
	}
}

func TestOpenIDX(t *testing.T) {
	d, err := OpenIDX("testdata/idx", "test")
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.Label(0) != 2 || d.Label(2) != 1 {
		t.Fatalf("len %d labels %d %d", d.Len(), d.Label(0), d.Label(2))
	}
	if h, w := d.Size(); h != 4 || w != 5 {
		t.Fatalf("size %d×%d", h, w)
	}
	img, err := d.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	// Pixel (y=2, x=3) of image 1 is 10+5·2+3.
	if g := img.(*image.Gray).GrayAt(3, 2).Y; g != 23 {
		t.Fatalf("pixel = %d, want 23", g)
	}
	tr, err := OpenIDX("testdata/idx", "train")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 2 {
		t.Fatalf("train len %d", tr.Len())
	}
	if _, err := OpenIDX("testdata/idx", "valid"); err == nil {
		t.Fatal("unknown split accepted")
	}
	if _, err := OpenIDX("testdata/folder", "test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing files: err = %v", err)
	}
}

func TestNewIDXDatasetMismatch(t *testing.T) {
	img := &IDX{Dims: []int{2, 1, 1}, Data: []byte{0, 0}}
	if _, err := NewIDXDataset("x", img, &IDX{Dims: []int{3}, Data: []byte{0, 0, 0}}, nil); !errors.Is(err, ErrFormat) {
		t.Fatalf("count mismatch: err = %v", err)
	}
	if _, err := NewIDXDataset("x", img, &IDX{Dims: []int{2}, Data: []byte{0, 7}}, []string{"a", "b"}); !errors.Is(err, ErrFormat) {
		t.Fatalf("label out of range: err = %v", err)
	}
	if _, err := NewIDXDataset("x", &IDX{Dims: []int{2}, Data: []byte{0, 0}}, nil, nil); !errors.Is(err, ErrFormat) {
		t.Fatalf("rank 1 images: err = %v", err)
	}
}

func TestFashionMNIST(t *testing.T) {
	if _, err := os.Stat(FashionMNISTDir); err != nil {
		t.Skip("Debian dataset-fashion-mnist not installed (make deps-test)")
	}
	for _, tc := range []struct {
		spec string
		n    int
	}{{"fashion-mnist", 10000}, {"fashion-mnist:train", 60000}, {"fashion-mnist:test:100", 100}} {
		t.Run(tc.spec, func(t *testing.T) {
			ds, err := Open(tc.spec, "test")
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != tc.n {
				t.Fatalf("len %d, want %d", ds.Len(), tc.n)
			}
			// The first image of both splits is an ankle boot.
			if ds.Label(0) != 9 || ds.Classes()[9] != "Ankle boot" {
				t.Fatalf("label(0) = %d", ds.Label(0))
			}
			counts := make([]int, 10)
			for i := 0; i < ds.Len(); i++ {
				counts[ds.Label(i)]++
			}
			for c, k := range counts {
				if tc.n >= 10000 && k != tc.n/10 {
					t.Fatalf("class %d has %d images, want %d", c, k, tc.n/10)
				}
			}
		})
	}
}

func TestImageFolder(t *testing.T) {
	d, err := OpenImageFolder("testdata/folder")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Classes(), []string{"bird", "cat"}) {
		t.Fatalf("classes %v", d.Classes())
	}
	if d.Len() != 3 {
		t.Fatalf("len %d", d.Len())
	}
	wantLabels := []int{0, 1, 1}
	wantBase := []string{"x.png", "a.png", "b.jpg"}
	for i := 0; i < d.Len(); i++ {
		if d.Label(i) != wantLabels[i] || filepath.Base(d.Path(i)) != wantBase[i] {
			t.Fatalf("image %d: %s label %d", i, d.Path(i), d.Label(i))
		}
		if _, err := d.Image(i); err != nil {
			t.Fatal(err)
		}
	}
	flat, err := OpenImageFolder("testdata/flat")
	if err != nil {
		t.Fatal(err)
	}
	if flat.Len() != 2 || flat.Label(0) != -1 || flat.Classes() != nil {
		t.Fatalf("flat: len %d label %d classes %v", flat.Len(), flat.Label(0), flat.Classes())
	}
	if _, err := OpenImageFolder("testdata/nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing dir: err = %v", err)
	}
	if _, err := OpenImageFolder("testdata/folder/empty"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no images: err = %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	_, err := DecodeFile("testdata/corrupt/bad/broken.png")
	if !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "broken.png") {
		t.Fatalf("corrupt: err = %v", err)
	}
	if _, err := DecodeFile("testdata/missing.png"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: err = %v", err)
	}
	if _, err := DecodeBytes([]byte("GIF89a")); !errors.Is(err, ErrDecode) {
		t.Fatalf("gif: err = %v", err)
	}
	ds, err := Open("testdata/corrupt", "")
	if err != nil {
		t.Fatal(err)
	}
	p := Preprocess{Channels: 1, Height: 2, Width: 2, Scale: 1, Mean: []float64{0}, Std: []float64{1}, Layout: "NCHW"}
	if err := p.Fill(ds, 0, 1, make([]float32, 4), nil, 2); !errors.Is(err, ErrDecode) {
		t.Fatalf("Fill on corrupt image: err = %v", err)
	}
}

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
		bad  bool
	}{
		{"fashion-mnist", Spec{"fashion-mnist", "test", 0}, false},
		{"fashion-mnist:train", Spec{"fashion-mnist", "train", 0}, false},
		{"fashion-mnist:train:1024", Spec{"fashion-mnist", "train", 1024}, false},
		{"fashion-mnist:256", Spec{"fashion-mnist", "test", 256}, false},
		{"/data/imgs", Spec{"/data/imgs", "test", 0}, false},
		{"/data/a:b", Spec{"/data/a:b", "test", 0}, false},
		{"/data/x:train:5", Spec{"/data/x", "train", 5}, false},
		{"fashion-mnist:train:-3", Spec{}, true},
		{"", Spec{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSpec(tc.in, "test")
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted %q", tc.in)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		spec string
		n    int
		err  error
	}{
		{"testdata/idx", 3, nil},
		{"testdata/idx:train", 2, nil},
		{"testdata/idx:test:2", 2, nil},
		{"testdata/folder", 3, nil},
		{"testdata/flat:1", 1, nil},
		{"testdata/none", 0, ErrNotFound},
		{"testdata/gen.go", 0, errors.New("")},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			ds, err := Open(tc.spec, "test")
			if tc.err != nil {
				if err == nil {
					t.Fatal("no error")
				}
				if tc.err == ErrNotFound && !errors.Is(err, ErrNotFound) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != tc.n {
				t.Fatalf("len %d, want %d", ds.Len(), tc.n)
			}
		})
	}
}

var fmnistMeta = map[string]string{
	"preprocess.scale": "0.00392156862745098", "preprocess.mean": "0.2860", "preprocess.std": "0.3530",
	"preprocess.layout": "NCHW", "preprocess.color": "gray",
	"labels": "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot",
}

func TestFromModel(t *testing.T) {
	p, err := FromModel(fmnistMeta, []int{-1, 1, 28, 28})
	if err != nil {
		t.Fatal(err)
	}
	want := Preprocess{Channels: 1, Height: 28, Width: 28, Scale: 0.00392156862745098, Mean: []float64{0.286}, Std: []float64{0.353}, Layout: "NCHW"}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v", p)
	}
	if l := Labels(fmnistMeta); len(l) != 10 || l[0] != "T-shirt/top" || l[9] != "Ankle boot" {
		t.Fatalf("labels %q", l)
	}
	// Defaults from the shape alone.
	p, err = FromModel(nil, []int{1, 3, -1, -1})
	if err != nil {
		t.Fatal(err)
	}
	if p.Channels != 3 || p.Height != 0 || p.Scale != 1.0/255 {
		t.Fatalf("defaults %+v", p)
	}
	if err := p.Validate(); !errors.Is(err, ErrParam) || !strings.Contains(err.Error(), "--size") {
		t.Fatalf("unknown size: err = %v", err)
	}
	if err := p.Override(Overrides{Size: "224x200", Mean: "0.485,0.456,0.406", Std: "0.229,0.224,0.225", Scale: "1/255"}); err != nil {
		t.Fatal(err)
	}
	if p.Height != 224 || p.Width != 200 || len(p.Mean) != 3 || p.Validate() != nil {
		t.Fatalf("override %+v", p)
	}
	for _, bad := range []map[string]string{
		{"preprocess.layout": "CHW"}, {"preprocess.color": "cmyk"}, {"preprocess.scale": "x"},
		{"preprocess.mean": "1,,2"}, {"preprocess.std": "1/0"},
	} {
		if _, err := FromModel(bad, []int{1, 1, 2, 2}); !errors.Is(err, ErrParam) {
			t.Errorf("%v: err = %v", bad, err)
		}
	}
	if _, err := FromModel(nil, []int{1, 784}); !errors.Is(err, ErrParam) {
		t.Errorf("rank 2 input: err = %v", err)
	}
}

func TestOverrideErrors(t *testing.T) {
	for _, o := range []Overrides{{Size: "0"}, {Size: "12y4"}, {Mean: "a"}, {Std: ""}, {Scale: "1/0"}, {Color: "cmyk"}} {
		p := Preprocess{Channels: 1, Height: 2, Width: 2, Scale: 1, Mean: []float64{0}, Std: []float64{1}, Layout: "NCHW"}
		err := p.Override(o)
		if o == (Overrides{}) {
			if err != nil {
				t.Errorf("empty override: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrParam) {
			t.Errorf("%+v: err = %v", o, err)
		}
	}
	p := Preprocess{Channels: 3, Height: 2, Width: 2, Scale: 1, Mean: []float64{0, 1}, Std: []float64{1}, Layout: "NCHW"}
	if err := p.Validate(); !errors.Is(err, ErrParam) {
		t.Errorf("2 means for 3 channels: err = %v", err)
	}
	p.Mean, p.Std = []float64{0}, []float64{0}
	if err := p.Validate(); !errors.Is(err, ErrParam) {
		t.Errorf("zero std: err = %v", err)
	}
	p.Std = []float64{1}
	if err := p.CheckInput([]int{-1, 1, 2, 2}); !errors.Is(err, ErrParam) {
		t.Errorf("rgb into gray model: err = %v", err)
	}
	if err := p.CheckInput([]int{-1, 3, 2, 2}); err != nil {
		t.Errorf("matching input: %v", err)
	}
}

func TestApplyGray(t *testing.T) {
	p, _ := FromModel(fmnistMeta, []int{1, 1, 2, 3})
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(img.Pix, []byte{0, 51, 102, 153, 204, 255})
	dst := make([]float32, 6)
	if err := p.Apply(img, dst); err != nil {
		t.Fatal(err)
	}
	for i, v := range img.Pix {
		want := (float64(v)/255 - 0.286) / 0.353
		if math.Abs(float64(dst[i])-want) > 1e-6 {
			t.Fatalf("value %d = %v, want %v", i, dst[i], want)
		}
	}
	// An RGB image of the right size is converted with ITU-R 601 luma.
	rgb := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := 0; i < 6; i++ {
		rgb.Pix[4*i], rgb.Pix[4*i+1], rgb.Pix[4*i+2], rgb.Pix[4*i+3] = 255, 0, 0, 255
	}
	if err := p.Apply(rgb, dst); err != nil {
		t.Fatal(err)
	}
	y := color.GrayModel.Convert(color.NRGBA{255, 0, 0, 255}).(color.Gray).Y
	if want := float32((float64(y)/255 - 0.286) / 0.353); dst[5] != want {
		t.Fatalf("red luma value %v, want %v", dst[5], want)
	}
	if err := p.Apply(img, dst[:5]); err == nil {
		t.Fatal("short destination accepted")
	}
}

func TestApplyRGBLayouts(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	copy(img.Pix, []byte{10, 20, 30, 255, 40, 50, 60, 128})
	base := Preprocess{Channels: 3, Height: 1, Width: 2, Scale: 1, Mean: []float64{0, 100, 0}, Std: []float64{1, 1, 2}}
	for _, tc := range []struct {
		layout string
		want   []float32
	}{
		{"NCHW", []float32{10, 40, -80, -50, 15, 30}},
		{"NHWC", []float32{10, -80, 15, 40, -50, 30}},
	} {
		t.Run(tc.layout, func(t *testing.T) {
			p := base
			p.Layout = tc.layout
			dst := make([]float32, 6)
			if err := p.Apply(img, dst); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(dst, tc.want) {
				t.Fatalf("got %v, want %v", dst, tc.want)
			}
		})
	}
}

func TestApplyResize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := Preprocess{Channels: 1, Height: 7, Width: 9, Scale: 1, Mean: []float64{0}, Std: []float64{1}, Layout: "NCHW"}
	// A uniform image stays uniform at any size.
	for _, sz := range [][2]int{{3, 3}, {7, 9}, {20, 11}, {1, 1}} {
		v := byte(rng.IntN(256))
		img := image.NewGray(image.Rect(5, 5, 5+sz[1], 5+sz[0])) // non-zero origin
		for i := range img.Pix {
			img.Pix[i] = v
		}
		dst := make([]float32, p.Size())
		if err := p.Apply(img, dst); err != nil {
			t.Fatal(err)
		}
		for i, d := range dst {
			if d != float32(v) {
				t.Fatalf("size %v: value %d = %v, want %d", sz, i, d, v)
			}
		}
	}
	// A horizontal ramp stays monotonic after bilinear down-scaling.
	ramp := image.NewGray(image.Rect(0, 0, 90, 70))
	for y := 0; y < 70; y++ {
		for x := 0; x < 90; x++ {
			ramp.Pix[y*90+x] = byte(x * 2)
		}
	}
	dst := make([]float32, p.Size())
	if err := p.Apply(ramp, dst); err != nil {
		t.Fatal(err)
	}
	for x := 1; x < 9; x++ {
		if dst[3*9+x] <= dst[3*9+x-1] {
			t.Fatalf("not monotonic at x=%d: %v", x, dst[27:36])
		}
	}
}

// hidden hides a dataset's concrete type (disables the IDX fast path).
type hidden struct{ Dataset }

func TestFillPaths(t *testing.T) {
	d, err := OpenIDX("testdata/idx", "test")
	if err != nil {
		t.Fatal(err)
	}
	p := Preprocess{Channels: 1, Height: 4, Width: 5, Scale: 1.0 / 255, Mean: []float64{0.5}, Std: []float64{0.25}, Layout: "NCHW"}
	for _, tc := range []struct {
		name string
		ds   Dataset
		off  int
	}{{"idx", d, 0}, {"generic", hidden{d}, 0}, {"slice", Slice(d, 1, 2), 1}} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.ds.Len() - 1
			start := 1 - tc.off
			if tc.off == 1 {
				start, n = 0, 2
			}
			dst := make([]float32, n*p.Size())
			labels := make([]int, n)
			if err := p.Fill(tc.ds, start, n, dst, labels, 3); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				src := d.Pixels(1 + i)
				if labels[i] != d.Label(1+i) {
					t.Fatalf("label %d = %d", i, labels[i])
				}
				for j, v := range src {
					want := float32((float64(v)/255 - 0.5) / 0.25)
					if dst[i*p.Size()+j] != want {
						t.Fatalf("image %d value %d = %v, want %v", i, j, dst[i*p.Size()+j], want)
					}
				}
			}
		})
	}
	if err := p.Fill(d, 2, 2, make([]float32, 40), nil, 1); err == nil {
		t.Fatal("batch past the end accepted")
	}
	if err := p.Fill(d, 0, 2, make([]float32, 39), nil, 1); err == nil {
		t.Fatal("short buffer accepted")
	}
}

func TestFillImageFolder(t *testing.T) {
	d, err := Open("testdata/folder", "")
	if err != nil {
		t.Fatal(err)
	}
	p := Preprocess{Channels: 3, Height: 4, Width: 4, Scale: 1, Mean: []float64{0}, Std: []float64{1}, Layout: "NCHW"}
	dst := make([]float32, 3*p.Size())
	labels := make([]int, 3)
	if err := p.Fill(d, 0, 3, dst, labels, 2); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(labels, []int{0, 1, 1}) {
		t.Fatalf("labels %v", labels)
	}
	// Image 0 is solid green (PNG, lossless); image 1 solid (200,100,50).
	for c, want := range []float32{0, 255, 0} {
		if v := dst[c*16+5]; v != want {
			t.Fatalf("bird channel %d = %v, want %v", c, v, want)
		}
	}
	for c, want := range []float32{200, 100, 50} {
		if v := dst[p.Size()+c*16+15]; v != want {
			t.Fatalf("cat channel %d = %v, want %v", c, v, want)
		}
	}
	// The JPEG is solid gray 128 up to compression error.
	if v := dst[2*p.Size()+7]; math.Abs(float64(v)-128) > 2 {
		t.Fatalf("jpeg value %v, want ≈128", v)
	}
}
