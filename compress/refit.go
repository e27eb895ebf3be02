package compress

import (
	"errors"
	"fmt"
	"math"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
	"gonum.org/v1/gonum/mat"
)

// Data-aware refit (beyond the paper). After the ranks are chosen, the
// second factor of every factorized layer (the 1×1 or kh×1 Conv, or the
// second Gemm/MatMul) and its bias are refitted by ridge-regularized least
// squares so that, fed with the activations of the already-compressed
// network (asymmetric, as Zhang et al. 2016, so errors do not
// accumulate), the layer reproduces the original layer's output on the
// calibration images. The first factor keeps the SVD subspace, so the
// problem per layer is small: (K·kh + 1) unknowns per output channel.

// refitImages bounds the images used, refitSamples the sampled output
// positions per layer (memory: N × refitSamples floats per layer).
const (
	refitImages  = 256
	refitSamples = 8192
)

// sweep runs a net over n images (n a multiple of the net's batch)
// holding every value for all images, calling hook before each step.
type sweep struct {
	nt   *net
	pool *kernels.Pool
	n    int
	vals map[string][]float32
}

func newSweep(nt *net, pool *kernels.Pool, images []float32, idx []int) *sweep {
	sz := nt.inShape[1:].Size()
	x := make([]float32, len(idx)*sz)
	for j, i := range idx {
		copy(x[j*sz:(j+1)*sz], images[i*sz:(i+1)*sz])
	}
	return &sweep{nt: nt, pool: pool, n: len(idx), vals: map[string][]float32{nt.input: x}}
}

// run executes every step; before(step) may change the step's layer
// weights (weights[st.layer]) and must return nil to continue.
func (s *sweep) run(weights [][]float32, before, after func(st *step) error) error {
	last := map[string]int{}
	for i, st := range s.nt.steps {
		for _, in := range st.ins {
			last[in] = i
		}
	}
	b := s.nt.batch
	for i, st := range s.nt.steps {
		if before != nil {
			if err := before(st); err != nil {
				return err
			}
		}
		outPer := st.op.outShape().Size() / b
		out := make([]float32, s.n*outPer)
		for lo := 0; lo < s.n; lo += b {
			ins := make([][]float32, len(st.ins))
			for k, name := range st.ins {
				if name == "" {
					ins[k] = weights[st.layer]
					continue
				}
				v := s.vals[name]
				per := len(v) / s.n
				ins[k] = v[lo*per : (lo+b)*per]
			}
			st.op.forward(s.pool, ins, out[lo*outPer:(lo+b)*outPer])
		}
		s.vals[st.out] = out
		if after != nil {
			if err := after(st); err != nil {
				return err
			}
		}
		for _, name := range st.ins {
			if name != "" && last[name] == i && name != s.nt.logits {
				delete(s.vals, name)
			}
		}
	}
	return nil
}

// positions returns the sampled output positions (per image) of a layer
// with hw positions, for n images.
func positions(hw, n int) []int {
	per := max(1, min(hw, refitSamples/n))
	ps := make([]int, per)
	for i := range ps {
		ps[i] = i * hw / per
	}
	return ps
}

// originalOutputs runs the original network over the first n training
// images (batch b) and samples the outputs of every decomposable layer,
// keyed by output name.
func (c *calibRun) originalOutputs(b, n int) (map[string][]float32, error) {
	origNet, err := buildNet(c.g, b, c.opts.Kernels, nil)
	if err != nil {
		return nil, err
	}
	replaced := map[*ir.Node]bool{}
	for _, f := range c.p.factors {
		replaced[f.l.node] = true
	}
	ow := make([][]float32, len(origNet.layers))
	for i, l := range origNet.layers {
		ow[i] = l.w
	}
	target := map[string][]float32{}
	so := newSweep(origNet, c.pool, c.obj.images, c.train[:n])
	err = so.run(ow, nil, func(st *step) error {
		if st.layer >= 0 && replaced[st.node] {
			target[st.out] = sampleRows(so.vals[st.out], n, st.op.outShape())
		}
		return nil
	})
	return target, err
}

