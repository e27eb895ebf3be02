package compress

import (
	"math"
	"time"

	"gonum.org/v1/gonum/mat"
)

// lbfgs is a limited-memory BFGS approximation of the Hessian in compact
// form (Byrd, Nocedal & Schnabel 1994): B = σI − W·M⁻¹·Wᵀ with W = [σS Y].
// Memory: 2·mem vectors of n float64 plus a 2mem×2mem matrix.
type lbfgs struct {
	n, mem int
	sigma  float64
	s, y   [][]float64
	minv   *mat.Dense
}

func newLBFGS(n, mem int, sigma float64) *lbfgs { return &lbfgs{n: n, mem: mem, sigma: sigma} }

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// mul returns B·v.
func (h *lbfgs) mul(v []float64) []float64 {
	out := make([]float64, h.n)
	for i, x := range v {
		out[i] = h.sigma * x
	}
	k := len(h.s)
	if k == 0 {
		return out
	}
	q := mat.NewVecDense(2*k, nil)
	for i := 0; i < k; i++ {
		q.SetVec(i, h.sigma*dot(h.s[i], v))
		q.SetVec(k+i, dot(h.y[i], v))
	}
	var r mat.VecDense
	r.MulVec(h.minv, q)
	for i := 0; i < k; i++ {
		a, b := h.sigma*r.AtVec(i), r.AtVec(k+i)
		si, yi := h.s[i], h.y[i]
		for j := range out {
			out[j] -= a*si[j] + b*yi[j]
		}
	}
	return out
}

// update adds the pair (s, y) with Powell damping: y is replaced by
// θy + (1−θ)Bs when sᵀy < 0.2·sᵀBs, which keeps B positive definite.
func (h *lbfgs) update(s, y []float64) {
	bs := h.mul(s)
	sbs := dot(s, bs)
	sy := dot(s, y)
	if sbs <= 0 || math.IsNaN(sbs) {
		return
	}
	r := y
	if sy < 0.2*sbs {
		theta := 0.8 * sbs / (sbs - sy)
		r = make([]float64, len(y))
		for i := range r {
			r[i] = theta*y[i] + (1-theta)*bs[i]
		}
		sy = dot(s, r)
	}
	if sy <= 1e-300 {
		return
	}
	h.s = append(h.s, append([]float64(nil), s...))
	h.y = append(h.y, append([]float64(nil), r...))
	if len(h.s) > h.mem {
		h.s, h.y = h.s[1:], h.y[1:]
	}
	if yy := dot(r, r); yy > 0 {
		h.sigma = math.Min(math.Max(yy/sy, 1e-8), 1e8)
	}
	h.refresh()
}

func (h *lbfgs) refresh() {
	k := len(h.s)
	if k == 0 {
		h.minv = nil
		return
	}
	m := mat.NewDense(2*k, 2*k, nil)
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			m.Set(i, j, h.sigma*dot(h.s[i], h.s[j]))
			if i > j {
				l := dot(h.s[i], h.y[j])
				m.Set(i, k+j, l)
				m.Set(k+j, i, l)
			}
		}
		m.Set(k+i, k+i, -dot(h.s[i], h.y[i]))
	}
	var inv mat.Dense
	if err := inv.Inverse(m); err != nil {
		// Ill-conditioned memory: restart from the scaled identity.
		h.s, h.y, h.minv = nil, nil, nil
		return
	}
	h.minv = &inv
}

// feasibleSet is the box [0,1]ⁿ intersected with up to two half-spaces
// aᵀz ≤ b.
type feasibleSet struct {
	a [][]float64
	b []float64
}

func clip01(v float64) float64 { return math.Min(1, math.Max(0, v)) }

