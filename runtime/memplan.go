package runtime

import (
	"sort"

	"github.com/edgeml/edge/runtime/ir"
)

// interval is one buffer to place: elements of one dtype, live over the
// steps [def, last].
type interval struct {
	id, size, def, last int
}

// assignMemory gives every value computed at run time that owns its
// buffer an offset in its dtype's arena. Values whose lifetimes overlap
// get disjoint regions; a value is live from the step that writes it to
// the last step that reads it or any view of it (inclusive, so an
// operator never writes over its own inputs). Values placed inside a
// Concat's buffer (placeInputs) get no region of their own; the host's
// lifetime starts at the first of their writes.
//
// Placement is greedy by size (largest first), each buffer going to the
// best-fitting gap — the smallest gap between already placed buffers
// with an overlapping lifetime that holds it — or above them all.
func (p *plan) assignMemory() {
	var lists [4][]interval
	start := p.placedStart()
	for id := range p.vals {
		v := &p.vals[id]
		if v.def < 0 || v.root != id || v.placed {
			continue
		}
		def := v.def
		if s, ok := start[id]; ok {
			def = min(def, s)
		}
		a := arenaIndex(v.dtype)
		lists[a] = append(lists[a], interval{id: id, size: v.shape.Size(), def: def, last: max(v.last, v.def)})
	}
	p.peak = 0
	for a, list := range lists {
		n := placeBestFit(list, func(id, off int) { p.vals[id].offset = off })
		p.arenaLen[a] = n
		p.peak += int64(n) * int64(dtypeOfArena(a).Size())
	}
}

func dtypeOfArena(a int) ir.DType {
	return [4]ir.DType{ir.Float32, ir.Int64, ir.Int32, ir.Bool}[a]
}

// placeBestFit assigns offsets and returns the arena length.
func placeBestFit(list []interval, set func(id, off int)) int {
	order := append([]interval(nil), list...)
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].size != order[j].size {
			return order[i].size > order[j].size
		}
		return order[i].def < order[j].def
	})
	type placed struct{ off, size, def, last int }
	var done []placed
	total := 0
	for _, it := range order {
		// Regions of overlapping lifetimes, by offset.
		var busy []placed
		for _, q := range done {
			if q.def <= it.last && it.def <= q.last {
				busy = append(busy, q)
			}
		}
		sort.Slice(busy, func(i, j int) bool { return busy[i].off < busy[j].off })
		best, bestGap := -1, -1
		prevEnd := 0
		for _, q := range busy {
			if gap := q.off - prevEnd; gap >= it.size && (bestGap < 0 || gap < bestGap) {
				best, bestGap = prevEnd, gap
			}
			prevEnd = max(prevEnd, q.off+q.size)
		}
		if best < 0 {
			best = prevEnd
		}
		set(it.id, best)
		done = append(done, placed{best, it.size, it.def, it.last})
		total = max(total, best+it.size)
	}
	return total
}