// refitGraph refits the second factors of out (nodes in second, mapped
// to the original node they replace) in place.
func (c *calibRun) refitGraph(out *ir.Graph, second map[*ir.Node]*ir.Node) error {
	b := c.obj.nt.batch
	n := min(refitImages, len(c.train))
	n -= n % b
	if n == 0 {
		n, b = min(len(c.train), refitImages), min(len(c.train), refitImages)
	}
	idx := c.train[:n]
	compNet, err := buildNet(out, b, c.opts.Kernels, nil)
	if err != nil {
		return err
	}
	// 1. Original outputs of every decomposable layer at sampled
	// positions, computed once per Compress call (the guard refits
	// several allocations).
	if c.targets == nil {
		if c.targets, err = c.originalOutputs(b, n); err != nil {
			return err
		}
	}
	target := c.targets
	// 2. Compressed network, refitting each second factor before it runs.
	cw := make([][]float32, len(compNet.layers))
	for i, l := range compNet.layers {
		cw[i] = append([]float32(nil), l.w...)
	}
	// First factors of the channel scheme and of Gemm/MatMul: the
	// node feeding each second factor, with its original layer.
	layerOf := map[*ir.Node]int{}
	for i, l := range compNet.layers {
		layerOf[l.node] = i
	}
	origOf := map[*ir.Node]*wlayer{}
	for _, f := range c.p.factors {
		origOf[f.l.node] = f.l
	}
	type firstOf struct {
		orig   *wlayer
		second int    // compNet layer of the second factor
		out    string // the factorized layer's output (target key)
	}
	first := map[*ir.Node]firstOf{}
	for n2, o := range second {
		ol, j := origOf[o], layerOf[n2]
		if ol == nil || len(n2.Inputs) == 0 {
			continue
		}
		for _, nd := range out.Nodes {
			if len(nd.Outputs) != 1 || nd.Outputs[0] != n2.Inputs[0] {
				continue
			}
			if i, ok := layerOf[nd]; ok && channelLike(compNet.layers[i], ol) {
				first[nd] = firstOf{orig: ol, second: j, out: n2.Outputs[0]}
			}
		}
	}
	// At the time limit (less the judgement that follows) the remaining
	// layers keep their SVD factors.
	sc := newSweep(compNet, c.pool, c.obj.images, idx)
	err = sc.run(cw, func(st *step) error {
		if st.layer < 0 {
			return nil
		}
		if err := c.ctx.Err(); err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		if c.late(c.judgeTime()) {
			return errTimeUp
		}
		if fi, ok := first[st.node]; ok && target[fi.out] != nil {
			// Output-PCA subspace: W' = P·Pᵀ·W with P the top-K principal
			// directions of the original layer's outputs.
			l := compNet.layers[st.layer]
			w1, p, err := pcaFactors(fi.orig, l.p.OutC, target[fi.out])
			if err != nil {
				return err
			}
			cw[st.layer], cw[fi.second] = w1, p
			return storeWeight(out, st.node, l, w1)
		}
		if second[st.node] == nil {
			return nil
		}
		l := compNet.layers[st.layer]
		y := target[st.out]
		if y == nil {
			return nil
		}
		w, bias, err := refitLayer(l, st.op, sc.vals[st.ins[0]], n, y, cw[st.layer])
		if err != nil {
			return err
		}
		cw[st.layer] = w
		if co, ok := st.op.(*convOp); ok {
			co.bias = bias
		} else if g, ok := st.op.(*gemmOp); ok {
			g.bias = bias
		}
		return storeLayer(out, st.node, l, w, bias)
	}, nil)
	if errors.Is(err, errTimeUp) {
		return nil
	}
	return err
}

// errTimeUp stops a stage at the time limit (never returned to callers).
var errTimeUp = errors.New("compress: time limit reached")

// sampleRows gathers a value's channels at the sampled positions:
// N × (n·per) for an NCHW or [n, N] value.
func sampleRows(v []float32, n int, s ir.Shape) []float32 {
	ch, hw := s[1], 1
	if len(s) == 4 {
		hw = s[2] * s[3]
	}
	ps := positions(hw, n)
	cols := n * len(ps)
	out := make([]float32, ch*cols)
	for img := 0; img < n; img++ {
		base := v[img*ch*hw:]
		for k := 0; k < ch; k++ {
			for j, p := range ps {
				out[k*cols+img*len(ps)+j] = base[k*hw+p]
			}
		}
	}
	return out
}

