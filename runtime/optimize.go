package runtime

import (
	"fmt"
	"math"
	"strconv"

	"github.com/edgeml/edge/runtime/ir"
	"github.com/edgeml/edge/runtime/ops"
)

// Optimize returns a standard-ONNX graph equivalent to g for inference
// (g is not modified):
//
//   - nodes sorted topologically (a cycle or a dangling name is an error
//     wrapping ErrInvalidModel);
//   - Identity and inference Dropout removed;
//   - every node computable from initializers alone evaluated, its
//     outputs becoming initializers (exporters' shape subgraphs);
//   - BatchNormalization folded into a preceding Conv or Gemm with
//     constant weights whose output nothing else reads;
//   - a constant-zero Pad of the spatial axes whose output only a Conv
//     reads folded into that Conv's pads;
//   - nodes whose outputs nothing reads removed, unused initializers
//     dropped.
//
// Unnamed nodes are named "<OpType>_<index>". Operator fusion (Relu/Clip epilogues) and views are plan decisions and
// do not appear in the graph. Nodes edge does not support are kept as
// they are; Load reports them.
func Optimize(g *ir.Graph) (*ir.Graph, error) {
	o := cloneGraph(g)
	nameNodes(o)
	if err := sortGraph(o); err != nil {
		return nil, err
	}
	removeIdentities(o)
	if err := foldConstants(o); err != nil {
		return nil, err
	}
	foldBatchNorms(o)
	foldPads(o)
	removeDead(o)
	return o, nil
}

// nameNodes names unnamed nodes "<OpType>_<index>" (unique), so every
// message can point at a node.
func nameNodes(g *ir.Graph) {
	taken := map[string]bool{}
	for _, n := range g.Nodes {
		taken[n.Name] = true
	}
	for i, n := range g.Nodes {
		if n.Name != "" {
			continue
		}
		base := n.OpType + "_" + strconv.Itoa(i)
		name := base
		for k := 1; taken[name]; k++ {
			name = base + "_" + strconv.Itoa(k)
		}
		taken[name] = true
		n.Name = name
	}
}

// isNoop reports whether n passes input 0 through unchanged (Identity,
// Dropout in inference with its mask unused).
func isNoop(g *ir.Graph, n *ir.Node, used map[string]int, outs map[string]bool) bool {
	if n.Domain != "" && n.Domain != "ai.onnx" || len(n.Inputs) == 0 || n.Inputs[0] == "" || len(n.Outputs) == 0 {
		return false
	}
	switch n.OpType {
	case "Identity":
		return len(n.Outputs) == 1
	case "Dropout":
		if len(n.Outputs) > 1 && n.Outputs[1] != "" && (used[n.Outputs[1]] > 0 || outs[n.Outputs[1]]) {
			return false
		}
		if tm := n.Input(2); tm != "" {
			t, ok := g.Initializers[tm]
			if !ok || t.DType != ir.Bool || len(t.Bool) != 1 || t.Bool[0] {
				return false
			}
		}
		if n.AttrInt("is_test", 1) == 0 && g.Opset < 7 {
			return false
		}
		return true
	}
	return false
}

// removeIdentities bypasses no-op nodes by renaming values.
func removeIdentities(g *ir.Graph) {
	for {
		used := consumers(g)
		outs := outputSet(g)
		changed := false
		for i, n := range g.Nodes {
			if !isNoop(g, n, used, outs) {
				continue
			}
			in, out := n.Inputs[0], n.Outputs[0]
			switch {
			case !outs[out]:
				renameUses(g, out, in)
			case producerOf(g, in) != nil && !outs[in]:
				// The output is a graph output: the producer writes it
				// under the output's name instead.
				p := producerOf(g, in)
				for k, o := range p.Outputs {
					if o == in {
						p.Outputs[k] = out
					}
				}
				renameUses(g, in, out)
			default:
				continue
			}
			g.Nodes = append(g.Nodes[:i], g.Nodes[i+1:]...)
			changed = true
			break
		}
		if !changed {
			return
		}
	}
}

func producerOf(g *ir.Graph, name string) *ir.Node {
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == name {
				return n
			}
		}
	}
	return nil
}

func renameUses(g *ir.Graph, from, to string) {
	for _, n := range g.Nodes {
		for k, in := range n.Inputs {
			if in == from {
				n.Inputs[k] = to
			}
		}
	}
}

