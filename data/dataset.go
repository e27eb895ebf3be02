package data

import (
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Dataset is a random-access list of labeled images.
type Dataset interface {
	// Name describes the source for reports ("fashion-mnist:test").
	Name() string
	// Len is the number of images.
	Len() int
	// Classes are the class names in label order; nil when unknown.
	Classes() []string
	// Label is the class index of image i, or -1 when unlabeled.
	Label(i int) int
	// Image decodes image i.
	Image(i int) (image.Image, error)
}

// FashionMNISTDir is where the name "fashion-mnist" points (Debian's
// dataset-fashion-mnist package). The environment variable
// EDGE_FASHION_MNIST overrides it.
var FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// FashionMNISTClasses are the Fashion-MNIST class names in label order.
var FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

func fashionMNISTDir() string {
	if d := os.Getenv("EDGE_FASHION_MNIST"); d != "" {
		return d
	}
	return FashionMNISTDir
}

// IDXDataset holds gray images and labels read from IDX files.
type IDXDataset struct {
	name    string
	n, h, w int
	pix     []byte // n×h×w
	labels  []byte // n
	classes []string
}

// NewIDXDataset pairs an N×H×W image array with an N-element label array.
// classes may be nil.
func NewIDXDataset(name string, images, labels *IDX, classes []string) (*IDXDataset, error) {
	if len(images.Dims) != 3 {
		return nil, fmt.Errorf("%w: %s: image array has dimensions %v, want N×H×W", ErrFormat, name, images.Dims)
	}
	if labels != nil && (len(labels.Dims) != 1 || labels.Dims[0] != images.Dims[0]) {
		return nil, fmt.Errorf("%w: %s: %d images but label array has dimensions %v", ErrFormat, name, images.Dims[0], labels.Dims)
	}
	d := &IDXDataset{name: name, n: images.Dims[0], h: images.Dims[1], w: images.Dims[2], pix: images.Data, classes: classes}
	if labels != nil {
		d.labels = labels.Data
		for i, l := range d.labels {
			if classes != nil && int(l) >= len(classes) {
				return nil, fmt.Errorf("%w: %s: label %d of image %d is outside the %d classes", ErrFormat, name, l, i, len(classes))
			}
		}
	}
	return d, nil
}

// OpenIDX reads split "train" or "test" (files t10k-*) from dir: the
// files {train,t10k}-images-idx3-ubyte and -labels-idx1-ubyte, each
// optionally gzip-compressed (.gz).
func OpenIDX(dir, split string) (*IDXDataset, error) {
	prefix, err := splitPrefix(split)
	if err != nil {
		return nil, err
	}
	imgPath, err := findIDX(dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lblPath, err := findIDX(dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	images, err := ReadIDXFile(imgPath)
	if err != nil {
		return nil, err
	}
	labels, err := ReadIDXFile(lblPath)
	if err != nil {
		return nil, err
	}
	var classes []string
	if filepath.Clean(dir) == filepath.Clean(fashionMNISTDir()) || strings.Contains(strings.ToLower(filepath.Base(dir)), "fashion") {
		classes = FashionMNISTClasses
	}
	return NewIDXDataset(filepath.Base(dir)+":"+split, images, labels, classes)
}

func splitPrefix(split string) (string, error) {
	switch split {
	case "", "test", "t10k":
		return "t10k", nil
	case "train":
		return "train", nil
	}
	return "", fmt.Errorf("data: unknown split %q; use test or train", split)
}

func findIDX(dir, base string) (string, error) {
	for _, name := range []string{base + ".gz", base} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s(.gz) in %s", ErrNotFound, base, dir)
}

func (d *IDXDataset) Name() string      { return d.name }
func (d *IDXDataset) Len() int          { return d.n }
func (d *IDXDataset) Classes() []string { return d.classes }

// Size is the height and width of every image.
func (d *IDXDataset) Size() (h, w int) { return d.h, d.w }

func (d *IDXDataset) Label(i int) int {
	if d.labels == nil {
		return -1
	}
	return int(d.labels[i])
}

// Pixels returns image i's H×W bytes (shared, do not modify).
func (d *IDXDataset) Pixels(i int) []byte { return d.pix[i*d.h*d.w : (i+1)*d.h*d.w] }

func (d *IDXDataset) Image(i int) (image.Image, error) {
	if i < 0 || i >= d.n {
		return nil, fmt.Errorf("data: image index %d outside [0,%d)", i, d.n)
	}
	return &image.Gray{Pix: d.Pixels(i), Stride: d.w, Rect: image.Rect(0, 0, d.w, d.h)}, nil
}

// FileDataset is a list of image files with optional labels: an
// ImageFolder tree or a flat list.
type FileDataset struct {
	name    string
	paths   []string
	labels  []int // nil: unlabeled
	classes []string
}

// imageExt reports whether a file name has an image extension edge decodes.
func imageExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// OpenImageFolder reads DIR/<class>/*.png|jpg|jpeg (classes sorted, label
// = position). A directory holding image files directly and no class
// subdirectories is an unlabeled dataset.
func OpenImageFolder(dir string) (*FileDataset, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: dataset directory %s", ErrNotFound, dir)
		}
		return nil, fmt.Errorf("data: %v", err)
	}
	d := &FileDataset{name: filepath.Base(filepath.Clean(dir))}
	var flat []string
	for _, e := range entries { // ReadDir sorts by name
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			files, err := imagesIn(p)
			if err != nil {
				return nil, err
			}
			if len(files) == 0 {
				continue
			}
			label := len(d.classes)
			d.classes = append(d.classes, e.Name())
			d.paths = append(d.paths, files...)
			for range files {
				d.labels = append(d.labels, label)
			}
		} else if imageExt(e.Name()) {
			flat = append(flat, p)
		}
	}
	if len(d.classes) == 0 {
		if len(flat) == 0 {
			return nil, fmt.Errorf("%w: no .png/.jpg images in %s or its class subdirectories", ErrNotFound, dir)
		}
		d.paths, d.labels, d.classes = flat, nil, nil
	}
	return d, nil
}

