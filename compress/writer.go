package compress

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgeml/edge/runtime/ir"
	"github.com/edgeml/edge/runtime/onnx"
)

func ints(v ...int) *ir.Attr {
	a := &ir.Attr{Type: ir.AttrInts}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

func f32Tensor(data []float32, shape ...int) *ir.Tensor {
	return &ir.Tensor{DType: ir.Float32, Shape: ir.Shape(shape), F32: data}
}

// factorizedGraph returns a copy of g in which every factorized layer of
// a is replaced by two Conv, Gemm or MatMul nodes, and the second nodes
// mapped to the nodes they replace. g is not modified.
func factorizedGraph(g *ir.Graph, fs []*factor, a alloc) (*ir.Graph, map[*ir.Node]*ir.Node, error) {
	out := cloneMaps(g)
	byNode := map[*ir.Node]int{}
	for i, f := range fs {
		if !a.dense[i] {
			byNode[f.l.node] = i
		}
	}
	out.Nodes = nil
	second := map[*ir.Node]*ir.Node{}
	unique := func(name string) string {
		base := name
		for k := 2; ; k++ {
			if _, ok := out.Initializers[name]; !ok {
				return name
			}
			name = fmt.Sprintf("%s_%d", base, k)
		}
	}
	for _, nd := range g.Nodes {
		i, ok := byNode[nd]
		if !ok {
			out.Nodes = append(out.Nodes, nd)
			continue
		}
		f := fs[i]
		n1, n2, err := f.nodes(out, a.keepOf(i), a.scaleOf(i), unique)
		if err != nil {
			return nil, nil, err
		}
		out.Nodes = append(out.Nodes, n1, n2)
		second[n2] = nd
	}
	// Drop initializers no node reads any more (the dense weights).
	used := map[string]bool{}
	for _, nd := range out.Nodes {
		for _, in := range nd.Inputs {
			used[in] = true
		}
	}
	for _, o := range out.Outputs {
		used[o.Name] = true
	}
	for k := range out.Initializers {
		if !used[k] {
			delete(out.Initializers, k)
		}
	}
	return out, second, nil
}

// nodes builds the two nodes (and their initializers in g) of the
// factorized layer keeping the components keep.
func (f *factor) nodes(g *ir.Graph, keep []int, scale []float64, unique func(string) string) (*ir.Node, *ir.Node, error) {
	l := f.l
	nd := l.node
	name := nd.Name
	if name == "" {
		name = nd.Outputs[0]
	}
	k := len(keep)
	if k == 0 {
		return nil, nil, fmt.Errorf("compress: internal: layer %q with rank 0", name)
	}
	us, vs := f.pair(keep, scale)
	p := l.p
	n, c, kh, kw := p.OutC, p.InC, p.KH, p.KW
	mid := unique(name + "_lowrank")
	w1n, w2n := unique(name+"_lr1_w"), unique(name+"_lr2_w")
	n1 := &ir.Node{Name: name + "_lr1", OpType: nd.OpType, Domain: nd.Domain, Outputs: []string{mid}, Attrs: map[string]*ir.Attr{}}
	n2 := &ir.Node{Name: name + "_lr2", OpType: nd.OpType, Domain: nd.Domain, Outputs: append([]string(nil), nd.Outputs...), Attrs: map[string]*ir.Attr{}}
	var biasName string
	if l.bias != nil {
		biasName = unique(name + "_lr2_b")
		g.Initializers[biasName] = f32Tensor(append([]float32(nil), l.bias...), n)
	}
	switch {
	case l.kind == "Conv" && f.scheme == SchemeSpatial:
		w1 := make([]float32, k*c*kw) // K × C × 1 × kw
		w2 := make([]float32, n*k*kh) // N × K × kh × 1
		for j := 0; j < k; j++ {
			copy(w1[j*c*kw:(j+1)*c*kw], us[j]) // rows (c, x)
			for y := 0; y < kh; y++ {
				for o := 0; o < n; o++ {
					w2[(o*k+j)*kh+y] = vs[j][y*n+o] // cols (y, n)
				}
			}
		}
		g.Initializers[w1n] = f32Tensor(w1, k, c, 1, kw)
		g.Initializers[w2n] = f32Tensor(w2, n, k, kh, 1)
		n1.Attrs["kernel_shape"] = ints(1, kw)
		n1.Attrs["strides"] = ints(1, p.StrideW)
		n1.Attrs["pads"] = ints(0, p.PadLeft, 0, p.PadRight)
		n1.Attrs["dilations"] = ints(1, p.DilW)
		n2.Attrs["kernel_shape"] = ints(kh, 1)
		n2.Attrs["strides"] = ints(p.StrideH, 1)
		n2.Attrs["pads"] = ints(p.PadTop, 0, p.PadBottom, 0)
		n2.Attrs["dilations"] = ints(p.DilH, 1)
	case l.kind == "Conv":
		cols := c * kh * kw
		w1 := make([]float32, k*cols) // K × C × kh × kw
		w2 := make([]float32, n*k)    // N × K × 1 × 1
		for j := 0; j < k; j++ {
			copy(w1[j*cols:(j+1)*cols], vs[j])
			for o := 0; o < n; o++ {
				w2[o*k+j] = us[j][o]
			}
		}
		g.Initializers[w1n] = f32Tensor(w1, k, c, kh, kw)
		g.Initializers[w2n] = f32Tensor(w2, n, k, 1, 1)
		n1.Attrs["kernel_shape"] = ints(kh, kw)
		n1.Attrs["strides"] = ints(p.StrideH, p.StrideW)
		n1.Attrs["pads"] = ints(p.PadTop, p.PadLeft, p.PadBottom, p.PadRight)
		n1.Attrs["dilations"] = ints(p.DilH, p.DilW)
		n2.Attrs["kernel_shape"] = ints(1, 1)
	default: // Gemm / MatMul, canonical W is N×Kin
		w1 := make([]float32, k*c) // K × Kin
		w2 := make([]float32, n*k) // N × K
		for j := 0; j < k; j++ {
			copy(w1[j*c:(j+1)*c], vs[j])
			for o := 0; o < n; o++ {
				w2[o*k+j] = us[j][o]
			}
		}
		if l.kind == "MatMul" {
			g.Initializers[w1n] = f32Tensor(transpose(w1, k, c), c, k)
			g.Initializers[w2n] = f32Tensor(transpose(w2, n, k), k, n)
		} else {
			g.Initializers[w1n] = f32Tensor(w1, k, c)
			g.Initializers[w2n] = f32Tensor(w2, n, k)
			n1.Attrs["transB"] = &ir.Attr{Type: ir.AttrInt, I: 1}
			n2.Attrs["transB"] = &ir.Attr{Type: ir.AttrInt, I: 1}
		}
	}
	n1.Inputs = []string{nd.Inputs[0], w1n}
	n2.Inputs = []string{mid, w2n}
	if l.kind == "Gemm" && g.Opset < 11 {
		zn := unique(name + "_lr1_b")
		g.Initializers[zn] = f32Tensor(make([]float32, k), k)
		n1.Inputs = append(n1.Inputs, zn)
		if biasName == "" {
			biasName = unique(name + "_lr2_b")
			g.Initializers[biasName] = f32Tensor(make([]float32, n), n)
		}
	}
	if biasName != "" {
		n2.Inputs = append(n2.Inputs, biasName)
	}
	return n1, n2, nil
}

func transpose(a []float32, r, c int) []float32 {
	t := make([]float32, len(a))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			t[j*r+i] = a[i*c+j]
		}
	}
	return t
}

// writeAtomic encodes g and writes it to path through a temporary file
// in the same directory, renamed into place only when complete.
func writeAtomic(g *ir.Graph, path string) error {
	data, err := onnx.Encode(g)
	if err != nil {
		return fmt.Errorf("compress: encoding the compressed model: %v", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("compress: cannot write to %s: %v", dir, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("compress: writing %s: %v", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("compress: writing %s: %v", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("compress: writing %s: %v", path, err)
	}
	// CreateTemp makes the file private; give it the usual permissions.
	if err := os.Chmod(name, 0o644); err != nil {
		return fmt.Errorf("compress: writing %s: %v", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("compress: writing %s: %v", path, err)
	}
	ok = true
	return nil
}
