package device

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/edgeml/edge/runtime"
)

// LayerCost is the predicted latency of one layer.
type LayerCost struct {
	Name     string `json:"name"`
	OpType   string `json:"op_type"`
	Category string `json:"category"`
	MACs     int64  `json:"macs"`
	Bytes    int64  `json:"bytes"` // inputs + weights + outputs
	// The three terms of the model (see doc.go), in milliseconds:
	// MemoryMs is, for compute layers, only the part of the memory time
	// that exceeds the compute time (roofline).
	ComputeMs  float64 `json:"compute_ms"`
	MemoryMs   float64 `json:"memory_ms"`
	OverheadMs float64 `json:"overhead_ms"`
	Ms         float64 `json:"ms"`
	// GFLOPS is the compute rate the model used; Basis names the nearest
	// calibrated shape it was interpolated from.
	GFLOPS float64 `json:"gflops,omitempty"`
	Basis  string  `json:"basis,omitempty"`
}

// Prediction is the predicted latency of a model at a thread count.
type Prediction struct {
	Threads int         `json:"threads"`
	Layers  []LayerCost `json:"layers"`
	TotalMs float64     `json:"total_ms"`
	MACs    int64       `json:"macs"`
	// Note records approximations, e.g. a thread count beyond the
	// calibrated ones.
	Note string `json:"note,omitempty"`
}

// Category classifies a layer for the cost model: CatConv, CatPointwise,
// CatDepthwise, CatFC, CatPool or CatElemwise.
func Category(l runtime.Layer) string {
	switch l.OpType {
	case "Conv":
		p := l.Conv
		switch {
		case p.InC <= 0:
			return CatConv
		case p.Group > 1 && p.Group == p.InC && p.Group == p.OutC:
			return CatDepthwise
		case p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0:
			return CatPointwise
		}
		return CatConv
	case "Gemm", "MatMul", "ConvTranspose":
		return CatFC
	case "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool":
		return CatPool
	}
	return CatElemwise
}

// gemmDims returns the GEMM view (M, N, K per product, products per run)
// of a compute layer.
func gemmDims(l runtime.Layer, cat string) (m, n, k int, reps int64) {
	p := l.Conv
	batch := int64(1)
	if len(l.Inputs) > 0 && len(l.Inputs[0]) > 0 && l.Inputs[0][0] > 0 {
		batch = int64(l.Inputs[0][0])
	}
	switch cat {
	case CatFC:
		k, n = max(p.InC, 1), max(p.OutC, 1)
		rows := int64(1)
		if l.MACs > 0 {
			rows = max(1, l.MACs/(int64(k)*int64(n)))
		}
		return int(rows), n, k, 1
	case CatConv, CatPointwise, CatDepthwise:
		if p.InC <= 0 || p.Group <= 0 || p.StrideH <= 0 || p.StrideW <= 0 {
			return 0, 0, 0, 0
		}
		return p.OutC / p.Group, p.OutH() * p.OutW(), p.InC / p.Group * p.KH * p.KW, batch * int64(p.Group)
	}
	return 0, 0, 0, 0
}

func shapeElems(l runtime.Layer) int64 {
	var e int64
	for _, list := range [][]int64{sizes(l.Inputs), sizes(l.Outputs)} {
		for _, v := range list {
			e += v
		}
	}
	return e
}

func sizes[S ~[]int](shapes []S) []int64 {
	out := make([]int64, len(shapes))
	for i, s := range shapes {
		n := int64(1)
		for _, d := range s {
			if d > 0 {
				n *= int64(d)
			}
		}
		out[i] = n
	}
	return out
}

