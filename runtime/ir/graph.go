package ir

// AttrType is the kind of an attribute value (ONNX AttributeProto.AttributeType).
type AttrType int32

// Attribute kinds.
const (
	AttrFloat   AttrType = 1
	AttrInt     AttrType = 2
	AttrString  AttrType = 3
	AttrTensor  AttrType = 4
	AttrGraph   AttrType = 5
	AttrFloats  AttrType = 6
	AttrInts    AttrType = 7
	AttrStrings AttrType = 8
)

// Attr is one node attribute. Only the field matching Type is meaningful.
type Attr struct {
	Type    AttrType
	F       float32
	I       int64
	S       string
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
}

// Node is one operator application. Inputs and Outputs name values; an
// empty input name is an omitted optional input.
type Node struct {
	Name    string
	OpType  string
	Domain  string // "" or "ai.onnx" for the default domain
	Inputs  []string
	Outputs []string
	Attrs   map[string]*Attr
}

// ValueInfo declares a graph input or output. A negative dimension is
// dynamic (symbolic or unknown); the batch dimension usually is.
type ValueInfo struct {
	Name     string
	DType    DType
	Shape    []int
	DimNames []string // symbolic names ("N", "batch_size") or ""
}

// Graph is a model's main graph in the edge IR. Nodes are in a
// topological order once Validate has succeeded.
type Graph struct {
	Name         string
	Nodes        []*Node
	Inputs       []ValueInfo // real inputs, initializers excluded
	Outputs      []ValueInfo
	Initializers map[string]*Tensor
	Opset        int               // version of the default ("" / "ai.onnx") domain
	Metadata     map[string]string // metadata_props
	IRVersion    int64
	Producer     string
}

// AttrInt returns the int attribute name or def when absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok {
		return a.I
	}
	return def
}

// AttrFloat returns the float attribute name or def when absent.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok {
		return a.F
	}
	return def
}

// AttrString returns the string attribute name or def when absent.
func (n *Node) AttrString(name string, def string) string {
	if a, ok := n.Attrs[name]; ok {
		return a.S
	}
	return def
}

// AttrInts returns the ints attribute name, or nil when absent.
func (n *Node) AttrInts(name string) []int64 {
	if a, ok := n.Attrs[name]; ok {
		return a.Ints
	}
	return nil
}

// AttrFloats returns the floats attribute name, or nil when absent.
func (n *Node) AttrFloats(name string) []float32 {
	if a, ok := n.Attrs[name]; ok {
		return a.Floats
	}
	return nil
}

// Has reports whether the attribute is present.
func (n *Node) Has(name string) bool {
	_, ok := n.Attrs[name]
	return ok
}

// Input returns the i-th input name or "" when it is absent or omitted.
func (n *Node) Input(i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}
