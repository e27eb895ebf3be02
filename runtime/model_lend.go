package runtime

import (
	"unsafe"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// lendDense enables lendWeights; tests switch it off (setLendDense).
var lendDense = true

// setLendDense sets lendDense and returns a function restoring it.
func setLendDense(on bool) (restore func()) {
	old := lendDense
	lendDense = on
	return func() { lendDense = old }
}

// loan is a weight lent to the operator being planned (lendWeights).
type loan struct {
	t   *ir.Tensor
	end func() bool
}

// lendWeights lends to kernels.NewDense (kernels.LendWeight) the float32
// constants among a node's inputs that Load's batch-1 plan releases
// after this node, their last reader, absorbs them: NewDense packs such a
// weight a row panel at a time and dropPages gives the packed rows back
// to the operating system, so a large fully connected weight and its
// packed copy are not both held whole (imagenet-vgg16's fc6: 392 MB
// each). left counts the uses of each constant not yet planned,
// including this node's.
//
// A weight whose memory another tensor shares (a constant folded by a
// view, such as Reshape of an initializer also read elsewhere) is not
// lent: its pages would be dropped under the other tensor.
func lendWeights(g *ir.Graph, p *plan, req *planRequest, inIDs []int, left map[string]int, outs, wanted map[string]bool) []loan {
	if req.release == nil || !lendDense {
		return nil
	}
	var out []loan
	for _, id := range inIDs {
		if id < 0 {
			continue
		}
		v := &p.vals[id]
		if v.def >= 0 || v.input >= 0 || v.konst == nil || v.konst.DType != ir.Float32 || len(v.konst.F32) == 0 || left[v.name] != 1 || outs[v.name] || wanted[v.name] {
			continue
		}
		w := v.konst.F32
		if sharesData(g, p, v.name, v.konst) {
			continue
		}
		done := 0
		end := kernels.LendWeight(w, func(n int) {
			if n > done {
				dropPages(w[done:n])
				done = n
			}
		})
		out = append(out, loan{t: v.konst, end: end})
	}
	return out
}

// endLoans ends the loans and releases the weights NewDense used (their
// data is gone, whether or not the operator reported absorbing them).
func endLoans(loans []loan, release func(*ir.Tensor)) {
	for _, l := range loans {
		if l.end() && l.t.F32 != nil {
			release(l.t)
		}
	}
}

// sharesData reports whether a float32 tensor known by another name
// than name, among g's initializers and p's constants, is t or overlaps
// t's data.
func sharesData(g *ir.Graph, p *plan, name string, t *ir.Tensor) bool {
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(t.F32)))
	hi := lo + uintptr(len(t.F32))*4
	shares := func(k string, u *ir.Tensor) bool {
		if k == name || u == nil {
			return false
		}
		if u == t {
			return true
		}
		a := uintptr(unsafe.Pointer(unsafe.SliceData(u.F32)))
		return len(u.F32) > 0 && a < hi && lo < a+uintptr(len(u.F32))*4
	}
	for k, u := range g.Initializers {
		if shares(k, u) {
			return true
		}
	}
	for i := range p.vals {
		if shares(p.vals[i].name, p.vals[i].konst) {
			return true
		}
	}
	return false
}
