package compress

import (
	"context"
	"fmt"
	"math"

	"github.com/edgeml/edge/kernels"
)

// objective evaluates f(m) — the mean cross-entropy on labeled images, or
// the KL divergence from the original network's output distribution —
// and its gradient with respect to the masks.
type objective struct {
	p       *problem
	nt      *net
	ev      *evaluator
	pool    *kernels.Pool
	gemm    *kernels.GemmKernel
	images  []float32 // all calibration images, N × per-image size
	targets []float32 // N × classes (probabilities)
	entropy []float64 // per image: Σ t log t (0 for one-hot labels)
	base    [][]float32
	evals   int
	ctx     context.Context
}

func newObjective(ctx context.Context, p *problem, nt *net, ev *evaluator, pool *kernels.Pool, cfg kernels.Config, images []float32) *objective {
	o := &objective{p: p, nt: nt, ev: ev, pool: pool, gemm: kernels.SelectGemm(cfg), images: images, ctx: ctx}
	o.base = make([][]float32, len(nt.layers))
	for i, l := range nt.layers {
		o.base[i] = l.w
	}
	return o
}

func (o *objective) imageSize() int { return o.nt.inShape[1:].Size() }

// setLabels uses one-hot targets.
func (o *objective) setLabels(labels []int) error {
	k := o.nt.classes
	o.targets = make([]float32, len(labels)*k)
	o.entropy = make([]float64, len(labels))
	for i, c := range labels {
		if c < 0 || c >= k {
			return fmt.Errorf("compress: calibration label %d of image %d is outside 0..%d", c, i, k-1)
		}
		o.targets[i*k+c] = 1
	}
	return nil
}

// setTeacher uses the original network's softmax as targets (KL mode).
func (o *objective) setTeacher(idx []int) error {
	n := len(o.images) / o.imageSize()
	k := o.nt.classes
	o.targets = make([]float32, n*k)
	o.entropy = make([]float64, n)
	logits, err := o.logits(o.base, idx)
	if err != nil {
		return err
	}
	ls := make([]float64, k)
	for j, i := range idx {
		logSoftmax(logits[j*k:(j+1)*k], ls)
		var h float64
		for c := 0; c < k; c++ {
			pv := math.Exp(ls[c])
			o.targets[i*k+c] = float32(pv)
			if pv > 0 {
				h += pv * ls[c]
			}
		}
		o.entropy[i] = h
	}
	return nil
}

// weights returns per-layer canonical weights for masks m (original
// weights for layers that are not factorized).
func (o *objective) weights(m []float64) [][]float32 {
	w := make([][]float32, len(o.base))
	copy(w, o.base)
	for _, f := range o.p.factors {
		li := o.layerIndex(f)
		buf := make([]float32, len(f.l.w))
		tmp := make([]float32, f.rows*f.cols)
		f.weff(o.gemm, o.pool, m[f.off:f.off+f.kmax], buf, tmp)
		w[li] = buf
	}
	return w
}

func (o *objective) layerIndex(f *factor) int {
	for i, l := range o.nt.layers {
		if l.node == f.l.node {
			return i
		}
	}
	panic("compress: factor of an unknown layer")
}

// batches runs fn over idx in batches of the network's batch size.
func (o *objective) batches(idx []int, fn func(x, t, sw []float32, lo, hi int) error) error {
	b := o.nt.batch
	sz := o.imageSize()
	k := o.nt.classes
	x := make([]float32, b*sz)
	t := make([]float32, b*k)
	sw := make([]float32, b)
	for lo := 0; lo < len(idx); lo += b {
		if o.ctx != nil {
			if err := o.ctx.Err(); err != nil {
				return fmt.Errorf("compress: %w", err)
			}
		}
		hi := min(lo+b, len(idx))
		clear(x)
		clear(t)
		clear(sw)
		for j := lo; j < hi; j++ {
			i := idx[j]
			copy(x[(j-lo)*sz:(j-lo+1)*sz], o.images[i*sz:(i+1)*sz])
			if o.targets != nil {
				copy(t[(j-lo)*k:(j-lo+1)*k], o.targets[i*k:(i+1)*k])
			}
			sw[j-lo] = 1 / float32(len(idx))
		}
		if err := fn(x, t, sw, lo, hi); err != nil {
			return err
		}
	}
	return nil
}

// logits runs the network with weights w over images idx.
func (o *objective) logits(w [][]float32, idx []int) ([]float32, error) {
	k := o.nt.classes
	out := make([]float32, len(idx)*k)
	buf := make([]float32, o.nt.batch*k)
	err := o.batches(idx, func(x, t, sw []float32, lo, hi int) error {
		if _, err := o.ev.run(w, x, t, sw, false, nil, buf); err != nil {
			return err
		}
		copy(out[lo*k:hi*k], buf[:(hi-lo)*k])
		return nil
	})
	return out, err
}

func (o *objective) meanEntropy(idx []int) float64 {
	var h float64
	for _, i := range idx {
		h += o.entropy[i]
	}
	return h / float64(len(idx))
}

// value is f at weights w on images idx.
func (o *objective) valueW(w [][]float32, idx []int) (float64, error) {
	var f float64
	err := o.batches(idx, func(x, t, sw []float32, lo, hi int) error {
		v, err := o.ev.run(w, x, t, sw, false, nil, nil)
		f += v
		return err
	})
	o.evals++
	return f + o.meanEntropy(idx), err
}

func (o *objective) value(m []float64, idx []int) (float64, error) {
	return o.valueW(o.weights(m), idx)
}

// grad returns f(m) and ∇f(m) on images idx.
func (o *objective) grad(m []float64, idx []int) (float64, []float64, error) {
	w := o.weights(m)
	gsum := make([][]float32, len(w))
	for _, f := range o.p.factors {
		gsum[o.layerIndex(f)] = make([]float32, len(f.l.w))
	}
	var fv float64
	err := o.batches(idx, func(x, t, sw []float32, lo, hi int) error {
		v, err := o.ev.run(w, x, t, sw, true, gsum, nil)
		fv += v
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	o.evals++
	g := make([]float64, o.p.n)
	for _, f := range o.p.factors {
		tmp := make([]float32, f.rows*f.cols)
		f.maskGrad(o.gemm, o.pool, gsum[o.layerIndex(f)], tmp, g[f.off:f.off+f.kmax])
	}
	return fv + o.meanEntropy(idx), g, nil
}

// accuracy is the top-1 of weights w on images idx against labels.
func (o *objective) accuracy(w [][]float32, idx []int, labels []int) (float64, error) {
	lg, err := o.logits(w, idx)
	if err != nil {
		return 0, err
	}
	k := o.nt.classes
	ok := 0
	for j, i := range idx {
		best := 0
		for c := 1; c < k; c++ {
			if lg[j*k+c] > lg[j*k+best] {
				best = c
			}
		}
		if best == labels[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(idx)), nil
}