// Predict estimates the latency of layers (as (*runtime.Model).Layers
// returns them) at the thread count from the calibration; threads <= 0
// means the largest calibrated count. The model is described in doc.go.
func Predict(layers []runtime.Layer, cal *Calibration, threads int) (*Prediction, error) {
	if cal == nil || len(cal.Threads) == 0 || len(cal.Shapes) == 0 {
		return nil, fmt.Errorf("device: prediction needs a calibration with measurements; run Calibrate first")
	}
	pr := &Prediction{Threads: threads}
	if threads <= 0 {
		pr.Threads = cal.Threads[len(cal.Threads)-1]
	}
	lo, hi, f := cal.bracket(pr.Threads)
	if pr.Threads > cal.Threads[len(cal.Threads)-1] {
		pr.Note = fmt.Sprintf("%d threads requested, calibrated up to %d: predicted as %d", pr.Threads, hi, hi)
	}
	// Weights the whole model streams per inference: when they exceed
	// the caches, each layer's weights arrive from memory (see doc.go).
	var modelWeights int64
	for _, l := range layers {
		modelWeights += 4 * max(l.Params, 0)
	}
	for _, l := range layers {
		a := cal.layerCost(l, lo, modelWeights)
		if hi != lo {
			b := cal.layerCost(l, hi, modelWeights)
			a.ComputeMs = (1-f)*a.ComputeMs + f*b.ComputeMs
			a.MemoryMs = (1-f)*a.MemoryMs + f*b.MemoryMs
			a.OverheadMs = (1-f)*a.OverheadMs + f*b.OverheadMs
			a.Ms = a.ComputeMs + a.MemoryMs + a.OverheadMs
			if a.ComputeMs > 0 {
				a.GFLOPS = 2 * float64(a.MACs) / (a.ComputeMs * 1e6)
			}
		}
		pr.Layers = append(pr.Layers, a)
		pr.TotalMs += a.Ms
		pr.MACs += a.MACs
	}
	return pr, nil
}

// bracket returns the calibrated thread counts around t and the linear
// interpolation weight of the upper one.
func (c *Calibration) bracket(t int) (lo, hi int, f float64) {
	ts := c.Threads
	if t <= ts[0] {
		return ts[0], ts[0], 0
	}
	if t >= ts[len(ts)-1] {
		return ts[len(ts)-1], ts[len(ts)-1], 0
	}
	i := sort.SearchInts(ts, t)
	if ts[i] == t {
		return t, t, 0
	}
	lo, hi = ts[i-1], ts[i]
	return lo, hi, float64(t-lo) / float64(hi-lo)
}

// layerCost predicts one layer at a calibrated thread count.
func (c *Calibration) layerCost(l runtime.Layer, threads int, modelWeights int64) LayerCost {
	cat := Category(l)
	lc := LayerCost{Name: l.Name, OpType: l.OpType, Category: cat, Bytes: 4 * shapeElems(l)}
	mem := c.memFor(threads)
	lc.OverheadMs = mem.OverheadNs / 1e6
	bw := c.bandwidth(threads, lc.Bytes)
	memNs := float64(lc.Bytes) / bw
	m, n, k, reps := gemmDims(l, cat)
	lc.MACs = l.MACs
	if lc.MACs == 0 && reps > 0 {
		lc.MACs = int64(m) * int64(n) * int64(k) * reps
	}
	if cat == CatFC && m >= 8 {
		cat = CatPointwise // a batched FC is a plain GEMM
	}
	switch {
	case reps > 0 && lc.MACs > 0:
		// Roofline: the slower of compute at the achieved rate and
		// moving the bytes; MemoryMs is what memory adds beyond compute.
		mr, nr := TileOf(l.Kernel)
		g, basis := c.rate(cat, l.Kernel, threads, m, n, k, max(l.Conv.StrideH, l.Conv.StrideW, 1), mr, nr)
		own := false
		if s, ok := c.measured(threads, LayerSig(l)); ok && s.ComputeGFLOPS > 0 {
			g, basis, own = s.ComputeGFLOPS, "layer", true
		}
		lc.GFLOPS, lc.Basis = g, basis
		lc.ComputeMs = 2 * float64(lc.MACs) / g / 1e6
		if !own {
			// A layer's own measurement already moved its bytes, from
			// where they are in a model; a borrowed rate did not.
			lc.MemoryMs = max(0, memNs/1e6-lc.ComputeMs)
		}
		// A borrowed rate was measured with the shape's weights
		// cache-hot; in a model whose weights exceed the caches they are
		// evicted by the other layers and come back at the measured cold
		// rate, scaled by how far the model's weights reach towards the
		// cold test's working set (log scale, from the cache size). A
		// layer's own measurement ran after the model's traffic
		// (AddLayers) and already paid for it.
		if w := 4 * max(l.Params, 0); w > 0 && !own {
			lc.MemoryMs += float64(w) * c.coldNsPerByte(threads, lc.Bytes, modelWeights) / 1e6
		}
	case cat == CatPool || cat == CatElemwise:
		if lc.Bytes == 0 {
			break
		}
		// Roofline as for compute layers, the operator's own byte rate
		// standing for the compute rate.
		r, basis := c.byteRate(cat, l.OpType, threads)
		if s, ok := c.measured(threads, LayerSig(l)); ok && s.RateGBs > 0 {
			// Measured alone: its own rate over the bytes it moved.
			r, basis = s.RateGBs*float64(lc.Bytes)/float64(max(s.Bytes, 1)), "layer"
		}
		lc.Basis = basis
		lc.ComputeMs = float64(lc.Bytes) / r / 1e6
		if basis != "layer" {
			lc.MemoryMs = max(0, memNs/1e6-lc.ComputeMs)
		}
	}
	lc.Ms = lc.ComputeMs + lc.MemoryMs + lc.OverheadMs
	return lc
}

