package ops

// Conformance cases of the ONNX backend test suite (Debian's
// libonnx-testdata), run node by node through the operator registry
// without the loader: initializers and integer graph inputs are given to
// Plan as Const (as constant folding would), float and bool inputs are
// not.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

const h3TestData = "/usr/share/libonnx-testdata/data"

// errH3Skip marks a case outside what this test can run (dtype, op, opset).
var errH3Skip = errors.New("skip")

// h3Weight converts an initializer or attribute tensor, turning float64
// and float16 into float32 as the importer does.
func h3Weight(tp *onnx.TensorProto) (*ir.Tensor, error) {
	dt := ir.DType(tp.GetDataType())
	if dt != ir.Float64 && dt != ir.Float16 {
		return h3Tensor(tp)
	}
	shape := make(ir.Shape, len(tp.GetDims()))
	for i, d := range tp.GetDims() {
		shape[i] = int(d)
	}
	t := ir.NewTensor(ir.Float32, shape)
	raw := tp.GetRawData()
	for i := range t.F32 {
		switch {
		case dt == ir.Float64 && len(raw) > 0:
			t.F32[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		case dt == ir.Float64:
			t.F32[i] = float32(tp.GetDoubleData()[i])
		case len(raw) > 0:
			t.F32[i] = h3Half(binary.LittleEndian.Uint16(raw[2*i:]))
		default:
			t.F32[i] = h3Half(uint16(tp.GetInt32Data()[i]))
		}
	}
	return t, nil
}

func h3Half(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0:
		v := float32(mant) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | mant<<13)
}

func h3Tensor(tp *onnx.TensorProto) (*ir.Tensor, error) {
	shape := make(ir.Shape, len(tp.GetDims()))
	for i, d := range tp.GetDims() {
		shape[i] = int(d)
	}
	dt := ir.DType(tp.GetDataType())
	if !dt.Supported() {
		return nil, fmt.Errorf("%w: tensor %q of dtype %v", errH3Skip, tp.GetName(), dt)
	}
	t := ir.NewTensor(dt, shape)
	n := shape.Size()
	raw := tp.GetRawData()
	if len(raw) > 0 && len(raw) != n*dt.Size() {
		return nil, fmt.Errorf("tensor %q: raw_data has %d bytes for %d elements", tp.GetName(), len(raw), n)
	}
	switch dt {
	case ir.Float32:
		if len(raw) > 0 {
			for i := range t.F32 {
				t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		} else {
			copy(t.F32, tp.GetFloatData())
		}
	case ir.Int64:
		if len(raw) > 0 {
			for i := range t.I64 {
				t.I64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		} else {
			copy(t.I64, tp.GetInt64Data())
		}
	case ir.Int32:
		if len(raw) > 0 {
			for i := range t.I32 {
				t.I32[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		} else {
			copy(t.I32, tp.GetInt32Data())
		}
	case ir.Bool:
		if len(raw) > 0 {
			for i := range t.Bool {
				t.Bool[i] = raw[i] != 0
			}
		} else {
			for i, v := range tp.GetInt32Data() {
				if i < n {
					t.Bool[i] = v != 0
				}
			}
		}
	}
	return t, nil
}

func h3Node(np *onnx.NodeProto) (*ir.Node, error) {
	n := &ir.Node{Name: np.GetName(), OpType: np.GetOpType(), Domain: np.GetDomain(),
		Inputs: np.GetInput(), Outputs: np.GetOutput(), Attrs: map[string]*ir.Attr{}}
	for _, a := range np.GetAttribute() {
		at := &ir.Attr{Type: ir.AttrType(a.GetType()), F: a.GetF(), I: a.GetI(), S: string(a.GetS()),
			Floats: a.GetFloats(), Ints: a.GetInts()}
		for _, s := range a.GetStrings() {
			at.Strings = append(at.Strings, string(s))
		}
		if a.GetT() != nil {
			t, err := h3Weight(a.GetT())
			if err != nil {
				return nil, err
			}
			at.T = t
		}
		n.Attrs[a.GetName()] = at
	}
	return n, nil
}

func h3ReadPB(path string) (*ir.Tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tp := &onnx.TensorProto{}
	if err := proto.Unmarshal(b, tp); err != nil {
		return nil, fmt.Errorf("%w: %s is not a TensorProto (%v)", errH3Skip, path, err)
	}
	return h3Tensor(tp)
}

func h3DataFiles(dir, prefix string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, prefix+"_*.pb"))
	num := func(s string) int {
		var k int
		fmt.Sscanf(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(s), prefix+"_"), ".pb"), "%d", &k)
		return k
	}
	sort.Slice(files, func(i, j int) bool { return num(files[i]) < num(files[j]) })
	return files
}