// foldConstants evaluates nodes whose inputs are all initializers.
func foldConstants(g *ir.Graph) error {
	outs := outputSet(g)
	kept := g.Nodes[:0:0]
	for _, n := range g.Nodes {
		vals, ok := constInputs(g, n)
		if !ok {
			kept = append(kept, n)
			continue
		}
		res, err := evalNode(n, g.Opset, vals)
		if err != nil || len(res) < len(n.Outputs) {
			// Unsupported or failing: leave it for the planner to report.
			kept = append(kept, n)
			continue
		}
		for i, name := range n.Outputs {
			if name != "" {
				g.Initializers[name] = res[i]
			}
		}
		_ = outs
	}
	g.Nodes = kept
	return nil
}

// constInputs returns the node's inputs as constant Values when all are
// initializers (omitted inputs are empty Values).
func constInputs(g *ir.Graph, n *ir.Node) ([]ops.Value, bool) {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return nil, false
	}
	if _, ok := ops.Lookup(n.OpType); !ok {
		return nil, false
	}
	vals := make([]ops.Value, len(n.Inputs))
	for i, in := range n.Inputs {
		if in == "" {
			continue
		}
		t, ok := g.Initializers[in]
		if !ok {
			return nil, false
		}
		vals[i] = ops.Value{DType: t.DType, Shape: t.Shape, Const: t}
	}
	return vals, true
}

// evalNode plans and runs one node on constant inputs, on the calling
// goroutine.
func evalNode(n *ir.Node, opset int, in []ops.Value) ([]*ir.Tensor, error) {
	op, err := ops.New(n, opset)
	if err != nil {
		return nil, err
	}
	outv, err := op.Plan(&ops.Env{Opset: opset}, in)
	if err != nil {
		return nil, err
	}
	return evalPlanned(op, in, outv)
}

// evalPlanned computes the outputs of a planned op on constant inputs.
func evalPlanned(op ops.Op, in []ops.Value, outv []ops.Value) ([]*ir.Tensor, error) {
	res := make([]*ir.Tensor, len(outv))
	allConst := true
	for i, v := range outv {
		if v.Const != nil {
			res[i] = v.Const
		} else {
			allConst = false
		}
	}
	if allConst {
		return res, nil
	}
	if a, ok := op.(ops.Aliaser); ok && a.AliasInput() && len(in) > 0 && in[0].Const != nil && len(outv) > 0 {
		if in[0].Const.Len() == outv[0].Shape.Size() && in[0].DType == outv[0].DType {
			res[0] = in[0].Const.View(outv[0].Shape)
			for i := 1; i < len(outv); i++ {
				if res[i] == nil {
					if !outv[i].DType.Supported() {
						return nil, fmt.Errorf("output %d has dtype %v", i, outv[i].DType)
					}
					res[i] = ir.NewTensor(outv[i].DType, outv[i].Shape)
				}
			}
			if len(outv) == 1 {
				return res, nil
			}
		}
	}
	for i, v := range outv {
		if res[i] == nil {
			if err := checkSize(v.Shape, maxFoldedElements); err != nil {
				return nil, fmt.Errorf("constant output %d: %w", i, err)
			}
		}
	}
	ins := make([]*ir.Tensor, len(in))
	for i, v := range in {
		ins[i] = v.Const
	}
	outs := make([]*ir.Tensor, len(outv))
	for i, v := range outv {
		if !v.DType.Supported() {
			return nil, fmt.Errorf("output %d has dtype %v", i, v.DType)
		}
		outs[i] = ir.NewTensor(v.DType, v.Shape)
	}
	ctx := &ops.Ctx{Scratch: func(n int) []float32 { return make([]float32, n) }}
	if err := op.Run(ctx, ins, outs); err != nil {
		return nil, err
	}
	for i := range res {
		if res[i] == nil || outv[i].Const == nil {
			res[i] = outs[i]
		}
	}
	return res, nil
}

// producers maps every value a node of g outputs to that node.
func producers(g *ir.Graph) map[string]*ir.Node {
	prod := map[string]*ir.Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			prod[o] = n
		}
	}
	return prod
}

// foldBatchNorms folds BatchNormalization into a preceding Conv or Gemm.
func foldBatchNorms(g *ir.Graph) {
	prod, used, outs := producers(g), consumers(g), outputSet(g)
	kept := g.Nodes[:0:0]
	for _, n := range g.Nodes {
		if n.OpType != "BatchNormalization" || (n.Domain != "" && n.Domain != "ai.onnx") || !foldBN(g, n, prod, used, outs) {
			kept = append(kept, n)
		}
	}
	g.Nodes = kept
}