// refitLayer solves min ‖Y − W·Z − b‖² + λ‖W − W0‖² where Z holds the
// layer's input patches (compressed network) at the sampled positions.
func refitLayer(l *wlayer, op netOp, x []float32, n int, y []float32, w0 []float32) ([]float32, []float32, error) {
	nOut := l.p.OutC
	var d int
	var z []float32 // d × cols
	var cols int
	switch o := op.(type) {
	case *convOp:
		p := o.p
		kk, hw := p.InC*p.KH*p.KW, p.OutH()*p.OutW()
		ps := positions(hw, n)
		cols = n * len(ps)
		d = kk
		z = make([]float32, d*cols)
		col := make([]float32, kk*hw)
		isz := p.InC * p.InH * p.InW
		for img := 0; img < n; img++ {
			im2col(p, x[img*isz:(img+1)*isz], col, hw, 0)
			for r := 0; r < kk; r++ {
				for j, q := range ps {
					z[r*cols+img*len(ps)+j] = col[r*hw+q]
				}
			}
		}
	case *gemmOp:
		d, cols = o.k, n
		z = transpose(x[:n*o.k], n, o.k) // k × n
	default:
		return nil, nil, fmt.Errorf("compress: internal: refit of %s", op.kind())
	}
	// Augmented input [Z; 1]; normal equations by float32 GEMMs (fast
	// kernels), solved in float64.
	da := d + 1
	za := make([]float32, da*cols)
	copy(za, z[:d*cols])
	for j := 0; j < cols; j++ {
		za[d*cols+j] = 1
	}
	gk := kernels.SelectGemm(kernels.Config{})
	ata := make([]float32, da*da)
	gk.Sgemm(nil, false, true, da, da, cols, 1, za, cols, za, cols, 0, ata, da)
	aty := make([]float32, da*nOut)
	gk.Sgemm(nil, false, true, da, nOut, cols, 1, za, cols, y, cols, 0, aty, nOut)
	a := mat.NewSymDense(da, nil)
	for r := 0; r < da; r++ {
		for q := r; q < da; q++ {
			a.SetSym(r, q, (float64(ata[r*da+q])+float64(ata[q*da+r]))/2)
		}
	}
	rhs := mat.NewDense(da, nOut, nil)
	for r := 0; r < da; r++ {
		for k := 0; k < nOut; k++ {
			rhs.Set(r, k, float64(aty[r*nOut+k]))
		}
	}
	var tr float64
	for r := 0; r < d; r++ {
		tr += a.At(r, r)
	}
	lambda := 1e-2*tr/float64(d) + 1e-8
	for r := 0; r < d; r++ {
		a.SetSym(r, r, a.At(r, r)+lambda)
		for k := 0; k < nOut; k++ {
			rhs.Set(r, k, rhs.At(r, k)+lambda*float64(w0[k*d+r]))
		}
	}
	a.SetSym(d, d, a.At(d, d)+1e-6*float64(cols))
	var ch mat.Cholesky
	if !ch.Factorize(a) {
		return nil, nil, fmt.Errorf("compress: refit of layer %q: singular normal equations", l.node.Name)
	}
	var sol mat.Dense
	if err := ch.SolveTo(&sol, rhs); err != nil {
		return nil, nil, fmt.Errorf("compress: refit of layer %q: %v", l.node.Name, err)
	}
	w := make([]float32, nOut*d)
	bias := make([]float32, nOut)
	for k := 0; k < nOut; k++ {
		for r := 0; r < d; r++ {
			v := sol.At(r, k)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, fmt.Errorf("compress: refit of layer %q diverged", l.node.Name)
			}
			w[k*d+r] = float32(v)
		}
		bias[k] = float32(sol.At(d, k))
	}
	return w, bias, nil
}

// channelLike reports whether the first factor l of the original layer
// o reads o's whole input patch (channel scheme, Gemm/MatMul), so that
// Pᵀ·W is a weight for it.
func channelLike(l, o *wlayer) bool {
	if l.kind != o.kind {
		return false
	}
	if l.kind != "Conv" {
		return l.p.InC == o.p.InC
	}
	return l.p.InC == o.p.InC && l.p.KH == o.p.KH && l.p.KW == o.p.KW
}

