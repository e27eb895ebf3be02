package onnx

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/edgeml/edge/runtime/ir"
)

const fixture = "../testdata/fmnist-small.onnx"

func TestDecodeFixture(t *testing.T) {
	g, err := DecodeFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if g.IRVersion != 7 || g.Opset != 13 || g.Producer != "pytorch" {
		t.Errorf("IR %d opset %d producer %q, want 7, 13, pytorch", g.IRVersion, g.Opset, g.Producer)
	}
	if len(g.Nodes) != 14 {
		t.Errorf("%d nodes, want 14", len(g.Nodes))
	}
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "input" || !reflect.DeepEqual(g.Inputs[0].Shape, []int{-1, 1, 28, 28}) || g.Inputs[0].DimNames[0] != "N" || g.Inputs[0].DType != ir.Float32 {
		t.Errorf("inputs %+v", g.Inputs)
	}
	if len(g.Outputs) != 1 || g.Outputs[0].Name != "logits" || !reflect.DeepEqual(g.Outputs[0].Shape, []int{-1, 10}) {
		t.Errorf("outputs %+v", g.Outputs)
	}
	var params int
	for _, w := range g.Initializers {
		params += w.Len()
	}
	if params != 467818 {
		t.Errorf("%d parameters, want 467818 (MODELS.md)", params)
	}
	if !strings.HasPrefix(g.Metadata["labels"], "T-shirt/top,Trouser") || g.Metadata["preprocess.layout"] != "NCHW" {
		t.Errorf("metadata %v", g.Metadata)
	}
	conv := g.Nodes[0]
	if conv.OpType != "Conv" || !reflect.DeepEqual(conv.AttrInts("kernel_shape"), []int64{3, 3}) {
		t.Errorf("first node %+v", conv)
	}
}

func TestRoundTrip(t *testing.T) {
	paths := []string{fixture}
	for _, c := range []string{"node/test_conv_with_strides_padding", "node/test_constant", "node/test_cast_FLOAT_to_FLOAT16", "pytorch-converted/test_AvgPool2d", "node/test_clip_default_inbounds"} {
		p := filepath.Join("/usr/share/libonnx-testdata/data", c, "model.onnx")
		if _, err := os.Stat(p); err == nil {
			paths = append(paths, p)
		}
	}
	for _, p := range paths {
		t.Run(filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p), func(t *testing.T) {
			g, err := DecodeFile(p)
			if err != nil {
				if errors.Is(err, ErrUnsupportedType) {
					t.Skip(err)
				}
				t.Fatal(err)
			}
			data, err := Encode(g)
			if err != nil {
				t.Fatal(err)
			}
			g2, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, g2) {
				t.Errorf("round trip differs:\n%+v\n%+v", g, g2)
			}
		})
	}
}