// bnScale returns s = scale/sqrt(var+eps) and t = B - mean·s, per channel.
func bnScale(g *ir.Graph, bn *ir.Node) (s, t []float64, ok bool) {
	if len(bn.Inputs) < 5 || bn.AttrInt("training_mode", 0) != 0 || bn.AttrInt("spatial", 1) != 1 {
		return nil, nil, false
	}
	for i := 1; i < len(bn.Outputs); i++ {
		if bn.Outputs[i] != "" {
			return nil, nil, false
		}
	}
	var p [4]*ir.Tensor
	for i := range p {
		t, ok := g.Initializers[bn.Inputs[i+1]]
		if !ok || t.DType != ir.Float32 || len(t.Shape) != 1 {
			return nil, nil, false
		}
		p[i] = t
	}
	c := p[0].Len()
	for _, x := range p {
		if x.Len() != c {
			return nil, nil, false
		}
	}
	eps := float64(bn.AttrFloat("epsilon", 1e-5))
	s, t = make([]float64, c), make([]float64, c)
	for k := range c {
		s[k] = float64(p[0].F32[k]) / math.Sqrt(float64(p[3].F32[k])+eps)
		t[k] = float64(p[1].F32[k]) - float64(p[2].F32[k])*s[k]
	}
	return s, t, true
}

func uniqueName(g *ir.Graph, base string) string {
	name := base
	for k := 1; ; k++ {
		if _, taken := g.Initializers[name]; !taken {
			return name
		}
		name = base + "_" + strconv.Itoa(k)
	}
}

func foldBN(g *ir.Graph, bn *ir.Node, prod map[string]*ir.Node, used map[string]int, outs map[string]bool) bool {
	x := bn.Input(0)
	p := prod[x]
	if p == nil || used[x] != 1 || outs[x] || len(p.Outputs) != 1 || (p.Domain != "" && p.Domain != "ai.onnx") {
		return false
	}
	s, t, ok := bnScale(g, bn)
	if !ok {
		return false
	}
	c := len(s)
	switch p.OpType {
	case "Conv":
		w, ok := g.Initializers[p.Input(1)]
		if !ok || w.DType != ir.Float32 || len(w.Shape) < 3 || w.Shape[0] != c {
			return false
		}
		var b *ir.Tensor
		if bn := p.Input(2); bn != "" {
			if b, ok = g.Initializers[bn]; !ok || b.DType != ir.Float32 || b.Len() != c {
				return false
			}
		}
		nw := w.Clone()
		per := w.Len() / c
		for k := range c {
			row := nw.F32[k*per : (k+1)*per]
			for i := range row {
				row[i] = float32(float64(row[i]) * s[k])
			}
		}
		nb := ir.NewTensor(ir.Float32, ir.Shape{c})
		for k := range c {
			bias := 0.0
			if b != nil {
				bias = float64(b.F32[k])
			}
			nb.F32[k] = float32(bias*s[k] + t[k])
		}
		wn, bname := uniqueName(g, p.Name+"_bn_weight"), ""
		g.Initializers[wn] = nw
		bname = uniqueName(g, p.Name+"_bn_bias")
		g.Initializers[bname] = nb
		p.Inputs = []string{p.Inputs[0], wn, bname}
	case "Gemm":
		w, ok := g.Initializers[p.Input(1)]
		if !ok || w.DType != ir.Float32 || len(w.Shape) != 2 {
			return false
		}
		transB := p.AttrInt("transB", 0) != 0
		n := w.Shape[1]
		if transB {
			n = w.Shape[0]
		}
		if n != c {
			return false
		}
		beta := float64(p.AttrFloat("beta", 1))
		cb := make([]float64, c)
		if cn := p.Input(2); cn != "" {
			ct, ok := g.Initializers[cn]
			if !ok || ct.DType != ir.Float32 {
				return false
			}
			switch {
			case ct.Len() == 1:
				for k := range cb {
					cb[k] = float64(ct.F32[0])
				}
			case ct.Len() == c && ct.Shape[len(ct.Shape)-1] == c:
				for k := range cb {
					cb[k] = float64(ct.F32[k])
				}
			default:
				return false
			}
		}
		nw := w.Clone()
		rows, cols := w.Shape[0], w.Shape[1]
		for r := range rows {
			for q := range cols {
				k := q
				if transB {
					k = r
				}
				nw.F32[r*cols+q] = float32(float64(nw.F32[r*cols+q]) * s[k])
			}
		}
		nc := ir.NewTensor(ir.Float32, ir.Shape{c})
		for k := range c {
			nc.F32[k] = float32(beta*cb[k]*s[k] + t[k])
		}
		wn := uniqueName(g, p.Name+"_bn_weight")
		g.Initializers[wn] = nw
		cname := uniqueName(g, p.Name+"_bn_bias")
		g.Initializers[cname] = nc
		p.Inputs = []string{p.Inputs[0], wn, cname}
		p.Attrs = cloneAttrs(p.Attrs)
		p.Attrs["beta"] = &ir.Attr{Type: ir.AttrFloat, F: 1}
	default:
		return false
	}
	p.Outputs = []string{bn.Outputs[0]}
	return true
}