// h3RunCase runs one case directory; it returns an error wrapping
// errH3Skip when the case cannot be run here.
func h3RunCase(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return err
	}
	m := &onnx.ModelProto{}
	if err := proto.Unmarshal(b, m); err != nil {
		return err
	}
	opset := 0
	for _, o := range m.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			opset = int(o.GetVersion())
		}
	}
	g := m.GetGraph()
	var nodes []*ir.Node
	for _, np := range g.GetNode() {
		n, err := h3Node(np)
		if err != nil {
			return err
		}
		if _, ok := Lookup(n.OpType); !ok {
			return fmt.Errorf("%w: op %s not registered", errH3Skip, n.OpType)
		}
		nodes = append(nodes, n)
	}
	vals := map[string]Value{}
	data := map[string]*ir.Tensor{}
	for _, init := range g.GetInitializer() {
		t, err := h3Weight(init)
		if err != nil {
			return err
		}
		vals[init.GetName()] = Value{DType: t.DType, Shape: t.Shape, Const: t}
		data[init.GetName()] = t
	}
	set := filepath.Join(dir, "test_data_set_0")
	var inNames []string
	for _, vi := range g.GetInput() {
		if vi.GetType().GetTensorType() == nil {
			return fmt.Errorf("%w: input %q is not a tensor", errH3Skip, vi.GetName())
		}
		if _, isInit := vals[vi.GetName()]; !isInit {
			inNames = append(inNames, vi.GetName())
		}
	}
	inFiles := h3DataFiles(set, "input")
	if len(inFiles) != len(inNames) {
		return fmt.Errorf("%w: %d input files for %d inputs", errH3Skip, len(inFiles), len(inNames))
	}
	for i, f := range inFiles {
		t, err := h3ReadPB(f)
		if err != nil {
			return err
		}
		v := Value{DType: t.DType, Shape: t.Shape}
		if t.DType == ir.Int64 || t.DType == ir.Int32 {
			v.Const = t
		}
		vals[inNames[i]] = v
		data[inNames[i]] = t
	}
	env := &Env{Kernels: kernels.Config{}, Opset: opset}
	pool := kernels.NewPool(2)
	defer pool.Close()
	ctx := &Ctx{Pool: pool, Scratch: func(n int) []float32 { return make([]float32, n) }}
	for _, n := range nodes {
		op, err := New(n, opset)
		if err != nil {
			if errors.Is(err, ErrUnsupported) {
				return fmt.Errorf("%w: %v", errH3Skip, err)
			}
			return err
		}
		in := make([]Value, len(n.Inputs))
		tin := make([]*ir.Tensor, len(n.Inputs))
		for i, name := range n.Inputs {
			if name == "" {
				continue
			}
			v, ok := vals[name]
			if !ok {
				return fmt.Errorf("node %q: input %q undefined", n.Name, name)
			}
			in[i], tin[i] = v, data[name]
		}
		outs, err := op.Plan(env, in)
		if err != nil {
			if errors.Is(err, ErrUnsupported) {
				return fmt.Errorf("%w: %v", errH3Skip, err)
			}
			return fmt.Errorf("plan: %w", err)
		}
		if len(outs) < len(n.Outputs) {
			return fmt.Errorf("node %q: Plan returned %d outputs for %d", n.Name, len(outs), len(n.Outputs))
		}
		tout := make([]*ir.Tensor, len(outs))
		for i, o := range outs {
			if !o.DType.Supported() {
				return fmt.Errorf("%w: output dtype %v", errH3Skip, o.DType)
			}
			tout[i] = ir.NewTensor(o.DType, o.Shape)
		}
		if err := op.Run(ctx, tin, tout); err != nil {
			if errors.Is(err, ErrUnsupported) {
				return fmt.Errorf("%w: run: %v", errH3Skip, err)
			}
			return fmt.Errorf("run: %w", err)
		}
		for i, name := range n.Outputs {
			if name == "" {
				continue
			}
			if c := outs[i].Const; c != nil {
				if err := h3Compare(c, tout[i]); err != nil {
					return fmt.Errorf("node %q output %d: Plan's Const and Run disagree: %v", n.Name, i, err)
				}
			}
			vals[name] = Value{DType: outs[i].DType, Shape: outs[i].Shape, Const: outs[i].Const}
			data[name] = tout[i]
		}
	}
	outFiles := h3DataFiles(set, "output")
	if len(outFiles) != len(g.GetOutput()) {
		return fmt.Errorf("%w: %d output files for %d outputs", errH3Skip, len(outFiles), len(g.GetOutput()))
	}
	for i, f := range outFiles {
		want, err := h3ReadPB(f)
		if err != nil {
			return err
		}
		got := data[g.GetOutput()[i].GetName()]
		if got == nil {
			return fmt.Errorf("output %q not computed", g.GetOutput()[i].GetName())
		}
		if err := h3Compare(want, got); err != nil {
			return fmt.Errorf("output %q: %v", g.GetOutput()[i].GetName(), err)
		}
	}
	return nil
}

