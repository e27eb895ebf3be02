package ops

import (
	"github.com/edgeml/edge/runtime/ir"
)

// Pad in modes constant, reflect and edge on any executable dtype.
// Before opset 11 pads, mode and value are attributes; from 11 pads is an
// input that must be known at plan time and constant_value an optional
// scalar input read at run time; from 18 an optional axes input selects
// the padded axes. Negative pads crop (before padding).

func init() {
	Register(Registration{OpType: "Pad", MinOpset: 2, New: newPad})
}

type padMode uint8

const (
	padConstant padMode = iota
	padReflect
	padEdge
)

type padOp struct {
	node  *ir.Node
	opset int
	mode  padMode
	value float32 // constant before opset 11
	pads  []int64 // attribute form
	// Plan results: output dims and, per axis, the source index of each
	// output index (-1 = constant).
	dims []int
	maps [][]int
}

func newPad(n *ir.Node, opset int) (Op, error) {
	p := &padOp{node: n, opset: opset}
	switch m := n.AttrString("mode", "constant"); m {
	case "constant":
		p.mode = padConstant
	case "reflect":
		p.mode = padReflect
	case "edge":
		p.mode = padEdge
	default:
		return nil, unsupportedf(n, "mode %q (supported: constant, reflect, edge)", m)
	}
	if opset < 11 {
		if !n.Has("pads") {
			return nil, nodeErrf(n, "attribute pads is required before opset 11")
		}
		p.pads = n.AttrInts("pads")
		p.value = n.AttrFloat("value", 0)
	}
	return p, nil
}

// padIndex maps output index o of an axis with pb leading pads over a
// source range of length m (starting at lo) to a source index, or -1.
func padIndex(mode padMode, o, pb, m, lo int) int {
	j := o - pb
	if j >= 0 && j < m {
		return lo + j
	}
	switch mode {
	case padEdge:
		return lo + min(max(j, 0), m-1)
	case padReflect:
		if m == 1 {
			return lo
		}
		period := 2 * (m - 1)
		j %= period
		if j < 0 {
			j += period
		}
		if j >= m {
			j = period - j
		}
		return lo + j
	}
	return -1
}

func (p *padOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := p.node
	if err := needInputs(n, in, 1); err != nil {
		return nil, err
	}
	if err := needDType(n, in, 0, executable...); err != nil {
		return nil, err
	}
	src := in[0].Shape
	r := len(src)
	pads := p.pads
	var axes []int
	if p.opset >= 11 {
		var err error
		if pads, err = constInts(n, in, 1, "pads"); err != nil {
			return nil, err
		}
		if present(in, 2) {
			if in[2].DType != in[0].DType || in[2].Shape.Size() != 1 {
				return nil, nodeErrf(n, "constant_value must be a %v scalar, got %v%v", in[0].DType, in[2].DType, in[2].Shape)
			}
		}
		if present(in, 3) {
			a, err := constInts(n, in, 3, "axes")
			if err != nil {
				return nil, err
			}
			seen := make([]bool, r)
			for _, v := range a {
				k, err := normAxis(n, "axis", v, r)
				if err != nil {
					return nil, err
				}
				if seen[k] {
					return nil, nodeErrf(n, "axes %v repeat axis %d", a, v)
				}
				seen[k] = true
				axes = append(axes, k)
			}
		}
	}
	if axes == nil {
		axes = make([]int, r)
		for i := range axes {
			axes[i] = i
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, nodeErrf(n, "pads %v has %d values; want %d (begin and end for each of %d axes)", pads, len(pads), 2*len(axes), len(axes))
	}
	begin, end := make([]int64, r), make([]int64, r)
	for i, a := range axes {
		begin[a], end[a] = pads[i], pads[len(axes)+i]
	}
	p.dims = make([]int, r)
	p.maps = make([][]int, r)
	for k := 0; k < r; k++ {
		d := int64(src[k])
		lo, hi := max(0, -begin[k]), d-max(0, -end[k])
		m := hi - lo
		if m < 0 {
			return nil, nodeErrf(n, "pads %v crop axis %d of size %d below zero", pads, k, d)
		}
		pb, pe := max(0, begin[k]), max(0, end[k])
		if pb > 1<<24 || pe > 1<<24 {
			return nil, nodeErrf(n, "pads %v are too large (limit 2^24 per side)", pads)
		}
		out := m + pb + pe
		if m == 0 && out > 0 && p.mode != padConstant {
			return nil, nodeErrf(n, "cannot %s-pad axis %d: it has no elements", [...]string{"constant", "reflect", "edge"}[p.mode], k)
		}
		p.dims[k] = int(out)
		mp := make([]int, out)
		for o := range mp {
			mp[o] = padIndex(p.mode, o, int(pb), int(m), int(lo))
		}
		p.maps[k] = mp
	}
	if err := sizeOK(n, p.dims); err != nil {
		return nil, err
	}
	return []Value{{DType: in[0].DType, Shape: ir.Shape(p.dims).Clone()}}, nil
}

func padRun[T elem](p *padOp, dst, src []T, st []int, fill T) {
	r := len(p.dims)
	if len(dst) == 0 {
		return
	}
	if r == 0 {
		dst[0] = src[0]
		return
	}
	inner := p.dims[r-1]
	last := p.maps[r-1]
	idx := make([]int, r-1)
	for o := 0; o < len(dst); o += inner {
		row := dst[o : o+inner]
		base, inside := 0, true
		for k, i := range idx {
			s := p.maps[k][i]
			if s < 0 {
				inside = false
				break
			}
			base += s * st[k]
		}
		if !inside {
			for j := range row {
				row[j] = fill
			}
		} else {
			for j, s := range last {
				if s < 0 {
					row[j] = fill
				} else {
					row[j] = src[base+s]
				}
			}
		}
		for k := r - 2; k >= 0; k-- {
			idx[k]++
			if idx[k] < p.dims[k] {
				break
			}
			idx[k] = 0
		}
	}
}

func (p *padOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(p.node, in, 1, out, 1); err != nil {
		return err
	}
	if p.dims == nil && len(in[0].Shape) > 0 {
		return nodeErrf(p.node, "run before plan")
	}
	x, y := in[0], out[0]
	st := strides(x.Shape)
	cv := (*ir.Tensor)(nil)
	if p.opset >= 11 && presentT(in, 2) {
		cv = in[2]
	}
	switch y.DType {
	case ir.Float32:
		fill := p.value
		if cv != nil {
			fill = cv.F32[0]
		}
		padRun(p, y.F32, x.F32, st, fill)
	case ir.Int64:
		fill := int64(p.value)
		if cv != nil {
			fill = cv.I64[0]
		}
		padRun(p, y.I64, x.I64, st, fill)
	case ir.Int32:
		fill := int32(p.value)
		if cv != nil {
			fill = cv.I32[0]
		}
		padRun(p, y.I32, x.I32, st, fill)
	case ir.Bool:
		fill := p.value != 0
		if cv != nil {
			fill = cv.Bool[0]
		}
		padRun(p, y.Bool, x.Bool, st, fill)
	}
	return nil
}