func le32(v []uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func TestTensorEncodings(t *testing.T) {
	half := []uint16{0x3c00, 0xc000, 0x0001, 0x7c00, 0x3555} // 1, -2, 2^-24, +Inf, 0.33325195
	halfWant := []float32{1, -2, float32(math.Ldexp(1, -24)), float32(math.Inf(1)), 0.33325195}
	halfRaw := make([]byte, 2*len(half))
	halfI32 := make([]int32, len(half))
	for i, h := range half {
		binary.LittleEndian.PutUint16(halfRaw[2*i:], h)
		halfI32[i] = int32(h)
	}
	f64Raw := make([]byte, 16)
	binary.LittleEndian.PutUint64(f64Raw, math.Float64bits(1.5))
	binary.LittleEndian.PutUint64(f64Raw[8:], math.Float64bits(-3.25))
	i64Raw := make([]byte, 16)
	binary.LittleEndian.PutUint64(i64Raw, uint64(1<<40))
	binary.LittleEndian.PutUint64(i64Raw[8:], uint64(0xffffffffffffffff))
	tests := []struct {
		name string
		tp   *pb.TensorProto
		want *ir.Tensor
		err  error
	}{
		{"f32-raw", &pb.TensorProto{DataType: 1, Dims: []int64{2}, RawData: le32([]uint32{math.Float32bits(1.25), math.Float32bits(-7)})}, &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{2}, F32: []float32{1.25, -7}}, nil},
		{"f32-typed", &pb.TensorProto{DataType: 1, Dims: []int64{1, 2}, FloatData: []float32{3, 4}}, &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{1, 2}, F32: []float32{3, 4}}, nil},
		{"f16-raw", &pb.TensorProto{DataType: 10, Dims: []int64{5}, RawData: halfRaw}, &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{5}, F32: halfWant}, nil},
		{"f16-int32_data", &pb.TensorProto{DataType: 10, Dims: []int64{5}, Int32Data: halfI32}, &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{5}, F32: halfWant}, nil},
		{"f64-raw", &pb.TensorProto{DataType: 11, Dims: []int64{2}, RawData: f64Raw}, &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{2}, F32: []float32{1.5, -3.25}}, nil},
		{"f64-typed", &pb.TensorProto{DataType: 11, Dims: []int64{2}, DoubleData: []float64{1.5, -3.25}}, &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{2}, F32: []float32{1.5, -3.25}}, nil},
		{"i64-raw", &pb.TensorProto{DataType: 7, Dims: []int64{2}, RawData: i64Raw}, &ir.Tensor{DType: ir.Int64, Shape: ir.Shape{2}, I64: []int64{1 << 40, -1}}, nil},
		{"i64-typed-scalar", &pb.TensorProto{DataType: 7, Int64Data: []int64{-5}}, &ir.Tensor{DType: ir.Int64, Shape: ir.Shape{}, I64: []int64{-5}}, nil},
		{"i32-raw", &pb.TensorProto{DataType: 6, Dims: []int64{1}, RawData: le32([]uint32{0xfffffffe})}, &ir.Tensor{DType: ir.Int32, Shape: ir.Shape{1}, I32: []int32{-2}}, nil},
		{"i32-typed", &pb.TensorProto{DataType: 6, Dims: []int64{2}, Int32Data: []int32{7, -8}}, &ir.Tensor{DType: ir.Int32, Shape: ir.Shape{2}, I32: []int32{7, -8}}, nil},
		{"bool-raw", &pb.TensorProto{DataType: 9, Dims: []int64{3}, RawData: []byte{1, 0, 1}}, &ir.Tensor{DType: ir.Bool, Shape: ir.Shape{3}, Bool: []bool{true, false, true}}, nil},
		{"bool-int32_data", &pb.TensorProto{DataType: 9, Dims: []int64{3}, Int32Data: []int32{0, 1, 1}}, &ir.Tensor{DType: ir.Bool, Shape: ir.Shape{3}, Bool: []bool{false, true, true}}, nil},
		{"empty", &pb.TensorProto{DataType: 1, Dims: []int64{0, 3}}, &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{0, 3}, F32: []float32{}}, nil},
		{"short-raw", &pb.TensorProto{DataType: 1, Dims: []int64{3}, RawData: make([]byte, 8)}, nil, ErrInvalid},
		{"short-typed", &pb.TensorProto{DataType: 7, Dims: []int64{3}, Int64Data: []int64{1}}, nil, ErrInvalid},
		{"negative-dim", &pb.TensorProto{DataType: 1, Dims: []int64{-1}}, nil, ErrInvalid},
		{"huge-dims", &pb.TensorProto{DataType: 1, Dims: []int64{1 << 30, 1 << 30}}, nil, ErrInvalid},
		{"no-type", &pb.TensorProto{Dims: []int64{1}}, nil, ErrInvalid},
		{"uint8", &pb.TensorProto{DataType: 2, Dims: []int64{1}, Int32Data: []int32{3}}, nil, ErrUnsupportedType},
		{"string", &pb.TensorProto{DataType: 8, Dims: []int64{1}, StringData: [][]byte{[]byte("a")}}, nil, ErrUnsupportedType},
		{"external-without-dir", &pb.TensorProto{DataType: 1, Dims: []int64{1}, DataLocation: pb.TensorProto_EXTERNAL, ExternalData: []*pb.StringStringEntryProto{{Key: "location", Value: "w.bin"}}}, nil, ErrExternalData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.tp.Name = "t"
			data, err := proto.Marshal(tc.tp)
			if err != nil {
				t.Fatal(err)
			}
			got, name, err := DecodeTensor(data)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if name != "t" {
				t.Errorf("name %q", name)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHalfToFloatExhaustive(t *testing.T) {
	// Every finite half is exactly representable in float32; check the
	// value against the definition (-1)^s · 2^(e-15) · (1 + m/1024).
	for h := 0; h < 1<<16; h++ {
		s, e, m := h>>15, (h>>10)&0x1f, h&0x3ff
		got := HalfToFloat(uint16(h))
		var want float64
		switch {
		case e == 0x1f && m != 0:
			if !math.IsNaN(float64(got)) {
				t.Fatalf("%#04x: %v, want NaN", h, got)
			}
			continue
		case e == 0x1f:
			want = math.Inf(1)
		case e == 0:
			want = math.Ldexp(float64(m), -24)
		default:
			want = math.Ldexp(1+float64(m)/1024, e-15)
		}
		if s == 1 {
			want = -want
		}
		if float64(got) != want || math.Signbit(float64(got)) != (s == 1) {
			t.Fatalf("%#04x: %v, want %v", h, got, want)
		}
	}
}

func model(nodes []*pb.NodeProto, inits []*pb.TensorProto, ir int64) *pb.ModelProto {
	f := &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: 1, Shape: &pb.TensorShapeProto{Dim: []*pb.TensorShapeProto_Dimension{
		{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}}, {Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: 3}}, {}}}}}}
	return &pb.ModelProto{
		IrVersion:   ir,
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: "ai.onnx.ml", Version: 2}, {Domain: "", Version: 11}},
		Graph: &pb.GraphProto{
			Node:        nodes,
			Initializer: inits,
			Input:       []*pb.ValueInfoProto{{Name: "x", Type: f}, {Name: "w", Type: f}},
			Output:      []*pb.ValueInfoProto{{Name: "y", Type: f}},
		},
		MetadataProps: []*pb.StringStringEntryProto{{Key: "k", Value: "v"}},
	}
}

