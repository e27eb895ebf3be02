package data

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/image/draw"
)

// Preprocess maps decoded images to model input values (see the package
// documentation for the formula).
type Preprocess struct {
	Channels      int       // 1 (gray) or 3 (RGB)
	Height, Width int       // model input size; images are resized to it
	Scale         float64   // multiplies the 0..255 channel value
	Mean, Std     []float64 // one value (all channels) or one per channel
	Layout        string    // "NCHW" or "NHWC"
}

// Metadata keys read by FromModel (see ../shared/models/MODELS.md).
const (
	KeyScale  = "preprocess.scale"
	KeyMean   = "preprocess.mean"
	KeyStd    = "preprocess.std"
	KeyLayout = "preprocess.layout"
	KeyColor  = "preprocess.color"
	KeyLabels = "labels"
)

// FromModel derives the preprocessing from a model's metadata_props and
// the shape of its image input (rank 4; negative dimensions are unknown).
// Missing keys default to scale 1/255, mean 0, std 1, layout NCHW and
// the channel count of the input shape (gray when unknown). Unknown
// sizes stay 0 and must be set by Override before use.
func FromModel(meta map[string]string, shape []int) (Preprocess, error) {
	p := Preprocess{Scale: 1.0 / 255, Mean: []float64{0}, Std: []float64{1}, Layout: "NCHW"}
	if v, ok := meta[KeyLayout]; ok {
		p.Layout = strings.ToUpper(strings.TrimSpace(v))
		if p.Layout != "NCHW" && p.Layout != "NHWC" {
			return p, fmt.Errorf("%w: metadata %s=%q; edge supports NCHW and NHWC", ErrParam, KeyLayout, v)
		}
	}
	if len(shape) == 4 {
		c, h, w := shape[1], shape[2], shape[3]
		if p.Layout == "NHWC" {
			h, w, c = shape[1], shape[2], shape[3]
		}
		p.Channels, p.Height, p.Width = max(c, 0), max(h, 0), max(w, 0)
	} else if len(shape) != 0 {
		return p, fmt.Errorf("%w: model input has shape %v; image models take rank-4 input (N,C,H,W)", ErrParam, shape)
	}
	if v, ok := meta[KeyColor]; ok {
		c, err := parseColor(v)
		if err != nil {
			return p, fmt.Errorf("%w: metadata %s: %v", ErrParam, KeyColor, err)
		}
		p.Channels = c
	}
	if p.Channels == 0 {
		p.Channels = 1
	}
	var err error
	if v, ok := meta[KeyScale]; ok {
		if p.Scale, err = parseNumber(v); err != nil {
			return p, fmt.Errorf("%w: metadata %s: %v", ErrParam, KeyScale, err)
		}
	}
	if v, ok := meta[KeyMean]; ok {
		if p.Mean, err = parseList(v); err != nil {
			return p, fmt.Errorf("%w: metadata %s: %v", ErrParam, KeyMean, err)
		}
	}
	if v, ok := meta[KeyStd]; ok {
		if p.Std, err = parseList(v); err != nil {
			return p, fmt.Errorf("%w: metadata %s: %v", ErrParam, KeyStd, err)
		}
	}
	return p, nil
}

// Labels returns the class names of metadata key "labels"
// (comma-separated), or nil.
func Labels(meta map[string]string) []string {
	v := strings.TrimSpace(meta[KeyLabels])
	if v == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// Overrides are user-given preprocessing values (command-line flags);
// empty fields keep the model's values.
type Overrides struct {
	Size  string // "224" (square) or "HxW"
	Mean  string // "0.5" or "0.485,0.456,0.406"
	Std   string // as Mean
	Scale string // "0.00392156862745098" or "1/255"
	Color string // "gray" or "rgb"
}

// Override applies user values to p.
func (p *Preprocess) Override(o Overrides) error {
	if o.Size != "" {
		h, w, err := ParseSize(o.Size)
		if err != nil {
			return err
		}
		p.Height, p.Width = h, w
	}
	var err error
	if o.Mean != "" {
		if p.Mean, err = parseList(o.Mean); err != nil {
			return fmt.Errorf("%w: --mean: %v", ErrParam, err)
		}
	}
	if o.Std != "" {
		if p.Std, err = parseList(o.Std); err != nil {
			return fmt.Errorf("%w: --std: %v", ErrParam, err)
		}
	}
	if o.Scale != "" {
		if p.Scale, err = parseNumber(o.Scale); err != nil {
			return fmt.Errorf("%w: --scale: %v", ErrParam, err)
		}
	}
	if o.Color != "" {
		if p.Channels, err = parseColor(o.Color); err != nil {
			return fmt.Errorf("%w: %v", ErrParam, err)
		}
	}
	return nil
}

// ParseSize parses "224" or "HxW" (also "H×W").
func ParseSize(s string) (h, w int, err error) {
	s = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "×", "x")
	hs, ws, two := strings.Cut(s, "x")
	h, err1 := strconv.Atoi(hs)
	w = h
	var err2 error
	if two {
		w, err2 = strconv.Atoi(ws)
	}
	if err1 != nil || err2 != nil || h <= 0 || w <= 0 || h > 1<<14 || w > 1<<14 {
		return 0, 0, fmt.Errorf("%w: size %q; use a positive N or HxW such as 224 or 224x224", ErrParam, s)
	}
	return h, w, nil
}