// h3Compare checks got against want with rtol 1e-3, atol 1e-5 (exact for
// integers and bools); NaN must match NaN.
func h3Compare(want, got *ir.Tensor) error {
	if want.DType != got.DType {
		return fmt.Errorf("dtype %v, want %v", got.DType, want.DType)
	}
	if !want.Shape.Equal(got.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	for i := 0; i < want.Len(); i++ {
		switch want.DType {
		case ir.Float32:
			w, g := float64(want.F32[i]), float64(got.F32[i])
			if math.IsNaN(w) || math.IsNaN(g) {
				if math.IsNaN(w) != math.IsNaN(g) {
					return fmt.Errorf("[%d] = %g, want %g", i, g, w)
				}
				continue
			}
			if w == g {
				continue
			}
			if math.Abs(w-g) > 1e-5+1e-3*math.Abs(w) {
				return fmt.Errorf("[%d] = %g, want %g", i, g, w)
			}
		case ir.Int64:
			if want.I64[i] != got.I64[i] {
				return fmt.Errorf("[%d] = %d, want %d", i, got.I64[i], want.I64[i])
			}
		case ir.Int32:
			if want.I32[i] != got.I32[i] {
				return fmt.Errorf("[%d] = %d, want %d", i, got.I32[i], want.I32[i])
			}
		case ir.Bool:
			if want.Bool[i] != got.Bool[i] {
				return fmt.Errorf("[%d] = %v, want %v", i, got.Bool[i], want.Bool[i])
			}
		}
	}
	return nil
}

// h3Ops are the operator types this file's owner implements; cases whose
// nodes include one of them are counted in TestConformanceH3.
var h3Ops = map[string]bool{
	"Relu": true, "Clip": true, "LeakyRelu": true, "Sigmoid": true, "Tanh": true, "Softmax": true,
	"Add": true, "Mul": true, "Sub": true, "Div": true, "Sum": true, "Concat": true, "Flatten": true,
	"Reshape": true, "Squeeze": true, "Unsqueeze": true, "Transpose": true, "Pad": true,
	"Constant": true, "ConstantOfShape": true, "Shape": true, "Gather": true, "Slice": true,
	"Cast": true, "Identity": true, "Dropout": true,
}

func h3CaseOps(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nil
	}
	m := &onnx.ModelProto{}
	if proto.Unmarshal(b, m) != nil {
		return nil
	}
	var ops []string
	for _, n := range m.GetGraph().GetNode() {
		ops = append(ops, n.GetOpType())
	}
	return ops
}

// h3ExpectedSkip reports whether a skip has one of the reasons the issue
// accepts: element types edge does not execute, non-tensor inputs,
// operators outside the list, op versions before opset 7 that ONNX
// Runtime rejects too, and random (training) dropout. Any other
// ErrUnsupported is a failure.
func h3ExpectedSkip(err error) bool {
	for _, reason := range []string{
		"of dtype", "is not a tensor", "not registered", "predates the supported versions",
		"(Cast): cast to", "random dropout is not supported",
	} {
		if strings.Contains(err.Error(), reason) {
			return true
		}
	}
	return false
}

// TestConformanceOps runs, per operator group, every conformance case
// whose nodes use at least one operator of the group (through h3RunCase:
// float inputs, including the weights of the node/ cases, are not
// constants there, initializers are). A skip must have a reason the group
// accepts; minCases is the number of runnable cases in Debian's
// libonnx-testdata 1.12 (0: not counted).
func TestConformanceOps(t *testing.T) {
	if _, err := os.Stat(h3TestData); err != nil {
		t.Skipf("ONNX test data not installed: %v", err)
	}
	var dirs []string
	for _, sub := range []string{"node", "pytorch-converted", "pytorch-operator"} {
		d, _ := filepath.Glob(filepath.Join(h3TestData, sub, "test_*"))
		dirs = append(dirs, d...)
	}
	for _, g := range []struct {
		name     string
		ops      map[string]bool
		skipOK   func(error) bool
		minCases int
	}{
		{"compute", h2Ops, h2ExpectedSkip, 94},
		{"tensor", h3Ops, h3ExpectedSkip, 0},
	} {
		t.Run(g.name, func(t *testing.T) {
			passed, failed, skipped := 0, 0, 0
			for _, dir := range dirs {
				mine := false
				for _, op := range h3CaseOps(dir) {
					mine = mine || g.ops[op]
				}
				if !mine {
					continue
				}
				name := filepath.Base(filepath.Dir(dir)) + "/" + filepath.Base(dir)
				t.Run(name, func(t *testing.T) {
					err := h3RunCase(dir)
					switch {
					case err == nil:
						passed++
					case errors.Is(err, errH3Skip) && g.skipOK(err):
						skipped++
						t.Skip(err)
					default:
						failed++
						t.Error(err)
					}
				})
			}
			t.Logf("conformance (cases using the %s ops): %d passed, %d failed, %d skipped", g.name, passed, failed, skipped)
			if passed < g.minCases {
				t.Errorf("%d cases passed; Debian's libonnx-testdata 1.12 has %d runnable cases using these ops", passed, g.minCases)
			}
		})
	}
}
