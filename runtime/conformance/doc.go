// Package conformance runs the ONNX backend test cases (Debian's
// libonnx-testdata: node/, pytorch-converted/, pytorch-operator/, simple/
// under /usr/share/libonnx-testdata/data) against edge's runtime.
//
// A case is a directory with model.onnx and test_data_set_N/ directories
// of input_K.pb and output_K.pb TensorProtos. A case is eligible when
// every node's operator is registered (ops.Lookup) at an opset the
// registration supports, and every graph input and output and every test
// tensor is float32, int64, int32 or bool. The `test_training_dropout*`
// cases with a non-zero ratio are skipped (their masks are random; the
// zero-ratio ones are deterministic and run). Skipped cases carry the
// reason.
//
// An eligible case loads model.onnx with runtime.FromGraph, feeds each
// data set (inputs matched by name, else by position) and compares every
// output with rtol 1e-3 and atol 1e-5: |got − want| ≤ atol + rtol·|want|,
// NaN only equal to NaN, infinities exactly; integer and bool outputs
// must be equal. The first difference beyond tolerance is the failure
// reason.
//
// Run is sequential and uses one Session per case.
package conformance