func parseColor(s string) (int, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "gray", "grey", "grayscale", "l":
		return 1, nil
	case "rgb":
		return 3, nil
	}
	return 0, fmt.Errorf("color %q; use gray or rgb", s)
}

// parseNumber parses a float or a fraction "a/b".
func parseNumber(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, den, frac := strings.Cut(s, "/")
	a, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if frac {
		b, err := strconv.ParseFloat(strings.TrimSpace(den), 64)
		if err != nil || b == 0 {
			return 0, fmt.Errorf("%q is not a fraction", s)
		}
		a /= b
	}
	if math.IsNaN(a) || math.IsInf(a, 0) {
		return 0, fmt.Errorf("%q is not finite", s)
	}
	return a, nil
}

func parseList(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(strings.Trim(strings.TrimSpace(s), "[]()"), ",") {
		v, err := parseNumber(f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Validate checks that p is complete and consistent.
func (p Preprocess) Validate() error {
	switch {
	case p.Channels != 1 && p.Channels != 3:
		return fmt.Errorf("%w: %d channels; edge reads gray (1) or RGB (3) images", ErrParam, p.Channels)
	case p.Height <= 0 || p.Width <= 0:
		return fmt.Errorf("%w: the model does not fix its input size; pass --size HxW", ErrParam)
	case p.Layout != "NCHW" && p.Layout != "NHWC":
		return fmt.Errorf("%w: layout %q; use NCHW or NHWC", ErrParam, p.Layout)
	case p.Scale == 0 || math.IsNaN(p.Scale) || math.IsInf(p.Scale, 0):
		return fmt.Errorf("%w: scale %v must be finite and non-zero", ErrParam, p.Scale)
	}
	for _, l := range []struct {
		name string
		v    []float64
	}{{"mean", p.Mean}, {"std", p.Std}} {
		if len(l.v) != 1 && len(l.v) != p.Channels {
			return fmt.Errorf("%w: %d %s values for %d channels; give 1 or %d", ErrParam, len(l.v), l.name, p.Channels, p.Channels)
		}
	}
	for _, s := range p.Std {
		if s == 0 {
			return fmt.Errorf("%w: std must not be zero", ErrParam)
		}
	}
	return nil
}

// Shape is the input shape for a batch of n images.
func (p Preprocess) Shape(n int) []int {
	if p.Layout == "NHWC" {
		return []int{n, p.Height, p.Width, p.Channels}
	}
	return []int{n, p.Channels, p.Height, p.Width}
}

// CheckInput verifies that p produces tensors the model input of shape
// accepts (negative dimensions of shape match anything).
func (p Preprocess) CheckInput(shape []int) error {
	if len(shape) == 0 {
		return nil
	}
	want := p.Shape(1)
	if len(shape) != len(want) {
		return fmt.Errorf("%w: model input has rank %d, images give rank %d", ErrParam, len(shape), len(want))
	}
	for i := 1; i < len(want); i++ {
		if shape[i] >= 0 && shape[i] != want[i] {
			return fmt.Errorf("%w: model input shape %v does not accept %s images of %v; check --size and --gray/--rgb", ErrParam, shape, p.Layout, want)
		}
	}
	return nil
}

// Size is the number of values per image (C·H·W).
func (p Preprocess) Size() int { return p.Channels * p.Height * p.Width }

// lut returns per-channel tables mapping a byte to its model value,
// computed in float64 and rounded once.
func (p Preprocess) lut() [][256]float32 {
	t := make([][256]float32, p.Channels)
	for c := range t {
		m, s := p.Mean[0], p.Std[0]
		if len(p.Mean) > 1 {
			m = p.Mean[c]
		}
		if len(p.Std) > 1 {
			s = p.Std[c]
		}
		for x := 0; x < 256; x++ {
			t[c][x] = float32((float64(x)*p.Scale - m) / s)
		}
	}
	return t
}

// Apply writes the Size() values of img into dst (layout p.Layout,
// without the batch dimension).
func (p Preprocess) Apply(img image.Image, dst []float32) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if len(dst) < p.Size() {
		return fmt.Errorf("data: destination holds %d values, want %d", len(dst), p.Size())
	}
	p.apply(p.lut(), img, dst)
	return nil
}

func (p Preprocess) apply(lut [][256]float32, img image.Image, dst []float32) {
	h, w, C := p.Height, p.Width, p.Channels
	b := img.Bounds()
	if C == 1 {
		g, ok := img.(*image.Gray)
		if !ok || b.Dx() != w || b.Dy() != h {
			g = toGray(img, w, h)
		}
		for y := 0; y < h; y++ {
			row := g.Pix[(y)*g.Stride : y*g.Stride+w]
			out := dst[y*w : y*w+w]
			for x, v := range row {
				out[x] = lut[0][v]
			}
		}
		return
	}
	rgb := toNRGBA(img, w, h)
	for y := 0; y < h; y++ {
		row := rgb.Pix[y*rgb.Stride : y*rgb.Stride+4*w]
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				v := lut[c][row[4*x+c]]
				if p.Layout == "NHWC" {
					dst[(y*w+x)*3+c] = v
				} else {
					dst[c*h*w+y*w+x] = v
				}
			}
		}
	}
}

