package compress

import (
	"math"
	"math/rand/v2"
	"sort"
)

// order returns the factor's component indices by s_i·m_i, descending.
func (f *factor) order(m []float64) []int {
	idx := make([]int, f.kmax)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		return f.s[idx[a]]*m[f.off+idx[a]] > f.s[idx[b]]*m[f.off+idx[b]]
	})
	return idx
}

// roundMasks turns relaxed masks into an allocation: per layer
// K = Σm rounded (stochastically when rng is not nil), keeping the top-K
// components by s⊙m, then repaired to fit the budget.
func (p *problem) roundMasks(m []float64, rng *rand.Rand) alloc {
	nf := len(p.factors)
	a := alloc{rank: make([]int, nf), dense: make([]bool, nf), keep: make([][]int, nf)}
	for i, f := range p.factors {
		var sum float64
		for j := 0; j < f.kmax; j++ {
			sum += m[f.off+j]
		}
		k := int(math.Floor(sum))
		frac := sum - float64(k)
		if rng != nil {
			if rng.Float64() < frac {
				k++
			}
		} else if frac >= 0.5 {
			k++
		}
		k = max(1, min(k, f.kmax))
		a.keep[i] = f.order(m)[:k]
		a.rank[i] = k
	}
	return p.repair(a)
}

// keptEnergy is the energy fraction of the kept components.
func (f *factor) keptEnergy(keep []int) float64 {
	var e float64
	for _, i := range keep {
		e += f.s[i] * f.s[i]
	}
	return e / math.Max(f.totalEnergy(), 1e-300)
}

func (f *factor) totalEnergy() float64 {
	var t float64
	for _, v := range f.s {
		t += v * v
	}
	return t
}

// repair drops the least valuable kept components (least log energy lost
// per unit of over-budget cost) until the allocation fits.
func (p *problem) repair(a alloc) alloc {
	macs, params := p.cost(a)
	for !p.fits(macs, params) {
		best, bestScore := -1, math.Inf(1)
		for i, f := range p.factors {
			if a.dense[i] || a.rank[i] <= 1 {
				continue
			}
			keep := a.keep[i]
			e := f.keptEnergy(keep)
			last := keep[len(keep)-1]
			e2 := e - f.s[last]*f.s[last]/math.Max(f.totalEnergy(), 1e-300)
			loss := math.Log(math.Max(e, 1e-300)) - math.Log(math.Max(e2, 1e-300))
			gain := 0.0
			if p.budgetMACs > 0 && macs > p.budgetMACs {
				gain += float64(f.macPer) / float64(p.budgetMACs)
			}
			if p.budgetParams > 0 && params > p.budgetParams {
				gain += float64(f.parPer) / float64(p.budgetParams)
			}
			if gain > 0 && loss/gain < bestScore {
				best, bestScore = i, loss/gain
			}
		}
		if best < 0 {
			break
		}
		a.keep[best] = a.keep[best][:len(a.keep[best])-1]
		if a.scale != nil && a.scale[best] != nil {
			a.scale[best] = a.scale[best][:len(a.scale[best])-1]
		}
		a.rank[best]--
		macs -= p.factors[best].macPer
		params -= p.factors[best].parPer
	}
	return a
}

// keepOf returns the kept component indices of factor i (the first rank
// ones unless the allocation chose others).
func (a alloc) keepOf(i int) []int {
	if a.keep != nil && a.keep[i] != nil {
		return a.keep[i]
	}
	k := make([]int, a.rank[i])
	for j := range k {
		k[j] = j
	}
	return k
}

// scaleOf returns the kept components' scales of factor i (nil: all 1).
func (a alloc) scaleOf(i int) []float64 {
	if a.scale == nil {
		return nil
	}
	return a.scale[i]
}

// withScales returns a copy of a whose kept components carry the relaxed
// masks m as scales (a rank-K model reproducing the relaxed weights'
// top-K components exactly).
func (p *problem) withScales(a alloc, m []float64) alloc {
	b := a.clone()
	b.scale = make([][]float64, len(p.factors))
	for i, f := range p.factors {
		keep := b.keepOf(i)
		sc := make([]float64, len(keep))
		for j, c := range keep {
			sc[j] = math.Min(1, math.Max(m[f.off+c], 1e-3))
		}
		b.scale[i] = sc
	}
	return b
}

func (a alloc) clone() alloc {
	b := alloc{rank: append([]int(nil), a.rank...), dense: append([]bool(nil), a.dense...)}
	if a.keep != nil {
		b.keep = make([][]int, len(a.keep))
		for i, k := range a.keep {
			b.keep[i] = append([]int(nil), k...)
		}
	}
	if a.scale != nil {
		b.scale = make([][]float64, len(a.scale))
		for i, k := range a.scale {
			b.scale[i] = append([]float64(nil), k...)
		}
	}
	return b
}

// binaryMasks is the 0/1 mask vector of an allocation's kept components
// (dense layers: all kmax masks).
func (p *problem) binaryMasks(a alloc) []float64 {
	m := make([]float64, p.n)
	for i, f := range p.factors {
		if a.dense[i] {
			for j := 0; j < f.kmax; j++ {
				m[f.off+j] = 1
			}
			continue
		}
		sc := a.scaleOf(i)
		for k, j := range a.keepOf(i) {
			m[f.off+j] = 1
			if sc != nil {
				m[f.off+j] = sc[k]
			}
		}
	}
	return m
}