// project returns the Euclidean projection of y: z = clip(y − Σλ_j a_j)
// with multipliers found by (nested) bisection.
func (fs *feasibleSet) project(y []float64) []float64 {
	z := make([]float64, len(y))
	eval := func(l1, l2 float64) {
		for i, v := range y {
			w := v
			if len(fs.a) > 0 {
				w -= l1 * fs.a[0][i]
			}
			if len(fs.a) > 1 {
				w -= l2 * fs.a[1][i]
			}
			z[i] = clip01(w)
		}
	}
	viol := func(j int) float64 { return dot(fs.a[j], z) - fs.b[j] }
	solve1 := func(l2 float64) float64 {
		eval(0, l2)
		if len(fs.a) == 0 || viol(0) <= 0 {
			return 0
		}
		lo, hi := 0.0, 1.0
		for eval(hi, l2); viol(0) > 0; eval(hi, l2) {
			hi *= 2
			if hi > 1e30 {
				break
			}
		}
		for it := 0; it < 60; it++ {
			mid := (lo + hi) / 2
			eval(mid, l2)
			if viol(0) > 0 {
				lo = mid
			} else {
				hi = mid
			}
		}
		eval(hi, l2)
		return hi
	}
	solve1(0)
	if len(fs.a) < 2 || viol(1) <= 0 {
		return z
	}
	lo, hi := 0.0, 1.0
	for solve1(hi); viol(1) > 0; solve1(hi) {
		hi *= 2
		if hi > 1e30 {
			break
		}
	}
	for it := 0; it < 40; it++ {
		mid := (lo + hi) / 2
		solve1(mid)
		if viol(1) > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	solve1(hi)
	return z
}

// solveQP minimizes gᵀ(z−x) + ½(z−x)ᵀB(z−x) over the feasible set by
// spectral projected gradient with exact line search along each
// projected direction (B is positive definite). x must be feasible.
func solveQP(h *lbfgs, fs *feasibleSet, x, g []float64, iters int) []float64 {
	n := len(x)
	z := append([]float64(nil), x...)
	d := make([]float64, n)
	bd := make([]float64, n) // B(z−x)
	grad := make([]float64, n)
	alpha := 1 / h.sigma
	for it := 0; it < iters; it++ {
		for i := range grad {
			grad[i] = g[i] + bd[i]
		}
		y := make([]float64, n)
		for i := range y {
			y[i] = z[i] - alpha*grad[i]
		}
		p := fs.project(y)
		var dmax float64
		for i := range d {
			d[i] = p[i] - z[i]
			dmax = math.Max(dmax, math.Abs(d[i]))
		}
		if dmax < 1e-7 {
			break
		}
		bdd := h.mul(d)
		curv := dot(d, bdd)
		slope := dot(grad, d)
		if slope >= 0 {
			break
		}
		t := 1.0
		if curv > 0 {
			t = math.Min(1, -slope/curv)
		}
		for i := range z {
			z[i] += t * d[i]
			bd[i] += t * bdd[i]
		}
		// Barzilai–Borwein step for the next projection.
		if curv > 0 {
			alpha = dot(d, d) / curv
		}
	}
	return z
}

// sqpConfig controls the solver.
type sqpConfig struct {
	maxIter int
	// deadline, when set, returns the time by which the solver must stop
	// (zero: none); it is asked again before every evaluation, so it may
	// follow the measured speed of the machine.
	deadline func() time.Time
	mem      int
	progress func(iter int, f float64)
}

// Why the solver stopped (Result.Stop).
const (
	stopIterations = "iteration limit"
	stopTime       = "time limit"
	stopStep       = "converged (step below 1e-4)"
	stopDescent    = "converged (no descent direction)"
	stopCurvature  = "no decrease after raising the curvature"
)

// sqp minimizes f over the feasible set from the feasible point x0 by
// sequential quadratic programming with an L-BFGS Hessian and a
// backtracking line search on the ℓ1 exact-penalty merit function
// f + μ·Σ max(0, aᵀx − b) (the iterates stay feasible, so the penalty is
// zero along the path, but the merit guards against rounding drift).
func sqp(fg func(x []float64) (float64, []float64, error), fv func(x []float64) (float64, error), fs *feasibleSet, x0 []float64, cfg sqpConfig) (x []float64, f float64, it int, stop string, err error) {
	x = append([]float64(nil), x0...)
	t0 := time.Now()
	f, g, err := fg(x)
	// Costs of a gradient and of a value (first guess: a third of the
	// gradient), so that no evaluation starts that would end past the
	// deadline.
	tFG := time.Since(t0)
	tFV := tFG / 3
	if err != nil {
		return nil, 0, 0, "", err
	}
	n := len(x)
	var gmax float64
	for _, v := range g {
		gmax = math.Max(gmax, math.Abs(v))
	}
	// The first model step moves the masks by about 0.25 at most.
	h := newLBFGS(n, cfg.mem, math.Max(gmax/0.25, 1e-8))
	viol := func(z []float64) float64 {
		var v float64
		for j := range fs.a {
			v += math.Max(0, dot(fs.a[j], z)-fs.b[j])
		}
		return v
	}
	mu := 1.0
	late := func(d time.Duration) bool {
		if cfg.deadline == nil {
			return false
		}
		dl := cfg.deadline()
		return !dl.IsZero() && time.Now().Add(d).After(dl)
	}
	stop = stopIterations
	for ; it < cfg.maxIter; it++ {
		if late(tFV) {
			stop = stopTime
			break
		}
		z := solveQP(h, fs, x, g, 200)
		d := make([]float64, n)
		var dmax float64
		for i := range d {
			d[i] = z[i] - x[i]
			dmax = math.Max(dmax, math.Abs(d[i]))
		}
		if dmax < 1e-4 {
			stop = stopStep
			break
		}
		slope := dot(g, d) - mu*viol(x)
		if slope >= 0 {
			stop = stopDescent
			break
		}
		phi0 := f + mu*viol(x)
		alpha := 1.0
		var xn []float64
		var fn float64
		accepted := false
		for ls := 0; ls < 5 && (ls == 0 || !late(tFV)); ls++ {
			xn = make([]float64, n)
			for i := range xn {
				xn[i] = clip01(x[i] + alpha*d[i])
			}
			t1 := time.Now()
			fn, err = fv(xn)
			tFV = time.Since(t1)
			if err != nil {
				return nil, 0, it, "", err
			}
			if fn+mu*viol(xn) <= phi0+1e-4*alpha*slope {
				accepted = true
				break
			}
			alpha /= 3
		}
		if !accepted {
			// No decrease along the model step: shrink the model's trust by
			// raising the curvature, and try again from the same point.
			h.sigma *= 4
			h.refresh()
			if h.sigma > 1e12 {
				stop = stopCurvature
				break
			}
			continue
		}
		if late(tFG) {
			// Out of time: take the accepted point without its gradient.
			x, f = xn, fn
			it++
			if cfg.progress != nil {
				cfg.progress(it, f)
			}
			stop = stopTime
			break
		}
		t1 := time.Now()
		fn2, gn, err := fg(xn)
		tFG = time.Since(t1)
		if err != nil {
			return nil, 0, it, "", err
		}
		s := make([]float64, n)
		y := make([]float64, n)
		for i := range s {
			s[i] = xn[i] - x[i]
			y[i] = gn[i] - g[i]
		}
		h.update(s, y)
		x, f, g = xn, fn2, gn
		if cfg.progress != nil {
			cfg.progress(it+1, f)
		}
	}
	return x, f, it, stop, nil
}