// rate interpolates the compute rate (GFLOPS) for an M×N×K product run
// with an mr×nr register tile from the calibrated shapes of the category
// at the thread count: each calibrated rate is divided by its own tile
// efficiency (useful over padded tile area), the results are averaged
// in log space with inverse squared-distance weights in (log2 M, log2 N,
// log2 K, 2·log2 stride), and the average is multiplied by the layer's
// tile efficiency.
// A calibrated shape thus reproduces its own rate.
func (c *Calibration) rate(cat, kernel string, threads, m, n, k, stride, mr, nr int) (float64, string) {
	fam := kernelFamily(kernel)
	cands := c.shapesOf(threads, func(s ShapeResult) bool {
		return s.Category == cat && s.ComputeGFLOPS > 0 && fam != "" && kernelFamily(s.Kernel) == fam
	})
	if len(cands) == 0 {
		cands = c.shapesOf(threads, func(s ShapeResult) bool { return s.Category == cat && s.ComputeGFLOPS > 0 })
	}
	if len(cands) == 0 {
		cands = c.shapesOf(threads, func(s ShapeResult) bool {
			return (s.Category == CatConv || s.Category == CatPointwise) && s.ComputeGFLOPS > 0
		})
	}
	if len(cands) == 0 {
		return 1, "none"
	}
	lg := func(v int) float64 { return math.Log2(float64(max(v, 1))) }
	var sw, sl float64
	best, bestD := "", math.Inf(1)
	for _, s := range cands {
		d := sq(lg(s.M)-lg(m)) + sq(lg(s.N)-lg(n)) + sq(lg(s.K)-lg(k)) + sq(2*(lg(max(s.Stride, 1))-lg(stride)))
		if d == 0 && (mr == 0 || s.MR == mr && s.NR == nr) {
			return s.ComputeGFLOPS, s.Name
		}
		w := 1 / sq(d+1e-3)
		sw += w
		sl += w * math.Log(s.ComputeGFLOPS/tileEff(s.M, s.N, s.MR, s.NR))
		if d < bestD {
			best, bestD = s.Name, d
		}
	}
	return math.Exp(sl/sw) * tileEff(m, n, mr, nr), best
}

