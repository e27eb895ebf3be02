package onnx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/edgeml/edge/runtime/ir"
)

// ErrInvalid is wrapped by every error about a malformed file.
var ErrInvalid = errors.New("onnx: not a valid ONNX model")

// ErrUnsupportedType is wrapped when a tensor has an element type edge
// cannot hold (anything but float32, float16, float64, int64, int32, bool).
var ErrUnsupportedType = errors.New("onnx: unsupported element type")

// ErrExternalData is wrapped when a tensor's data lives in an external file
// that cannot be read.
var ErrExternalData = errors.New("onnx: external tensor data")

// Supported IR versions.
const (
	MinIRVersion = 3
	MaxIRVersion = 10
)

// maxElements bounds the element count of one tensor (2^34, 64 GiB of
// float32): larger dimensions are certainly corrupt.
const maxElements = 1 << 34

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Decode parses an ONNX ModelProto. Tensors with external data are an
// error; use DecodeFile for such models.
func Decode(data []byte) (*ir.Graph, error) {
	return decodeStream(bytes.NewReader(data), int64(len(data)), "", func() ([]byte, error) { return data, nil })
}

// DecodeFile reads and parses the model at path; tensors stored in
// external files are read relative to the model's directory.
func DecodeFile(path string) (*ir.Graph, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	g, err := decodeStream(f, st.Size(), filepath.Dir(path), func() ([]byte, error) { return os.ReadFile(path) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// DecodeAt parses the model of size bytes read through r, as DecodeFile
// does for a file in directory dir (where external tensor data is looked
// up; "" refuses external data). Only the skeleton of the model and one
// tensor at a time are held in memory besides the graph.
func DecodeAt(r io.ReaderAt, size int64, dir string) (*ir.Graph, error) {
	return decodeStream(r, size, dir, func() ([]byte, error) {
		buf := make([]byte, size)
		if _, err := r.ReadAt(buf, 0); err != nil && err != io.EOF {
			return nil, err
		}
		return buf, nil
	})
}

// decodeStream decodes the model read through r (size bytes) from a
// skeleton without the initializers' raw_data, which is then read straight
// into the tensors (stream.go). When the walk or the skeleton fails, the
// whole model from full is decoded instead, for the same errors.
func decodeStream(r io.ReaderAt, size int64, dir string, full func() ([]byte, error)) (*ir.Graph, error) {
	if size > 0 {
		if skel, spans, err := skeleton(r, size); err == nil {
			var m pb.ModelProto
			if err := proto.Unmarshal(skel, &m); err == nil && len(m.GetGraph().GetInitializer()) == len(spans) {
				return build(&m, dir, func(i int) *rawSource {
					if !spans[i].ok {
						return nil
					}
					return &rawSource{r: r, span: spans[i]}
				})
			}
		}
	}
	data, err := full()
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return decode(data, dir)
}

func decode(data []byte, dir string) (*ir.Graph, error) {
	if len(data) == 0 {
		return nil, invalid("the file is empty")
	}
	var m pb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, invalid("protobuf decoding failed (corrupt or truncated file?): %v", err)
	}
	return build(&m, dir, func(int) *rawSource { return nil })
}

// build converts a parsed model; raw returns the source of initializer
// i's raw_data when it was left out of m (nil: use the message's).
func build(m *pb.ModelProto, dir string, raw func(i int) *rawSource) (*ir.Graph, error) {
	if m.IrVersion == 0 && m.Graph == nil {
		return nil, invalid("no ir_version and no graph (is this an ONNX file?)")
	}
	if m.IrVersion < MinIRVersion {
		return nil, invalid("ir_version %d predates IR %d; re-export the model with a newer exporter", m.IrVersion, MinIRVersion)
	}
	if m.IrVersion > MaxIRVersion {
		return nil, fmt.Errorf("%w: ir_version %d is newer than the supported IR %d–%d; re-export with an older ir_version", ErrInvalid, m.IrVersion, MinIRVersion, MaxIRVersion)
	}
	if m.Graph == nil {
		return nil, invalid("the model has no graph")
	}
	g := &ir.Graph{
		Name:         m.Graph.GetName(),
		IRVersion:    m.IrVersion,
		Producer:     m.ProducerName,
		Initializers: map[string]*ir.Tensor{},
		Metadata:     map[string]string{},
	}
	found := false
	for _, o := range m.OpsetImport {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			g.Opset = int(o.GetVersion())
			found = true
		}
	}
	if !found {
		if len(m.OpsetImport) == 0 {
			return nil, invalid("the model imports no opset")
		}
		// Only custom domains: nodes of the default domain cannot occur.
		g.Opset = 0
	}
	for _, p := range m.MetadataProps {
		g.Metadata[p.GetKey()] = p.GetValue()
	}
	for i, tp := range m.Graph.Initializer {
		name := tp.GetName()
		if name == "" {
			return nil, invalid("initializer %d has no name", i)
		}
		t, err := tensorFromProto(tp, dir, raw(i))
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", name, err)
		}
		g.Initializers[name] = t
	}
	if len(m.Graph.SparseInitializer) > 0 {
		return nil, fmt.Errorf("%w: sparse initializers (%q) are not supported; densify the model", ErrUnsupportedType, m.Graph.SparseInitializer[0].GetValues().GetName())
	}
	for _, vi := range m.Graph.Input {
		if _, isInit := g.Initializers[vi.GetName()]; isInit {
			continue
		}
		v, err := valueInfo(vi)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		g.Inputs = append(g.Inputs, v)
	}
	for _, vi := range m.Graph.Output {
		v, err := valueInfo(vi)
		if err != nil {
			return nil, fmt.Errorf("output: %w", err)
		}
		g.Outputs = append(g.Outputs, v)
	}
	if len(g.Outputs) == 0 {
		return nil, invalid("the graph has no outputs")
	}
	names := map[string]bool{}
	for _, np := range m.Graph.Node {
		if np.GetName() != "" {
			names[np.GetName()] = true
		}
	}
	for i, np := range m.Graph.Node {
		n, err := nodeFromProto(np, dir)
		if err != nil {
			return nil, err
		}
		if n.Name == "" {
			base := n.OpType + "_" + strconv.Itoa(i)
			name := base
			for k := 1; names[name]; k++ {
				name = base + "_" + strconv.Itoa(k)
			}
			names[name] = true
			n.Name = name
		}
		g.Nodes = append(g.Nodes, n)
	}
	return g, nil
}

