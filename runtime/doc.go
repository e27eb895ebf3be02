// Package runtime loads ONNX models and runs them with edge's operators
// (package runtime/ops) and kernels (package kernels).
//
// # Life of a model
//
// Load (or LoadBytes, FromGraph) decodes the file (package runtime/onnx),
// then Optimize rewrites the graph at the IR level, producing a standard
// ONNX graph that Model.Graph returns (Model.Source keeps the graph as
// loaded):
//
//   - nodes are sorted topologically; a cycle, a value read but never
//     produced or produced twice is an error wrapping ErrInvalidModel that
//     names the node;
//   - Identity and inference Dropout are removed;
//   - every node whose inputs are all initializers is evaluated and
//     replaced by initializers (exporters' shape subgraphs such as the
//     Constant/ConstantOfShape/Concat/Reshape/Slice/Transpose/Cast chain
//     feeding a Pad);
//   - BatchNormalization is folded into a preceding Conv or Gemm with
//     constant weights when nothing else reads the Conv/Gemm output;
//   - a Pad with zeros (mode constant, value 0) of the spatial axes whose
//     output only a Conv reads is folded into that Conv's pads;
//   - dead nodes and unused initializers are dropped.
//
// Every remaining node must have a registered operator at the model's
// opset; otherwise Load fails with an error wrapping ErrUnsupported:
//
//	runtime: node "x" (FooOp, opset 13): unsupported operator; supported: Add, AveragePool, ...
//
// When the inputs' shapes are known except the leading (batch)
// dimension and no input is an integer tensor, Load also plans the model
// for batch 1, so shape errors surface at load and Model.Info reports
// MACs, parameters, weight bytes and the planned peak activation bytes.
//
// # Plans
//
// A plan is made for concrete input shapes (and, for int64/int32 inputs,
// their values: such inputs are plan-time constants, as shape arguments
// in ONNX test models are), the kernel restrictions of Options.Kernels
// and the set of requested values. Plans are cached on the Model (at most
// 64, guarded by a mutex) and shared by all its sessions. Planning
// walks the nodes in order and, per node:
//
//   - creates the operator (ops.New) and calls Plan with the inputs'
//     types, shapes and constant values;
//   - folds the node when all its inputs are constant, or when Plan
//     reports every output as constant (Shape): it is run once at plan
//     time and its outputs become constants;
//   - fuses a following Relu or Clip (with constant bounds) into
//     operators implementing ops.Fuser (Conv, Gemm) when the producer's
//     output has that single consumer, is not a graph output and was not
//     requested;
//   - makes operators implementing ops.Aliaser (Reshape, Flatten, Squeeze,
//     Unsqueeze, Identity, Dropout) views: the output shares the input's
//     buffer and Run is not called.
//
// # Memory plan
//
// Every value computed at run time that is not a view owns a region of
// its session's arena (one arena per element type). A value is live from
// the step that writes it to the last step that reads it or one of its
// views; values live at the same time get disjoint regions, assigned
// greedily largest first into the best-fitting gap. A Concat whose
// inputs are contiguous runs of its output (every dimension before the
// axis is 1: batch-1 channel concatenation of fire modules) is placed:
// each input computed at run time, read only by that Concat and once,
// owning its buffer and without views is written by its producer
// straight into its run of the Concat's buffer, which is then live from
// the first such write; the Concat copies only the other inputs (graph
// inputs, constants, views, values read elsewhere) and the layer's
// kernel reads concat-in-place, concat-partial or concat-copy. Results
// are bit-identical either way. Info.PeakActivation
// Bytes is the total arena size for batch 1. Requested values are copied
// out right after the step that computes them, so a result is never
// overwritten and never extends a buffer's lifetime.
//
// # Layout and precision
//
// Tensors are dense, row-major, NCHW for images. Activations and weights
// are float32; int64, int32 and bool tensors carry shapes, indices and
// masks. Float16 and float64 initializers are converted to float32 at
// load; inputs must be float32, int64, int32 or bool. Folding rewrites
// (BatchNormalization) are computed in float64 and rounded once.
//
// # Threading
//
// A Model is safe for concurrent use. A Session owns its arena, scratch
// memory and a kernels.Pool of Options.Threads workers (all CPUs when
// <= 0); it runs one inference at a time (concurrent calls on one
// Session are serialized), and any number of Sessions of one Model run
// concurrently. Close a Session to stop its workers.
//
// # Memory across runs
//
// A session allocates its arena and its scratch (the largest of its
// plan's operators' WorkspaceLen) when it binds a plan, once. A run
// with the previous run's input shapes and requested names reuses that
// plan without building its lookup key; the kernels keep their per-call
// state in pooled objects. A steady-state RunIR therefore allocates only
// its results (the map and the copied tensors), and RunIRTo, given the
// map a previous run returned, copies the results into its tensors and
// allocates nothing: no garbage accumulates, so the process's RSS does
// not grow with the number of runs (edge bench; TestRunAllocs).
//
// # Errors
//
// Errors carry the package prefix, the node or input concerned and what
// to do, and wrap one of ErrInvalidModel (malformed file or graph),
// ErrUnsupported (operator, operator version, attribute or element type;
// wraps ops.ErrUnsupported) or ErrInput (missing, unknown or mis-shaped
// input, wrong element type — the message names the input, the expected
// and the given shape or type — or an unknown requested value). Bad input
// never panics: everything is validated before the kernels run.
package runtime
