package runtime

import (
	"time"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// This file fixes the public types shared by the CLI, device and compress
// packages. Functions and methods (Load, LoadBytes, FromGraph,
// Model.NewSession, Session.Run, ...) live in the other files.

// Options configure a Session.
type Options struct {
	// Threads is the number of worker goroutines for one inference
	// (<= 0: all logical CPUs).
	Threads int
	// Kernels restricts the instruction sets kernels may use
	// (--disable-isa); the zero value allows all detected ones.
	Kernels kernels.Config
	// Profile makes every Run record the wall time of each executed
	// layer (Session.Profile); it costs two clock reads per layer.
	Profile bool
}

// LayerProfile is the measured time of one executed layer, summed over
// the runs since the session was created or its profile reset
// (Options.Profile). Layers are in execution order, as Model.Layers
// lists them.
type LayerProfile struct {
	Name   string // node name
	OpType string // ONNX op type
	Kernel string // kernel chosen; "" when none
	Fused  string // activation or residual Add fused into the epilogue
	MACs   int64  // multiply-accumulates per run
	Runs   int    // runs the total covers
	Total  time.Duration
}

// Mean is the mean time of one run of the layer (0 when Runs is 0).
func (l LayerProfile) Mean() time.Duration {
	if l.Runs == 0 {
		return 0
	}
	return l.Total / time.Duration(l.Runs)
}

// Info summarises a model for reports (edge run/eval/bench/budget).
type Info struct {
	Inputs      []ir.ValueInfo
	Outputs     []ir.ValueInfo
	Metadata    map[string]string
	Opset       int
	IRVersion   int64
	Producer    string
	OpHistogram map[string]int // op type → node count, of the file as given
	// The figures below are for batch 1 on the optimized graph.
	MACs                int64 // multiply-accumulates per image
	Params              int64 // weight + bias elements of the executed graph
	WeightBytes         int64 // bytes of constant tensors the plan keeps
	PeakActivationBytes int64 // planned peak of activation buffers (liveness reuse)
}

// Layer describes one executed operator of a plan, in execution order.
type Layer struct {
	Name    string // node name (generated when the file has none)
	OpType  string // ONNX op type ("Conv", "Gemm", ...)
	Kernel  string // kernel chosen, e.g. "f32-gemm-6x16-avx512"; "" when none
	Fused   string // activation fused into the epilogue ("Relu", "Clip") or ""
	Inputs  []ir.Shape
	Outputs []ir.Shape
	MACs    int64
	Params  int64
	// Conv geometry when OpType is Conv (zero otherwise); for Gemm/MatMul
	// layers Conv.InC is K, Conv.OutC is N and spatial sizes are 1.
	Conv kernels.ConvParams
}