func TestDecodeGraph(t *testing.T) {
	attrs := []*pb.AttributeProto{
		{Name: "f", Type: pb.AttributeProto_FLOAT, F: 0.5},
		{Name: "i", Type: pb.AttributeProto_INT, I: -3},
		{Name: "s", Type: pb.AttributeProto_STRING, S: []byte("SAME_UPPER")},
		{Name: "t", Type: pb.AttributeProto_TENSOR, T: &pb.TensorProto{DataType: 10, Dims: []int64{1}, Int32Data: []int32{0x3c00}}},
		{Name: "fs", Type: pb.AttributeProto_FLOATS, Floats: []float32{1, 2}},
		{Name: "is", Type: pb.AttributeProto_INTS, Ints: []int64{1, 2, 3}},
		{Name: "ss", Type: pb.AttributeProto_STRINGS, Strings: [][]byte{[]byte("a"), []byte("b")}},
		{Name: "g", Type: pb.AttributeProto_GRAPH, G: &pb.GraphProto{Name: "body"}},
		{Name: "untyped", Ints: []int64{4, 5}},
	}
	m := model([]*pb.NodeProto{
		{OpType: "Add", Input: []string{"x", "w"}, Output: []string{"a"}, Attribute: attrs},
		{Name: "Add_0", OpType: "Relu", Input: []string{"a"}, Output: []string{"y"}},
	}, []*pb.TensorProto{{Name: "w", DataType: 1, Dims: []int64{1}, FloatData: []float32{2}}}, 3)
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if g.Opset != 11 || g.Metadata["k"] != "v" || g.IRVersion != 3 {
		t.Errorf("opset %d metadata %v IR %d", g.Opset, g.Metadata, g.IRVersion)
	}
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "x" {
		t.Fatalf("inputs %+v: the initializer w must not be an input", g.Inputs)
	}
	if want := []int{-1, 3, -1}; !reflect.DeepEqual(g.Inputs[0].Shape, want) || !reflect.DeepEqual(g.Inputs[0].DimNames, []string{"batch", "", ""}) {
		t.Errorf("input shape %v names %q", g.Inputs[0].Shape, g.Inputs[0].DimNames)
	}
	n := g.Nodes[0]
	if n.Name != "Add_0_1" {
		t.Errorf("generated name %q, want Add_0_1 (Add_0 is taken)", n.Name)
	}
	if n.AttrFloat("f", 0) != 0.5 || n.AttrInt("i", 0) != -3 || n.AttrString("s", "") != "SAME_UPPER" ||
		!reflect.DeepEqual(n.AttrFloats("fs"), []float32{1, 2}) || !reflect.DeepEqual(n.AttrInts("is"), []int64{1, 2, 3}) ||
		!reflect.DeepEqual(n.Attrs["ss"].Strings, []string{"a", "b"}) || n.Attrs["g"].Type != ir.AttrGraph ||
		!reflect.DeepEqual(n.AttrInts("untyped"), []int64{4, 5}) {
		t.Errorf("attributes %+v", n.Attrs)
	}
	if tt := n.Attrs["t"].T; tt.DType != ir.Float32 || tt.F32[0] != 1 {
		t.Errorf("tensor attribute %+v", tt)
	}
	// IR 3 round trip lists the initializer among the inputs again and
	// still decodes to the same graph.
	data2, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := Decode(data2)
	if err != nil {
		t.Fatal(err)
	}
	g.Nodes[0].Attrs["untyped"].Type = ir.AttrInts
	if !reflect.DeepEqual(g.Nodes[1], g2.Nodes[1]) || !reflect.DeepEqual(g.Inputs, g2.Inputs) || !reflect.DeepEqual(g.Initializers, g2.Initializers) {
		t.Errorf("IR 3 round trip differs")
	}
}