func valueInfo(vi *pb.ValueInfoProto) (ir.ValueInfo, error) {
	v := ir.ValueInfo{Name: vi.GetName()}
	if v.Name == "" {
		return v, invalid("a graph input or output has no name")
	}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		if vi.GetType() != nil && vi.GetType().GetValue() != nil {
			return v, fmt.Errorf("%w: %q is not a tensor (sequence, map or optional values are not supported)", ErrUnsupportedType, v.Name)
		}
		// No type information: the runtime infers it.
		return v, nil
	}
	v.DType = ir.DType(tt.GetElemType())
	if sh := tt.GetShape(); sh != nil {
		v.Shape = make([]int, len(sh.Dim))
		v.DimNames = make([]string, len(sh.Dim))
		named := false
		for i, d := range sh.Dim {
			switch x := d.GetValue().(type) {
			case *pb.TensorShapeProto_Dimension_DimValue:
				if x.DimValue < 0 || x.DimValue > maxElements {
					return v, invalid("%q has dimension %d = %d", v.Name, i, x.DimValue)
				}
				v.Shape[i] = int(x.DimValue)
			case *pb.TensorShapeProto_Dimension_DimParam:
				v.Shape[i] = -1
				v.DimNames[i] = x.DimParam
				named = true
			default:
				v.Shape[i] = -1
			}
		}
		if !named {
			v.DimNames = nil
		}
	} else {
		v.Shape = nil
	}
	return v, nil
}