func imagesIn(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data: %v", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && imageExt(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// NewFileDataset is an unlabeled dataset of the given image files.
func NewFileDataset(name string, paths []string) *FileDataset {
	return &FileDataset{name: name, paths: slices.Clone(paths)}
}

func (d *FileDataset) Name() string      { return d.name }
func (d *FileDataset) Len() int          { return len(d.paths) }
func (d *FileDataset) Classes() []string { return d.classes }

// Path is the file of image i.
func (d *FileDataset) Path(i int) string { return d.paths[i] }

func (d *FileDataset) Label(i int) int {
	if d.labels == nil {
		return -1
	}
	return d.labels[i]
}

func (d *FileDataset) Image(i int) (image.Image, error) {
	if i < 0 || i >= len(d.paths) {
		return nil, fmt.Errorf("data: image index %d outside [0,%d)", i, len(d.paths))
	}
	return DecodeFile(d.paths[i])
}

// subset is the first n images of a dataset.
type subset struct {
	Dataset
	off, n int
}

// Slice returns images [off, off+n) of ds (clamped to its length).
func Slice(ds Dataset, off, n int) Dataset {
	off = max(0, min(off, ds.Len()))
	n = max(0, min(n, ds.Len()-off))
	if off == 0 && n == ds.Len() {
		return ds
	}
	if s, ok := ds.(*subset); ok {
		return &subset{Dataset: s.Dataset, off: s.off + off, n: n}
	}
	return &subset{Dataset: ds, off: off, n: n}
}

func (s *subset) Name() string {
	return fmt.Sprintf("%s[%d:%d]", s.Dataset.Name(), s.off, s.off+s.n)
}
func (s *subset) Len() int                         { return s.n }
func (s *subset) Label(i int) int                  { return s.Dataset.Label(s.off + i) }
func (s *subset) Image(i int) (image.Image, error) { return s.Dataset.Image(s.off + i) }

// Spec is a parsed dataset specification.
type Spec struct {
	Source string // "fashion-mnist" or a directory
	Split  string // "test" or "train"; "" when the source has no splits
	Limit  int    // 0: all images
}

// ParseSpec parses "fashion-mnist[:split[:N]]" or "DIR[:split[:N]]"
// (a trailing ":split" or ":N" is taken only when it parses as one);
// defSplit applies when none is given.
func ParseSpec(s, defSplit string) (Spec, error) {
	if s == "" {
		return Spec{}, fmt.Errorf("data: empty dataset; use fashion-mnist or a directory")
	}
	sp := Spec{Source: s, Split: defSplit}
	parts := strings.Split(s, ":")
	// Peel a trailing count, then a trailing split.
	if len(parts) > 1 {
		if n, err := strconv.Atoi(parts[len(parts)-1]); err == nil {
			if n < 0 {
				return Spec{}, fmt.Errorf("data: negative image count in %q", s)
			}
			sp.Limit = n
			parts = parts[:len(parts)-1]
		}
	}
	if len(parts) > 1 {
		switch parts[len(parts)-1] {
		case "train", "test":
			sp.Split = parts[len(parts)-1]
			parts = parts[:len(parts)-1]
		}
	}
	sp.Source = strings.Join(parts, ":")
	if sp.Split != "" {
		if _, err := splitPrefix(sp.Split); err != nil {
			return Spec{}, err
		}
	}
	return sp, nil
}

// Open opens a dataset from its specification (see ParseSpec):
// "fashion-mnist" (FashionMNISTDir), a directory of IDX files, an
// ImageFolder tree or a flat directory of images. defSplit ("test" or
// "train") applies to IDX sources when the spec names none.
func Open(spec, defSplit string) (Dataset, error) {
	sp, err := ParseSpec(spec, defSplit)
	if err != nil {
		return nil, err
	}
	var ds Dataset
	switch {
	case sp.Source == "fashion-mnist":
		d, err := OpenIDX(fashionMNISTDir(), sp.Split)
		if err != nil {
			return nil, fmt.Errorf("%w (install Debian's dataset-fashion-mnist or set EDGE_FASHION_MNIST)", err)
		}
		d.name = "fashion-mnist:" + orTest(sp.Split)
		ds = d
	case hasIDX(sp.Source):
		d, err := OpenIDX(sp.Source, sp.Split)
		if err != nil {
			return nil, err
		}
		ds = d
	default:
		st, err := os.Stat(sp.Source)
		if err != nil {
			return nil, fmt.Errorf("%w: dataset %s (use fashion-mnist or a directory of class subdirectories)", ErrNotFound, sp.Source)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("data: dataset %s is not a directory (use fashion-mnist or DIR/<class>/*.png)", sp.Source)
		}
		d, err := OpenImageFolder(sp.Source)
		if err != nil {
			return nil, err
		}
		ds = d
	}
	if sp.Limit > 0 {
		ds = Slice(ds, 0, sp.Limit)
	}
	return ds, nil
}

func orTest(s string) string {
	if s == "" {
		return "test"
	}
	return s
}

// hasIDX reports whether dir holds IDX image files of either split.
func hasIDX(dir string) bool {
	for _, p := range []string{"t10k", "train"} {
		if _, err := findIDX(dir, p+"-images-idx3-ubyte"); err == nil {
			return true
		}
	}
	return false
}
