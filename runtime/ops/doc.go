// Package ops implements edge's ONNX operators: one Op per node, created
// from the node's attributes (Factory, validated for the model's opset),
// planned for concrete input shapes (Plan) and then run any number of
// times (Run).
//
// # Contracts
//
//   - Layout: tensors are dense, row-major, NCHW for images; float32 is the
//     compute type, int64/int32/bool appear in shape and index arithmetic
//     (Shape, Gather, Slice, Cast, ...). Every attribute of the ONNX spec
//     for the listed opsets is honoured or refused with ErrUnsupported;
//     nothing is silently ignored.
//   - Validation: a Factory rejects bad attributes and Plan rejects bad
//     shapes and dtypes with an error naming the node, the operator and
//     the cause (wrapping ErrUnsupported for what edge does not
//     implement). Run never validates again: kernels panic only on a
//     broken internal invariant, never on user input.
//   - Sizes: shapes computed from data (Reshape, ConstantOfShape, Pad, ...)
//     are checked before anything is allocated, so a hostile model cannot
//     make the loader allocate without bound.
//   - Kernels: compute-heavy operators (Conv, Gemm, MatMul, pooling,
//     elementwise, Softmax) choose their kernel from the kernels package's
//     descriptor table in Plan, from Env.Kernels (the ISA restrictions of
//     --disable-isa), and report it through Kerneler; weights known at
//     plan time are packed once there.
//   - Precision: float32 accumulation in the kernels' order; results match
//     ONNX Runtime within rtol 1e-3, atol 1e-5 on the ONNX conformance
//     suite (runtime/conformance).
//   - Threading: an Op is immutable after Plan; Run may be called from
//     several sessions at once. Parallel work goes to Ctx.Pool (nil: the
//     caller's goroutine) and temporary memory to Ctx.Scratch, both owned
//     by the calling session.
//
// Operators register themselves in this package's registry (Register);
// Supported lists them and New creates the operator for a node, with an
// error listing the supported operators when the type is unknown.
package ops
