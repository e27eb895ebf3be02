package compress

import (
	"fmt"
	"math"

	"github.com/edgeml/edge/kernels"
	"gonum.org/v1/gonum/mat"
)

// Scheme is how a convolution's weight is reshaped before the SVD.
type Scheme int

// Decomposition schemes.
const (
	// SchemeAuto picks, per layer, the scheme that keeps more of the
	// weight's energy at half of the layer's dense MACs.
	SchemeAuto Scheme = iota
	// SchemeChannel: W as N×(C·kh·kw) ⇒ kh×kw conv C→K, then 1×1 conv K→N.
	SchemeChannel
	// SchemeSpatial (Tai et al.): W as (C·kw)×(kh·N) ⇒ 1×kw conv C→K,
	// then kh×1 conv K→N.
	SchemeSpatial
)

func (s Scheme) String() string {
	switch s {
	case SchemeChannel:
		return "channel"
	case SchemeSpatial:
		return "spatial"
	}
	return "auto"
}

// ParseScheme parses "auto", "channel" or "spatial".
func ParseScheme(s string) (Scheme, error) {
	switch s {
	case "", "auto":
		return SchemeAuto, nil
	case "channel":
		return SchemeChannel, nil
	case "spatial":
		return SchemeSpatial, nil
	}
	return 0, fmt.Errorf("compress: unknown scheme %q; use auto, channel or spatial", s)
}

// factor is the SVD of one layer's reshaped weight, truncated to the
// components that may be kept (kmax, the largest rank whose factorized
// cost stays below the dense cost).
type factor struct {
	l          *wlayer
	scheme     Scheme
	rows, cols int
	full       int       // min(rows, cols)
	s          []float64 // all singular values, descending
	kmax       int       // masks of this layer
	u          []float32 // rows × kmax
	v          []float32 // cols × kmax
	macPer     int64     // MACs per kept component (one image)
	parPer     int64     // weight elements per kept component
	parFixed   int64     // bias elements of the factorized pair
	energy     []float64 // energy[k] = Σ_{i<k} s_i² / Σ s_i², len full+1
	off        int       // offset of the masks in the global vector
}

// matrixOf reshapes a canonical weight for the scheme (row-major).
func matrixOf(l *wlayer, sc Scheme) (rows, cols int, m []float64) {
	p := l.p
	n, c, kh, kw := p.OutC, p.InC, p.KH, p.KW
	if l.kind != "Conv" || sc == SchemeChannel {
		rows, cols = n, c*kh*kw
		m = make([]float64, len(l.w))
		for i, v := range l.w {
			m[i] = float64(v)
		}
		return
	}
	rows, cols = c*kw, kh*n
	m = make([]float64, rows*cols)
	for o := 0; o < n; o++ {
		for ci := 0; ci < c; ci++ {
			for y := 0; y < kh; y++ {
				for x := 0; x < kw; x++ {
					m[(ci*kw+x)*cols+y*n+o] = float64(l.w[((o*c+ci)*kh+y)*kw+x])
				}
			}
		}
	}
	return
}

// unshape writes a rows×cols matrix of the scheme back in canonical
// weight layout.
func (f *factor) unshape(m, w []float32) {
	l := f.l
	if l.kind != "Conv" || f.scheme == SchemeChannel {
		copy(w, m)
		return
	}
	p := l.p
	n, c, kh, kw := p.OutC, p.InC, p.KH, p.KW
	cols := f.cols
	for o := 0; o < n; o++ {
		for ci := 0; ci < c; ci++ {
			for y := 0; y < kh; y++ {
				for x := 0; x < kw; x++ {
					w[((o*c+ci)*kh+y)*kw+x] = m[(ci*kw+x)*cols+y*n+o]
				}
			}
		}
	}
}

// reshapeGrad reshapes a canonical weight gradient into the scheme's
// matrix (the transpose of unshape's permutation).
func (f *factor) reshapeGrad(gw, m []float32) {
	l := f.l
	if l.kind != "Conv" || f.scheme == SchemeChannel {
		copy(m, gw)
		return
	}
	p := l.p
	n, c, kh, kw := p.OutC, p.InC, p.KH, p.KW
	cols := f.cols
	for o := 0; o < n; o++ {
		for ci := 0; ci < c; ci++ {
			for y := 0; y < kh; y++ {
				for x := 0; x < kw; x++ {
					m[(ci*kw+x)*cols+y*n+o] = gw[((o*c+ci)*kh+y)*kw+x]
				}
			}
		}
	}
}

