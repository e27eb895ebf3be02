package compress

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrImpossibleBudget is returned (wrapped) when even rank 1 in every
// decomposed layer exceeds the budget; the message states the smallest
// reachable MACs and weight count.
var ErrImpossibleBudget = errors.New("compress: budget cannot be reached")

// problem is the rank-allocation problem: masks of all factors, their
// linear costs and the budget.
type problem struct {
	factors      []*factor
	n            int   // number of masks
	macsTotal    int64 // dense network MACs per image
	paramsTotal  int64 // dense network weight+bias elements
	macFixed     int64 // MACs of everything but the factorized weights
	parFixed     int64 // params of everything but the factorized weights (biases of factorized layers included)
	budgetMACs   int64 // 0: none
	budgetParams int64 // 0: none
}

func newProblem(fs []*factor, macsTotal, paramsTotal, bm, bp int64) *problem {
	p := &problem{factors: fs, macsTotal: macsTotal, paramsTotal: paramsTotal, budgetMACs: bm, budgetParams: bp}
	p.macFixed, p.parFixed = macsTotal, paramsTotal
	for _, f := range fs {
		f.off = p.n
		p.n += f.kmax
		p.macFixed -= f.l.macs
		p.parFixed -= f.l.params - f.parFixed
	}
	return p
}

// alloc is a discrete choice per factor: a rank in 1..kmax or dense.
type alloc struct {
	rank  []int
	dense []bool
	keep  [][]int // kept component indices per factor; nil: the first rank
	// scale, when not nil, holds per factor a factor in (0, 1] for each
	// kept component (the relaxed mask), multiplying its singular value.
	scale [][]float64
}

// sameAlloc reports whether a and b keep the same components with the
// same scales.
func sameAlloc(a, b alloc) bool {
	if !slices.Equal(a.rank, b.rank) || !slices.Equal(a.dense, b.dense) || len(a.keep) != len(b.keep) || len(a.scale) != len(b.scale) {
		return false
	}
	for i := range a.keep {
		if !slices.Equal(a.keep[i], b.keep[i]) {
			return false
		}
	}
	for i := range a.scale {
		if !slices.Equal(a.scale[i], b.scale[i]) {
			return false
		}
	}
	return true
}

func (p *problem) cost(a alloc) (macs, params int64) {
	macs, params = p.macFixed, p.parFixed
	for i, f := range p.factors {
		if a.dense[i] {
			macs += f.l.macs
			params += f.l.params - f.parFixed
			continue
		}
		macs += int64(a.rank[i]) * f.macPer
		params += int64(a.rank[i]) * f.parPer
	}
	return
}

func (p *problem) fits(macs, params int64) bool {
	return (p.budgetMACs <= 0 || macs <= p.budgetMACs) && (p.budgetParams <= 0 || params <= p.budgetParams)
}

// minimum is the cost with rank 1 everywhere.
func (p *problem) minimum() (macs, params int64) {
	a := alloc{rank: make([]int, len(p.factors)), dense: make([]bool, len(p.factors))}
	for i := range a.rank {
		a.rank[i] = 1
	}
	return p.cost(a)
}

func (p *problem) check() error {
	m, q := p.minimum()
	if !p.fits(m, q) {
		return fmt.Errorf("%w: the smallest reachable cost is %d MACs and %d parameters (rank 1 in every decomposed layer; %d MACs and %d parameters are in layers that cannot be decomposed); budget %s",
			ErrImpossibleBudget, m, q, p.macFixed, p.parFixed, p.budgetString())
	}
	return nil
}

func (p *problem) budgetString() string {
	s := ""
	if p.budgetMACs > 0 {
		s = fmt.Sprintf("%d MACs", p.budgetMACs)
	}
	if p.budgetParams > 0 {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%d parameters", p.budgetParams)
	}
	return s
}

// excess is how far (cost, relative to the budget) an allocation is over
// budget, summed over the constraints; 0 when it fits.
func (p *problem) excess(macs, params int64) float64 {
	var e float64
	if p.budgetMACs > 0 && macs > p.budgetMACs {
		e += float64(macs-p.budgetMACs) / float64(p.budgetMACs)
	}
	if p.budgetParams > 0 && params > p.budgetParams {
		e += float64(params-p.budgetParams) / float64(p.budgetParams)
	}
	return e
}

