package ops

import (
	"errors"
	"fmt"
	"sort"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// ErrUnsupported is returned (wrapped) for an operator or attribute edge
// does not implement.
var ErrUnsupported = errors.New("unsupported operator")

// Value describes one operand while a model is planned for concrete input
// shapes. Const is non-nil when the value is known at plan time (an
// initializer, a folded constant, or a shape computed from static shapes).
type Value struct {
	DType ir.DType
	Shape ir.Shape
	Const *ir.Tensor
}

// Env carries what an operator may need at creation.
type Env struct {
	Kernels kernels.Config // ISA restrictions for kernel choice
	Opset   int            // default-domain opset of the model
}

// Ctx is what an operator may use while it runs. A Ctx belongs to one
// session and is used by one goroutine at a time.
type Ctx struct {
	Pool *kernels.Pool
	// Scratch returns a float32 workspace of at least n elements, valid
	// until the operator's Run returns.
	Scratch func(n int) []float32
}

// Op is one planned operator instance: created for a node and a set of
// concrete input shapes (the "create" and "reshape" steps), then Run any
// number of times, possibly concurrently from several sessions, so Run
// must not modify the Op.
type Op interface {
	// Plan validates the inputs and returns the outputs' types and shapes.
	// An output whose value follows from shapes alone (Shape) may be
	// returned with Const set. Inputs with Const set may be used to pack
	// weights or read shape arguments.
	Plan(env *Env, in []Value) ([]Value, error)
	// Run computes the outputs. Output tensors are allocated by the caller
	// with the planned dtype and shape; their contents are undefined.
	Run(ctx *Ctx, in []*ir.Tensor, out []*ir.Tensor) error
}

// Aliaser is implemented by operators whose output 0 is input 0's data
// under a new shape (Reshape, Flatten, Squeeze, Unsqueeze, Identity,
// Dropout in inference). The executor then shares the buffer and does not
// call Run.
type Aliaser interface {
	AliasInput() bool
}

// Placer is implemented by operators that copy every input unchanged
// into one contiguous region of output 0 (Concat when all dimensions
// before the axis are 1: batch-1 NCHW channel concatenation). After Plan,
// Regions returns each input's element offset in output 0, or nil when
// the layout does not allow it (batch > 1: each input is N strided
// pieces). The planner may then let the producer of input i write
// straight into its region and call Place(i) before the plan is used;
// Run then skips input i's copy (and does nothing once every input is
// placed).
type Placer interface {
	Regions() []int
	Place(i int)
}

// Fuser is implemented by operators that can apply an activation to their
// output in their epilogue (Conv, Gemm). FuseActivation is called before
// Plan; it returns false when the activation cannot be fused.
type Fuser interface {
	FuseActivation(a kernels.Activation) bool
}

// Coster is implemented by compute-heavy operators to report their
// multiply-accumulate count per run, after Plan.
type Coster interface {
	MACs() int64
}

// Kerneler is implemented by operators that chose a kernel; the name is
// recorded in the plan (edge bench -v).
type Kerneler interface {
	KernelName() string
}

// Factory creates an operator from a node, parsing and validating its
// attributes for the given opset version.
type Factory func(n *ir.Node, opset int) (Op, error)

// Registration describes one operator type.
type Registration struct {
	OpType   string
	MinOpset int // earliest opset version supported (7 unless noted)
	New      Factory
}

var registry = map[string]Registration{}

// Register adds an operator type. Registering a name twice panics: it is
// a programming error caught by any test.
func Register(r Registration) {
	if _, dup := registry[r.OpType]; dup {
		panic("ops: operator " + r.OpType + " registered twice")
	}
	if r.MinOpset == 0 {
		r.MinOpset = 7
	}
	registry[r.OpType] = r
}

// Lookup returns the registration of an operator type.
func Lookup(opType string) (Registration, bool) {
	r, ok := registry[opType]
	return r, ok
}

// Supported lists the registered operator types, sorted.
func Supported() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New creates the operator for node n.
func New(n *ir.Node, opset int) (Op, error) {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return nil, fmt.Errorf("%w: node %q: %s in domain %q (only the default ONNX domain is supported)", ErrUnsupported, n.Name, n.OpType, n.Domain)
	}
	r, ok := registry[n.OpType]
	if !ok {
		return nil, fmt.Errorf("%w: node %q: %s (opset %d); supported operators: %v", ErrUnsupported, n.Name, n.OpType, opset, Supported())
	}
	if opset < r.MinOpset {
		return nil, fmt.Errorf("%w: node %q: %s at opset %d predates the supported versions (opset ≥ %d); re-export the model with a newer opset", ErrUnsupported, n.Name, n.OpType, opset, r.MinOpset)
	}
	return r.New(n, opset)
}