// pcaFactors returns the first factor Pᵀ·W (k × the original's patch
// size) and the second P (nOut × k) of the rank-k approximation of the
// original layer o that keeps the k principal directions of its outputs
// y (nOut × samples, centred here): the best rank-k approximation in the
// data norm E‖(W − W')x‖² (Zhang et al. 2015), rather than in
// the weights' Frobenius norm of the plain SVD.
func pcaFactors(o *wlayer, k int, y []float32) (w1, p []float32, err error) {
	n := o.p.OutC
	d := len(o.w) / n
	cols := len(y) / n
	if k > n || cols < 2 {
		return nil, nil, fmt.Errorf("compress: internal: PCA of %d outputs at rank %d", n, k)
	}
	z := make([]float32, len(y))
	for r := 0; r < n; r++ {
		row := y[r*cols : (r+1)*cols]
		var m float64
		for _, v := range row {
			m += float64(v)
		}
		m /= float64(cols)
		for j, v := range row {
			z[r*cols+j] = v - float32(m)
		}
	}
	gk := kernels.SelectGemm(kernels.Config{})
	cov := make([]float32, n*n)
	gk.Sgemm(nil, false, true, n, n, cols, 1, z, cols, z, cols, 0, cov, n)
	// Shrinkage towards W·Wᵀ (the plain SVD's choice, white inputs) by
	// pcaShrink·n/samples, both normalized to unit trace: few samples per
	// output channel give a noisy covariance.
	wwt := make([]float32, n*n)
	gk.Sgemm(nil, false, true, n, n, d, 1, o.w, d, o.w, d, 0, wwt, n)
	var tc, tw float64
	for r := 0; r < n; r++ {
		tc += float64(cov[r*n+r])
		tw += float64(wwt[r*n+r])
	}
	beta := math.Min(1, pcaShrink*float64(n)/float64(cols))
	if tc <= 0 || tw <= 0 {
		tc, tw, beta = 1, 1, 1
	}
	a := mat.NewSymDense(n, nil)
	for r := 0; r < n; r++ {
		for q := r; q < n; q++ {
			c := (float64(cov[r*n+q]) + float64(cov[q*n+r])) / 2 / tc
			w := (float64(wwt[r*n+q]) + float64(wwt[q*n+r])) / 2 / tw
			a.SetSym(r, q, (1-beta)*c+beta*w)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(a, true) {
		return nil, nil, fmt.Errorf("compress: PCA of layer %q did not converge", o.node.Name)
	}
	var vecs mat.Dense
	eig.VectorsTo(&vecs) // ascending eigenvalues
	p = make([]float32, n*k)
	for r := 0; r < n; r++ {
		for j := 0; j < k; j++ {
			p[r*k+j] = float32(vecs.At(r, n-1-j))
		}
	}
	// W1 = Pᵀ·W: (k × n)·(n × d).
	w1 = make([]float32, k*d)
	gk.Sgemm(nil, true, false, k, d, n, 1, p, k, o.w, d, 0, w1, d)
	return w1, p, nil
}

// pcaShrink scales the shrinkage of pcaFactors' covariance (see there).
var pcaShrink = 1.0

// storeWeight writes a canonical weight into g's initializer of node nd
// (a new tensor).
func storeWeight(g *ir.Graph, nd *ir.Node, l *wlayer, w []float32) error {
	old := g.Initializers[nd.Inputs[1]]
	if old == nil {
		return fmt.Errorf("compress: internal: weight of %q not found", nd.Name)
	}
	t := &ir.Tensor{DType: ir.Float32, Shape: old.Shape.Clone()}
	switch {
	case nd.OpType == "MatMul", nd.OpType == "Gemm" && nd.AttrInt("transB", 0) == 0:
		t.F32 = transpose(w, l.p.OutC, l.p.InC)
	default:
		t.F32 = w
	}
	if nd.OpType == "Gemm" {
		if a := nd.AttrFloat("alpha", 1); a != 1 {
			for i := range t.F32 {
				t.F32[i] /= a
			}
		}
	}
	g.Initializers[nd.Inputs[1]] = t
	return nil
}

// storeLayer writes a refitted canonical weight and bias into g's
// initializers of node nd (new tensors; the bias input is added when the
// node had none).
func storeLayer(g *ir.Graph, nd *ir.Node, l *wlayer, w, bias []float32) error {
	if err := storeWeight(g, nd, l, w); err != nil {
		return err
	}
	beta := float32(1)
	if nd.OpType == "Gemm" {
		beta = nd.AttrFloat("beta", 1)
	}
	bt := &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{len(bias)}, F32: make([]float32, len(bias))}
	for i, v := range bias {
		bt.F32[i] = v / beta
	}
	if nd.Input(2) == "" {
		name := nd.Name + "_refit_b"
		for g.Initializers[name] != nil {
			name += "_"
		}
		nd.Inputs = append(nd.Inputs[:2], name)
	}
	g.Initializers[nd.Inputs[2]] = bt
	return nil
}