func TestExternalData(t *testing.T) {
	dir := t.TempDir()
	vals := []uint32{math.Float32bits(1), math.Float32bits(2), math.Float32bits(3)}
	blob := append([]byte("junk"), le32(vals)...)
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	ext := func(loc, off, length string) *pb.TensorProto {
		return &pb.TensorProto{Name: "w", DataType: 1, Dims: []int64{3}, DataLocation: pb.TensorProto_EXTERNAL,
			ExternalData: []*pb.StringStringEntryProto{{Key: "location", Value: loc}, {Key: "offset", Value: off}, {Key: "length", Value: length}}}
	}
	write := func(tp *pb.TensorProto) string {
		m := model([]*pb.NodeProto{{OpType: "Add", Input: []string{"x", "w"}, Output: []string{"y"}}}, []*pb.TensorProto{tp}, 8)
		data, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "m.onnx")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := write(ext("w.bin", "4", "12"))
	g, err := DecodeFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Initializers["w"].F32; !reflect.DeepEqual(got, []float32{1, 2, 3}) {
		t.Errorf("external data %v", got)
	}
	data, _ := os.ReadFile(p)
	if _, err := Decode(data); !errors.Is(err, ErrExternalData) || !strings.Contains(err.Error(), "w.bin") {
		t.Errorf("Decode of external data: %v", err)
	}
	for _, bad := range []*pb.TensorProto{ext("../w.bin", "4", "12"), ext("w.bin", "8", "12"), ext("missing.bin", "0", "12")} {
		if _, err := DecodeFile(write(bad)); !errors.Is(err, ErrExternalData) {
			t.Errorf("%v: error %v, want ErrExternalData", bad.ExternalData, err)
		}
	}
	if _, err := DecodeFile(write(ext("w.bin", "0", "16"))); !errors.Is(err, ErrInvalid) {
		t.Errorf("wrong length: %v", err)
	}
}

func TestCorrupt(t *testing.T) {
	good, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	cases := map[string][]byte{"empty": {}, "text": []byte("hello, I am not a model\n")}
	for _, n := range []int{1, 10, 100, 1000, len(good) / 2, len(good) - 1} {
		cases["truncated-"+string(rune('a'+len(cases)))] = good[:n]
	}
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	cases["noise"] = noise
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(data)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), "not a valid ONNX model") {
				t.Errorf("message %q", err)
			}
		})
	}
	for _, irv := range []int64{2, 11} {
		m := model(nil, nil, irv)
		data, _ := proto.Marshal(m)
		if _, err := Decode(data); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "ir_version") {
			t.Errorf("IR %d: %v", irv, err)
		}
	}
}