// costs returns the MACs and weight elements per kept component.
func costsOf(l *wlayer, sc Scheme) (mac, par int64) {
	p := l.p
	n, c, kh, kw := int64(p.OutC), int64(p.InC), int64(p.KH), int64(p.KW)
	if l.kind != "Conv" {
		return c + n, c + n
	}
	oh, ow := int64(p.OutH()), int64(p.OutW())
	if sc == SchemeChannel {
		return oh * ow * (c*kh*kw + n), c*kh*kw + n
	}
	// 1×kw conv over the unpadded height (stride 1 vertically), kh×1 conv.
	return c*kw*int64(p.InH)*ow + n*kh*oh*ow, c*kw + kh*n
}

// svdOf computes the thin SVD of the rows×cols matrix m in float64
// through the eigen-decomposition of its smaller Gram matrix (A·Aᵀ or
// AᵀA), which is much faster than a bidiagonalizing SVD for the wide
// matrices of convolution weights and accurate for every singular value
// above ~1e-7 of the largest (smaller ones are set to zero).
func svdOf(rows, cols int, m []float64) (s []float64, u, v *mat.Dense, err error) {
	a := mat.NewDense(rows, cols, m)
	small := min(rows, cols)
	var g mat.SymDense
	if rows <= cols {
		g.SymOuterK(1, a)
	} else {
		g.SymOuterK(1, a.T())
	}
	var eig mat.EigenSym
	if !eig.Factorize(&g, true) {
		return nil, nil, nil, fmt.Errorf("compress: eigen-decomposition did not converge")
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	s = make([]float64, small)
	q := mat.NewDense(small, small, nil) // eigenvectors, descending order
	for i := 0; i < small; i++ {
		j := small - 1 - i
		s[i] = math.Sqrt(math.Max(vals[j], 0))
		for r := 0; r < small; r++ {
			q.Set(r, i, vecs.At(r, j))
		}
	}
	tol := s[0] * 1e-7
	var other mat.Dense // the other side: Aᵀq/s or A·q/s
	if rows <= cols {
		other.Mul(a.T(), q)
	} else {
		other.Mul(a, q)
	}
	for i := 0; i < small; i++ {
		if s[i] <= tol {
			s[i] = 0
			for r := 0; r < other.RawMatrix().Rows; r++ {
				other.Set(r, i, 0)
			}
			continue
		}
		for r := 0; r < other.RawMatrix().Rows; r++ {
			other.Set(r, i, other.At(r, i)/s[i])
		}
	}
	if rows <= cols {
		return s, q, &other, nil
	}
	return s, &other, q, nil
}

// spatialLimit bounds the smaller side of the spatial scheme's matrix
// that SchemeAuto considers: the eigen-decomposition grows as n³ and
// takes minutes beyond ~1000 in pure Go.
const spatialLimit = 768

// decompose factorizes one layer with the given scheme. useMACs selects
// the MAC cost (else the weight count) as the limit of useful ranks.
func decompose(l *wlayer, sc Scheme, useMACs bool) (*factor, error) {
	if l.kind != "Conv" || (l.p.KH == 1 && l.p.KW == 1) {
		sc = SchemeChannel
	}
	if l.group != 1 {
		return nil, nil
	}
	if sc == SchemeAuto {
		a, err := decompose(l, SchemeChannel, useMACs)
		if err != nil {
			return nil, err
		}
		var b *factor
		if p := l.p; min(p.InC*p.KW, p.KH*p.OutC) <= spatialLimit {
			b, err = decompose(l, SchemeSpatial, useMACs)
			if err != nil {
				return nil, err
			}
		}
		switch {
		case a == nil:
			return b, nil
		case b == nil:
			return a, nil
		}
		if b.energyAtCost(l.macs/2, useMACs) > a.energyAtCost(l.macs/2, useMACs) {
			return b, nil
		}
		return a, nil
	}
	rows, cols, m := matrixOf(l, sc)
	f := &factor{l: l, scheme: sc, rows: rows, cols: cols, full: min(rows, cols)}
	f.macPer, f.parPer = costsOf(l, sc)
	if l.bias != nil {
		f.parFixed = int64(len(l.bias))
	}
	// Largest rank whose cost stays below the dense layer's.
	k := f.full
	if useMACs {
		k = min(k, int((l.macs-1)/f.macPer))
	} else {
		k = min(k, int((l.params-f.parFixed-1)/f.parPer))
	}
	if k <= 0 {
		return nil, nil
	}
	f.kmax = k
	s, u, v, err := svdOf(rows, cols, m)
	if err != nil {
		return nil, fmt.Errorf("compress: layer %q: %v", l.node.Name, err)
	}
	f.s = s
	f.energy = make([]float64, len(s)+1)
	var tot float64
	for _, x := range s {
		tot += x * x
	}
	for i, x := range s {
		f.energy[i+1] = f.energy[i] + x*x
	}
	for i := range f.energy {
		if tot > 0 {
			f.energy[i] /= tot
		} else {
			f.energy[i] = 1
		}
	}
	f.u = make([]float32, rows*k)
	f.v = make([]float32, cols*k)
	for r := 0; r < rows; r++ {
		for i := 0; i < k; i++ {
			f.u[r*k+i] = float32(u.At(r, i))
		}
	}
	for c := 0; c < cols; c++ {
		for i := 0; i < k; i++ {
			f.v[c*k+i] = float32(v.At(c, i))
		}
	}
	return f, nil
}

// energyAtCost is the energy kept by the largest rank whose cost is at
// most budget (MACs or weight elements).
func (f *factor) energyAtCost(budget int64, useMACs bool) float64 {
	per := f.macPer
	if !useMACs {
		per = f.parPer
		budget = f.l.params / 2
	}
	k := int(budget / per)
	k = max(0, min(k, f.kmax))
	return f.energy[k]
}

// weff writes the effective canonical weight U·diag(s⊙m)·Vᵀ into w using
// the layer's masks m (len kmax). tmp has rows×cols elements.
func (f *factor) weff(gemm *kernels.GemmKernel, pool *kernels.Pool, m []float64, w, tmp []float32) {
	k := f.kmax
	us := make([]float32, f.rows*k)
	for r := 0; r < f.rows; r++ {
		for i := 0; i < k; i++ {
			us[r*k+i] = f.u[r*k+i] * float32(f.s[i]*m[i])
		}
	}
	gemm.Sgemm(pool, false, true, f.rows, f.cols, k, 1, us, k, f.v, k, 0, tmp, f.cols)
	f.unshape(tmp, w)
}

// maskGrad writes ∂f/∂m_i = s_i·u_iᵀ·G·v_i for the canonical weight
// gradient gw into g (len kmax). tmp has rows×cols elements.
func (f *factor) maskGrad(gemm *kernels.GemmKernel, pool *kernels.Pool, gw, tmp []float32, g []float64) {
	k := f.kmax
	f.reshapeGrad(gw, tmp)
	t := make([]float32, f.rows*k)
	gemm.Sgemm(pool, false, false, f.rows, k, f.cols, 1, tmp, f.cols, f.v, k, 0, t, k)
	for i := 0; i < k; i++ {
		var acc float64
		for r := 0; r < f.rows; r++ {
			acc += float64(f.u[r*k+i]) * float64(t[r*k+i])
		}
		g[i] = f.s[i] * acc
	}
}

// lowRank returns the factor pair for the components keep (indices into
// the singular vectors), each scaled by √s: a is K×cols-of-first-layer
// data, b the second layer's; see writer.go for the layouts.
func (f *factor) pair(keep []int, scale []float64) (a, b [][]float32) {
	a = make([][]float32, len(keep))
	b = make([][]float32, len(keep))
	k := f.kmax
	for j, i := range keep {
		sv := f.s[i]
		if scale != nil {
			sv *= scale[j]
		}
		sq := float32(math.Sqrt(sv))
		ui := make([]float32, f.rows)
		vi := make([]float32, f.cols)
		for r := range ui {
			ui[r] = f.u[r*k+i] * sq
		}
		for c := range vi {
			vi[c] = f.v[c*k+i] * sq
		}
		a[j], b[j] = ui, vi
	}
	return a, b
}