// kernelFamily is the algorithm part of a kernel name: the text before
// the first "/" ("f32-conv3x3s1-winograd2x2-avx512" of
// "f32-conv3x3s1-winograd2x2-avx512/f32-gemm-6x64-avx512"), or the
// whole name.
func kernelFamily(kernel string) string {
	f, _, _ := strings.Cut(kernel, "/")
	return f
}

// measured returns the AddLayers measurement of the layer signature sig
// at the thread count.
func (c *Calibration) measured(threads int, sig string) (ShapeResult, bool) {
	if sig == "" {
		return ShapeResult{}, false
	}
	for _, s := range c.Shapes {
		if s.Threads == threads && s.Layer == sig {
			return s, true
		}
	}
	return ShapeResult{}, false
}

// tileEff is the useful fraction of the padded tile area when an m×n
// output is computed in mr×nr tiles (1 when the tile is unknown).
func tileEff(m, n, mr, nr int) float64 {
	if mr <= 0 || nr <= 0 || m <= 0 || n <= 0 {
		return 1
	}
	pm := (m + mr - 1) / mr * mr
	pn := (n + nr - 1) / nr * nr
	return float64(m) * float64(n) / (float64(pm) * float64(pn))
}

// TileOf extracts the GEMM register tile from a kernel name such as
// "f32-conv3x3-igemm/f32-gemm-6x64-avx512" (6, 64); (0, 0) when the
// name has no "gemm-MRxNR" part.
func TileOf(kernel string) (mr, nr int) {
	i := strings.LastIndex(kernel, "gemm-")
	if i < 0 {
		return 0, 0
	}
	var a, b int
	if _, err := fmt.Sscanf(kernel[i+len("gemm-"):], "%dx%d", &a, &b); err != nil || a <= 0 || b <= 0 {
		return 0, 0
	}
	return a, b
}

// coldNsPerByte is the extra time per weight byte of a layer moving
// layerBytes in a model with modelWeights bytes of weights: 1/C scaled
// by how far the model's working set exceeds the layer's own (which the
// calibrated rate already paid for), on a log scale where the cold test
// (its layer's weights against all copies) counts 1.
func (c *Calibration) coldNsPerByte(threads int, layerBytes, modelWeights int64) float64 {
	m := c.memFor(threads)
	if m.ColdGBs <= 0 || m.ColdBytes <= coldTestWeights {
		return 0
	}
	own := max(layerBytes, m.CacheBytes)
	if modelWeights <= own {
		return 0
	}
	span := math.Log(float64(m.ColdBytes) / coldTestWeights)
	f := min(1, math.Log(float64(modelWeights)/float64(own))/span)
	// A layer larger than the cold test's copy already streamed part of
	// its bytes from memory when it was timed alone, all of them when it
	// reaches the test's whole working set (which spilled the caches).
	if own > coldTestWeights {
		f *= max(0, 1-math.Log(float64(own)/coldTestWeights)/span)
	}
	return f / m.ColdGBs
}

// byteRate is the calibrated byte rate (GB/s) of the operator type (the
// shapes of the same OpType), else the geometric mean over the category.
func (c *Calibration) byteRate(cat, opType string, threads int) (float64, string) {
	cands := c.shapesOf(threads, func(s ShapeResult) bool { return s.OpType == opType && s.RateGBs > 0 })
	if len(cands) == 0 {
		cands = c.shapesOf(threads, func(s ShapeResult) bool { return s.Category == cat && s.RateGBs > 0 })
	}
	if len(cands) == 0 {
		return c.memFor(threads).CacheGBs, "copy"
	}
	var sl float64
	var names []string
	for _, s := range cands {
		sl += math.Log(s.RateGBs)
		names = append(names, s.Name)
	}
	return math.Exp(sl / float64(len(cands))), strings.Join(names, "+")
}

func (c *Calibration) shapesOf(threads int, keep func(ShapeResult) bool) []ShapeResult {
	var out []ShapeResult
	for _, s := range c.Shapes {
		if s.Threads == threads && keep(s) {
			out = append(out, s)
		}
	}
	return out
}

func sq(x float64) float64 { return x * x }