func nodeFromProto(np *pb.NodeProto, dir string) (*ir.Node, error) {
	n := &ir.Node{
		Name:    np.GetName(),
		OpType:  np.GetOpType(),
		Domain:  np.GetDomain(),
		Inputs:  append([]string(nil), np.GetInput()...),
		Outputs: append([]string(nil), np.GetOutput()...),
		Attrs:   map[string]*ir.Attr{},
	}
	if n.OpType == "" {
		return nil, invalid("node %q has no op_type", n.Name)
	}
	for _, ap := range np.Attribute {
		a, err := attrFromProto(ap, dir)
		if err != nil {
			return nil, fmt.Errorf("node %q (%s): attribute %q: %w", n.Name, n.OpType, ap.GetName(), err)
		}
		n.Attrs[ap.GetName()] = a
	}
	return n, nil
}

func attrFromProto(ap *pb.AttributeProto, dir string) (*ir.Attr, error) {
	if ap.GetName() == "" {
		return nil, invalid("an attribute has no name")
	}
	typ := ap.GetType()
	if typ == pb.AttributeProto_UNDEFINED {
		typ = inferAttrType(ap)
	}
	a := &ir.Attr{Type: ir.AttrType(typ)}
	switch typ {
	case pb.AttributeProto_FLOAT:
		a.F = ap.F
	case pb.AttributeProto_INT:
		a.I = ap.I
	case pb.AttributeProto_STRING:
		a.S = string(ap.S)
	case pb.AttributeProto_TENSOR:
		if ap.T == nil {
			return nil, invalid("TENSOR attribute without a tensor")
		}
		t, err := tensorFromProto(ap.T, dir, nil)
		if err != nil {
			return nil, err
		}
		a.T = t
	case pb.AttributeProto_FLOATS:
		a.Floats = append([]float32{}, ap.Floats...)
	case pb.AttributeProto_INTS:
		a.Ints = append([]int64{}, ap.Ints...)
	case pb.AttributeProto_STRINGS:
		a.Strings = make([]string, len(ap.Strings))
		for i, s := range ap.Strings {
			a.Strings[i] = string(s)
		}
	case pb.AttributeProto_GRAPH, pb.AttributeProto_GRAPHS, pb.AttributeProto_TENSORS,
		pb.AttributeProto_SPARSE_TENSOR, pb.AttributeProto_SPARSE_TENSORS,
		pb.AttributeProto_TYPE_PROTO, pb.AttributeProto_TYPE_PROTOS:
		// Kind only: see the package documentation.
	default:
		return nil, invalid("unknown attribute type %d", int32(typ))
	}
	return a, nil
}

// inferAttrType guesses the kind of an attribute written without a type
// (allowed before IR 3 by some exporters).
func inferAttrType(ap *pb.AttributeProto) pb.AttributeProto_AttributeType {
	switch {
	case ap.T != nil:
		return pb.AttributeProto_TENSOR
	case ap.G != nil:
		return pb.AttributeProto_GRAPH
	case len(ap.Floats) > 0:
		return pb.AttributeProto_FLOATS
	case len(ap.Ints) > 0:
		return pb.AttributeProto_INTS
	case len(ap.Strings) > 0:
		return pb.AttributeProto_STRINGS
	case ap.S != nil:
		return pb.AttributeProto_STRING
	case ap.F != 0:
		return pb.AttributeProto_FLOAT
	}
	return pb.AttributeProto_INT
}

