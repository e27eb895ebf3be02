package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/edgeml/edge/runtime/ir"
)

// DefaultIRVersion is written when a graph has no IR version.
const DefaultIRVersion = 8

// Encode serializes g as an ONNX ModelProto (see the package
// documentation for what is written).
func Encode(g *ir.Graph) ([]byte, error) {
	if g == nil {
		return nil, fmt.Errorf("onnx: Encode of a nil graph")
	}
	if g.Opset <= 0 {
		return nil, fmt.Errorf("onnx: graph %q has no opset version; set Graph.Opset", g.Name)
	}
	irv := g.IRVersion
	if irv == 0 {
		irv = DefaultIRVersion
	}
	if irv < MinIRVersion || irv > MaxIRVersion {
		return nil, fmt.Errorf("onnx: IR version %d is outside %d–%d", irv, MinIRVersion, MaxIRVersion)
	}
	m := &pb.ModelProto{
		IrVersion:    irv,
		ProducerName: g.Producer,
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: "", Version: int64(g.Opset)}},
		Graph:        &pb.GraphProto{Name: g.Name},
	}
	if m.ProducerName == "" {
		m.ProducerName = "edge"
	}
	domains := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Domain != "" && n.Domain != "ai.onnx" && !domains[n.Domain] {
			domains[n.Domain] = true
			m.OpsetImport = append(m.OpsetImport, &pb.OperatorSetIdProto{Domain: n.Domain, Version: 1})
		}
	}
	keys := make([]string, 0, len(g.Metadata))
	for k := range g.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.MetadataProps = append(m.MetadataProps, &pb.StringStringEntryProto{Key: k, Value: g.Metadata[k]})
	}
	gp := m.Graph
	for _, n := range g.Nodes {
		np, err := nodeToProto(n)
		if err != nil {
			return nil, err
		}
		gp.Node = append(gp.Node, np)
	}
	inits := make([]string, 0, len(g.Initializers))
	for k := range g.Initializers {
		inits = append(inits, k)
	}
	sort.Strings(inits)
	for _, name := range inits {
		tp, err := tensorToProto(name, g.Initializers[name])
		if err != nil {
			return nil, err
		}
		gp.Initializer = append(gp.Initializer, tp)
	}
	for _, v := range g.Inputs {
		gp.Input = append(gp.Input, valueInfoToProto(v))
	}
	if irv < 4 {
		// IR 3 requires initializers to be listed among the inputs.
		for _, name := range inits {
			t := g.Initializers[name]
			gp.Input = append(gp.Input, valueInfoToProto(ir.ValueInfo{Name: name, DType: t.DType, Shape: t.Shape}))
		}
	}
	for _, v := range g.Outputs {
		gp.Output = append(gp.Output, valueInfoToProto(v))
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

func nodeToProto(n *ir.Node) (*pb.NodeProto, error) {
	np := &pb.NodeProto{
		Name:   n.Name,
		OpType: n.OpType,
		Domain: n.Domain,
		Input:  append([]string(nil), n.Inputs...),
		Output: append([]string(nil), n.Outputs...),
	}
	names := make([]string, 0, len(n.Attrs))
	for k := range n.Attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		a := n.Attrs[k]
		ap := &pb.AttributeProto{Name: k, Type: pb.AttributeProto_AttributeType(a.Type)}
		switch a.Type {
		case ir.AttrFloat:
			ap.F = a.F
		case ir.AttrInt:
			ap.I = a.I
		case ir.AttrString:
			ap.S = []byte(a.S)
		case ir.AttrTensor:
			if a.T == nil {
				return nil, fmt.Errorf("onnx: node %q: tensor attribute %q has no tensor", n.Name, k)
			}
			tp, err := tensorToProto("", a.T)
			if err != nil {
				return nil, fmt.Errorf("onnx: node %q: attribute %q: %w", n.Name, k, err)
			}
			ap.T = tp
		case ir.AttrFloats:
			ap.Floats = a.Floats
		case ir.AttrInts:
			ap.Ints = a.Ints
		case ir.AttrStrings:
			for _, s := range a.Strings {
				ap.Strings = append(ap.Strings, []byte(s))
			}
		}
		np.Attribute = append(np.Attribute, ap)
	}
	return np, nil
}

// EncodeTensor serializes one tensor as a TensorProto with raw_data.
func EncodeTensor(name string, t *ir.Tensor) ([]byte, error) {
	tp, err := tensorToProto(name, t)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(tp)
}

func tensorToProto(name string, t *ir.Tensor) (*pb.TensorProto, error) {
	if t.Len() != t.Shape.Size() {
		return nil, fmt.Errorf("onnx: tensor %q holds %d elements for shape %v", name, t.Len(), t.Shape)
	}
	tp := &pb.TensorProto{Name: name, DataType: int32(t.DType)}
	for _, d := range t.Shape {
		tp.Dims = append(tp.Dims, int64(d))
	}
	raw := make([]byte, t.Len()*t.DType.Size())
	switch t.DType {
	case ir.Float32:
		for i, v := range t.F32 {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	case ir.Int64:
		for i, v := range t.I64 {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
		}
	case ir.Int32:
		for i, v := range t.I32 {
			binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
		}
	case ir.Bool:
		for i, v := range t.Bool {
			if v {
				raw[i] = 1
			}
		}
	default:
		return nil, fmt.Errorf("onnx: tensor %q has element type %v, which edge cannot write", name, t.DType)
	}
	tp.RawData = raw
	return tp, nil
}

func valueInfoToProto(v ir.ValueInfo) *pb.ValueInfoProto {
	vi := &pb.ValueInfoProto{Name: v.Name}
	if v.DType == ir.Undefined && v.Shape == nil {
		return vi
	}
	tt := &pb.TypeProto_Tensor{ElemType: int32(v.DType)}
	if v.Shape != nil {
		tt.Shape = &pb.TensorShapeProto{}
		for i, d := range v.Shape {
			dim := &pb.TensorShapeProto_Dimension{}
			switch {
			case d >= 0:
				dim.Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
			case i < len(v.DimNames) && v.DimNames[i] != "":
				dim.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: v.DimNames[i]}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	vi.Type = &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: tt}}
	return vi
}