// foldPads makes every Conv whose input is the output of a zero-padding
// Pad of the spatial axes (and read by nothing else) read the Pad's input
// with the Pad's amounts added to its own pads (fmnist-squeezenet1_1's
// 28² → 32² input pad); removeDead then drops the Pad. Padding with zeros
// is what the Conv's pads do, so the outputs are unchanged.
func foldPads(g *ir.Graph) {
	prod, used, outs := producers(g), consumers(g), outputSet(g)
	for _, c := range g.Nodes {
		if c.OpType != "Conv" || (c.Domain != "" && c.Domain != "ai.onnx") || c.AttrString("auto_pad", "NOTSET") != "NOTSET" {
			continue
		}
		x := c.Input(0)
		p := prod[x]
		if p == nil || p.OpType != "Pad" || (p.Domain != "" && p.Domain != "ai.onnx") || used[x] != 1 || outs[x] || len(p.Outputs) != 1 {
			continue
		}
		w, ok := g.Initializers[c.Input(1)]
		if !ok || len(w.Shape) < 3 {
			continue
		}
		if pads, ok := spatialZeroPads(g, p, len(w.Shape)); ok {
			cp := c.AttrInts("pads")
			if cp == nil {
				cp = make([]int64, len(pads))
			}
			if len(cp) != len(pads) {
				continue
			}
			np := make([]int64, len(pads))
			for i := range np {
				np[i] = cp[i] + pads[i]
			}
			c.Attrs = cloneAttrs(c.Attrs)
			c.Attrs["pads"] = &ir.Attr{Type: ir.AttrInts, Ints: np}
			c.Inputs = append([]string{p.Input(0)}, c.Inputs[1:]...)
		}
	}
}

// spatialZeroPads returns the pads of the spatial axes (Conv order:
// all begins, then all ends) of a Pad node p over rank-dimensional data
// when it pads with zeros (mode constant, value 0 or none), by known
// non-negative amounts, only the axes after the first two; ok is false
// otherwise.
func spatialZeroPads(g *ir.Graph, p *ir.Node, rank int) (pads []int64, ok bool) {
	if p.AttrString("mode", "constant") != "constant" || p.Input(3) != "" || p.AttrFloat("value", 0) != 0 {
		return nil, false
	}
	all := p.AttrInts("pads")
	if !p.Has("pads") {
		t, ok := g.Initializers[p.Input(1)]
		if !ok || t.DType != ir.Int64 {
			return nil, false
		}
		all = t.I64
	}
	if v := p.Input(2); v != "" {
		t, ok := g.Initializers[v]
		if !ok || t.DType != ir.Float32 || t.Len() != 1 || t.F32[0] != 0 {
			return nil, false
		}
	}
	if len(all) != 2*rank {
		return nil, false
	}
	for i, v := range all {
		if v < 0 || (v != 0 && (i%rank < 2)) {
			return nil, false
		}
	}
	sp := rank - 2
	pads = make([]int64, 2*sp)
	copy(pads[:sp], all[2:rank])
	copy(pads[sp:], all[rank+2:])
	return pads, true
}

func cloneAttrs(a map[string]*ir.Attr) map[string]*ir.Attr {
	c := make(map[string]*ir.Attr, len(a)+1)
	for k, v := range a {
		c[k] = v
	}
	return c
}

// removeDead drops nodes whose outputs are never read and initializers
// nothing references.
func removeDead(g *ir.Graph) {
	outs := outputSet(g)
	for {
		used := consumers(g)
		kept := g.Nodes[:0:0]
		for _, n := range g.Nodes {
			live := false
			for _, o := range n.Outputs {
				if o != "" && (used[o] > 0 || outs[o]) {
					live = true
				}
			}
			if live {
				kept = append(kept, n)
			}
		}
		if len(kept) == len(g.Nodes) {
			break
		}
		g.Nodes = kept
	}
	used := consumers(g)
	for name := range g.Initializers {
		if used[name] == 0 && !outs[name] {
			delete(g.Initializers, name)
		}
	}
}