// DecodeTensor parses a serialized TensorProto (the input_N.pb and
// output_N.pb files of ONNX test cases) and returns it with its name.
func DecodeTensor(data []byte) (*ir.Tensor, string, error) {
	var tp pb.TensorProto
	if err := proto.Unmarshal(data, &tp); err != nil {
		return nil, "", fmt.Errorf("%w: not a valid TensorProto: %v", ErrInvalid, err)
	}
	t, err := tensorFromProto(&tp, "", nil)
	if err != nil {
		return nil, tp.GetName(), err
	}
	return t, tp.GetName(), nil
}

// TensorDType returns the element type a serialized TensorProto declares,
// without decoding its data.
func TensorDType(data []byte) (ir.DType, error) {
	var tp pb.TensorProto
	if err := proto.Unmarshal(data, &tp); err != nil {
		return 0, fmt.Errorf("%w: not a valid TensorProto: %v", ErrInvalid, err)
	}
	return ir.DType(tp.DataType), nil
}

// tensorFromProto converts a TensorProto; src, when not nil, reads the
// raw_data left out of tp by the streaming decode.
func tensorFromProto(tp *pb.TensorProto, dir string, src *rawSource) (*ir.Tensor, error) {
	shape := make(ir.Shape, len(tp.Dims))
	n := int64(1)
	for i, d := range tp.Dims {
		if d < 0 {
			return nil, invalid("tensor %q has negative dimension %d", tp.GetName(), d)
		}
		if d > 0 && n > maxElements/d {
			return nil, invalid("tensor %q is too large (dimensions %v)", tp.GetName(), tp.Dims)
		}
		n *= d
		shape[i] = int(d)
	}
	count := int(n)
	dt := ir.DType(tp.DataType)
	raw := tp.RawData
	if tp.DataLocation == pb.TensorProto_EXTERNAL {
		var err error
		raw, err = readExternal(tp, dir)
		if err != nil {
			return nil, err
		}
	}
	switch dt {
	case ir.Float32, ir.Int64, ir.Int32, ir.Bool, ir.Float16, ir.Float64:
	case ir.Undefined:
		return nil, invalid("tensor %q has no data_type", tp.GetName())
	default:
		return nil, fmt.Errorf("%w: tensor %q has element type %v; edge runs float32, int64, int32 and bool (float16/float64 weights are converted)", ErrUnsupportedType, tp.GetName(), dt)
	}
	if src != nil && tp.DataLocation != pb.TensorProto_EXTERNAL {
		if dt == ir.Float32 {
			if want := 4 * int64(count); src.span.n != want {
				return nil, invalid("tensor %q of %v %v has %d bytes of raw_data, want %d", tp.GetName(), dt, shape, src.span.n, want)
			}
			return streamFloat32(shape, count, src)
		}
		if want := int64(count) * int64(dt.Size()); src.span.n != want {
			return nil, invalid("tensor %q of %v %v has %d bytes of raw_data, want %d", tp.GetName(), dt, shape, src.span.n, want)
		}
		var err error
		if raw, err = src.bytes(); err != nil {
			return nil, err
		}
	}
	out := &ir.Tensor{Shape: shape}
	if raw != nil || tp.DataLocation == pb.TensorProto_EXTERNAL {
		if want := count * dt.Size(); len(raw) != want {
			return nil, invalid("tensor %q of %v %v has %d bytes of raw_data, want %d", tp.GetName(), dt, shape, len(raw), want)
		}
		switch dt {
		case ir.Float32:
			out.DType, out.F32 = ir.Float32, make([]float32, count)
			for i := range out.F32 {
				out.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case ir.Float16:
			out.DType, out.F32 = ir.Float32, make([]float32, count)
			for i := range out.F32 {
				out.F32[i] = HalfToFloat(binary.LittleEndian.Uint16(raw[2*i:]))
			}
		case ir.Float64:
			out.DType, out.F32 = ir.Float32, make([]float32, count)
			for i := range out.F32 {
				out.F32[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
			}
		case ir.Int64:
			out.DType, out.I64 = ir.Int64, make([]int64, count)
			for i := range out.I64 {
				out.I64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		case ir.Int32:
			out.DType, out.I32 = ir.Int32, make([]int32, count)
			for i := range out.I32 {
				out.I32[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case ir.Bool:
			out.DType, out.Bool = ir.Bool, make([]bool, count)
			for i := range out.Bool {
				out.Bool[i] = raw[i] != 0
			}
		}
		return out, nil
	}
	var have int
	switch dt {
	case ir.Float32:
		have = len(tp.FloatData)
	case ir.Float64:
		have = len(tp.DoubleData)
	case ir.Int64:
		have = len(tp.Int64Data)
	default: // Int32, Bool, Float16 live in int32_data
		have = len(tp.Int32Data)
	}
	if have != count {
		return nil, invalid("tensor %q of %v %v has %d elements of data, want %d", tp.GetName(), dt, shape, have, count)
	}
	switch dt {
	case ir.Float32:
		out.DType, out.F32 = ir.Float32, append(make([]float32, 0, count), tp.FloatData...)
	case ir.Float64:
		out.DType, out.F32 = ir.Float32, make([]float32, count)
		for i, v := range tp.DoubleData {
			out.F32[i] = float32(v)
		}
	case ir.Float16:
		out.DType, out.F32 = ir.Float32, make([]float32, count)
		for i, v := range tp.Int32Data {
			out.F32[i] = HalfToFloat(uint16(v))
		}
	case ir.Int64:
		out.DType, out.I64 = ir.Int64, append(make([]int64, 0, count), tp.Int64Data...)
	case ir.Int32:
		out.DType, out.I32 = ir.Int32, append(make([]int32, 0, count), tp.Int32Data...)
	case ir.Bool:
		out.DType, out.Bool = ir.Bool, make([]bool, count)
		for i, v := range tp.Int32Data {
			out.Bool[i] = v != 0
		}
	}
	return out, nil
}

// readExternal reads the bytes of a tensor stored outside the model file.
func readExternal(tp *pb.TensorProto, dir string) ([]byte, error) {
	var location string
	offset, length := int64(0), int64(-1)
	for _, kv := range tp.ExternalData {
		switch kv.GetKey() {
		case "location":
			location = kv.GetValue()
		case "offset":
			v, err := strconv.ParseInt(kv.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return nil, invalid("tensor %q: bad external data offset %q", tp.GetName(), kv.GetValue())
			}
			offset = v
		case "length":
			v, err := strconv.ParseInt(kv.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return nil, invalid("tensor %q: bad external data length %q", tp.GetName(), kv.GetValue())
			}
			length = v
		}
	}
	if location == "" {
		return nil, invalid("tensor %q is external but names no location", tp.GetName())
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: tensor %q is stored in the external file %q; load the model from its file (runtime.Load / onnx.DecodeFile) so the data can be found next to it", ErrExternalData, tp.GetName(), location)
	}
	clean := filepath.Clean(filepath.FromSlash(location))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("%w: tensor %q: location %q must be a relative path inside the model's directory", ErrExternalData, tp.GetName(), location)
	}
	f, err := os.Open(filepath.Join(dir, clean))
	if err != nil {
		return nil, fmt.Errorf("%w: tensor %q: %v", ErrExternalData, tp.GetName(), err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: tensor %q: %v", ErrExternalData, tp.GetName(), err)
	}
	if length < 0 {
		length = st.Size() - offset
	}
	if offset+length > st.Size() || length < 0 {
		return nil, fmt.Errorf("%w: tensor %q: %s has %d bytes, the tensor needs bytes %d–%d", ErrExternalData, tp.GetName(), location, st.Size(), offset, offset+length)
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, offset); err != nil && err != io.EOF {
		return nil, fmt.Errorf("%w: tensor %q: %v", ErrExternalData, tp.GetName(), err)
	}
	return buf, nil
}

// HalfToFloat converts IEEE 754 binary16 bits to float32.
func HalfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value = mant · 2^-24.
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	case 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}