// toGray converts img to 8-bit luma (color.GrayModel) of size w×h,
// resizing bilinearly when needed.
func toGray(img image.Image, w, h int) *image.Gray {
	b := img.Bounds()
	g, ok := img.(*image.Gray)
	if !ok {
		g = image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				g.Pix[y*g.Stride+x] = color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
			}
		}
	}
	if b.Dx() == w && b.Dy() == h {
		if g.Rect.Min == (image.Point{}) {
			return g
		}
		out := image.NewGray(image.Rect(0, 0, w, h))
		draw.Copy(out, image.Point{}, g, g.Rect, draw.Src, nil)
		return out
	}
	out := image.NewGray(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(out, out.Rect, g, g.Rect, draw.Src, nil)
	return out
}

// toNRGBA converts img to non-premultiplied 8-bit RGBA of size w×h,
// resizing bilinearly when needed.
func toNRGBA(img image.Image, w, h int) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	if b.Dx() == w && b.Dy() == h {
		draw.Copy(out, image.Point{}, img, b, draw.Src, nil)
		return out
	}
	draw.BiLinear.Scale(out, out.Rect, img, b, draw.Src, nil)
	return out
}

// Fill preprocesses images [start, start+n) of ds into dst (n·Size()
// values) and their labels into labels (len ≥ n, or nil), decoding on up
// to workers goroutines (≤ 0: 1). The first error stops the batch.
func (p Preprocess) Fill(ds Dataset, start, n int, dst []float32, labels []int, workers int) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if start < 0 || n < 0 || start+n > ds.Len() {
		return fmt.Errorf("data: batch [%d,%d) outside the %d images of %s", start, start+n, ds.Len(), ds.Name())
	}
	if s, ok := ds.(*subset); ok {
		return p.Fill(s.Dataset, s.off+start, n, dst, labels, workers)
	}
	size := p.Size()
	if len(dst) < n*size {
		return fmt.Errorf("data: batch buffer holds %d values, want %d", len(dst), n*size)
	}
	lut := p.lut()
	for i := 0; i < n; i++ {
		if labels != nil {
			labels[i] = ds.Label(start + i)
		}
	}
	// Fast path: IDX gray images of the model's size need no decoding.
	if d, ok := ds.(*IDXDataset); ok && p.Channels == 1 && d.h == p.Height && d.w == p.Width {
		for i := 0; i < n; i++ {
			out := dst[i*size : (i+1)*size]
			for j, v := range d.Pixels(start + i) {
				out[j] = lut[0][v]
			}
		}
		return nil
	}
	workers = max(1, min(workers, n))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
		next = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				img, err := ds.Image(start + i)
				if err != nil {
					mu.Lock()
					if ferr == nil {
						ferr = err
					}
					mu.Unlock()
					continue
				}
				p.apply(lut, img, dst[i*size:(i+1)*size])
			}
		}()
	}
	for i := 0; i < n; i++ {
		mu.Lock()
		stop := ferr != nil
		mu.Unlock()
		if stop {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return ferr
}