// greedy is Zhang et al.'s allocation: starting from the dense network,
// repeatedly take the step (dense → kmax, or rank k → k−1) that loses the
// least log retained energy per unit of over-budget cost removed, until
// the budget is met.
func (p *problem) greedy() alloc {
	nf := len(p.factors)
	a := alloc{rank: make([]int, nf), dense: make([]bool, nf)}
	for i, f := range p.factors {
		a.rank[i] = f.kmax
		a.dense[i] = true
	}
	macs, params := p.cost(a)
	for !p.fits(macs, params) {
		best, bestScore := -1, math.Inf(1)
		var bm, bp int64
		for i, f := range p.factors {
			var dm, dp int64
			var loss float64
			if a.dense[i] {
				dm = f.l.macs - int64(f.kmax)*f.macPer
				dp = f.l.params - f.parFixed - int64(f.kmax)*f.parPer
				loss = -math.Log(math.Max(f.energy[f.kmax], 1e-300))
			} else {
				k := a.rank[i]
				if k <= 1 {
					continue
				}
				dm, dp = f.macPer, f.parPer
				loss = math.Log(math.Max(f.energy[k], 1e-300)) - math.Log(math.Max(f.energy[k-1], 1e-300))
			}
			gain := 0.0
			if p.budgetMACs > 0 && macs > p.budgetMACs {
				gain += float64(dm) / float64(p.budgetMACs)
			}
			if p.budgetParams > 0 && params > p.budgetParams {
				gain += float64(dp) / float64(p.budgetParams)
			}
			if gain <= 0 {
				continue
			}
			if s := loss / gain; s < bestScore {
				best, bestScore, bm, bp = i, s, dm, dp
			}
		}
		if best < 0 {
			break // impossible; check() reports it
		}
		if a.dense[best] {
			a.dense[best] = false
		} else {
			a.rank[best]--
		}
		macs -= bm
		params -= bp
	}
	return a
}

// uniformAt keeps in every layer the smallest rank retaining energy e
// (dense when that rank is beyond kmax).
func (p *problem) uniformAt(e float64) alloc {
	nf := len(p.factors)
	a := alloc{rank: make([]int, nf), dense: make([]bool, nf)}
	for i, f := range p.factors {
		k := 1
		for k < f.full && f.energy[k] < e {
			k++
		}
		if k > f.kmax {
			a.dense[i] = true
			k = f.kmax
		}
		a.rank[i] = k
	}
	return a
}

// uniform bisects the common energy fraction to meet the budget.
func (p *problem) uniform() alloc {
	lo, hi := 0.0, 1.0
	if a := p.uniformAt(hi); p.fits(p.cost(a)) {
		return a
	}
	for it := 0; it < 60; it++ {
		mid := (lo + hi) / 2
		if p.fits(p.cost(p.uniformAt(mid))) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return p.uniformAt(lo)
}

// promote turns factorized layers back to dense while the budget allows,
// best energy gain per cost first; layers at kmax gain the most.
func (p *problem) promote(a alloc) alloc {
	for {
		macs, params := p.cost(a)
		best, bestScore := -1, 0.0
		for i, f := range p.factors {
			if a.dense[i] {
				continue
			}
			dm := f.l.macs - int64(a.rank[i])*f.macPer
			dp := f.l.params - f.parFixed - int64(a.rank[i])*f.parPer
			if !p.fits(macs+dm, params+dp) {
				continue
			}
			gain := -math.Log(math.Max(f.energy[a.rank[i]], 1e-300))
			c := 1e-12
			if p.budgetMACs > 0 {
				c += float64(max(dm, 0)) / float64(p.budgetMACs)
			}
			if p.budgetParams > 0 {
				c += float64(max(dp, 0)) / float64(p.budgetParams)
			}
			if s := gain / c; s > bestScore {
				best, bestScore = i, s
			}
		}
		if best < 0 {
			return a
		}
		a.dense[best] = true
	}
}

// linear returns the MAC and params cost vectors of the masks.
func (p *problem) linear() (cm, cp []float64) {
	cm = make([]float64, p.n)
	cp = make([]float64, p.n)
	for _, f := range p.factors {
		for j := 0; j < f.kmax; j++ {
			cm[f.off+j] = float64(f.macPer)
			cp[f.off+j] = float64(f.parPer)
		}
	}
	return
}
