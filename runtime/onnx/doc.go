// Package onnx converts between ONNX protobuf files and edge's graph IR
// (package runtime/ir). It only translates: it does not plan, fold or run
// anything.
//
// # Decoding
//
// Decode accepts ModelProto files of IR versions 3 to 10 as written by
// exporters (torch.onnx, tf2onnx, onnx.helper). It produces an ir.Graph
// with:
//
//   - Nodes in file order (the runtime checks the order and cycles). A node
//     without a name is named "<OpType>_<index>" (made unique), so error
//     messages can always point at a node.
//   - Initializers from raw_data (little-endian, as the ONNX spec
//     requires) or from the typed fields: float_data, int64_data,
//     int32_data (which also carries bool, int8/16, uint8/16 and the bit
//     patterns of float16 values, one per element) and double_data.
//     Float16 and float64 initializers and tensor attributes are converted
//     to float32; other element types than float32, int64, int32 and bool
//     yield an error wrapping ErrUnsupportedType.
//   - Graph inputs minus initializers (IR 3 files list initializers among
//     the inputs); their symbolic dimensions (dim_param) become -1 with the
//     name kept in ValueInfo.DimNames, as do dimensions with neither value
//     nor parameter.
//   - Attributes of every kind. FLOAT, INT, STRING, TENSOR, FLOATS, INTS
//     and STRINGS carry their values; GRAPH, TENSORS, SPARSE_TENSOR and
//     TYPE_PROTO attributes keep only their kind (edge executes no control
//     flow operators).
//   - The opset version of the default domain ("" or "ai.onnx"), the
//     metadata_props, the IR version and the producer name.
//
// Tensors stored in external files (data_location EXTERNAL) are read by
// DecodeFile, relative to the model's directory, with the offset and
// length keys honoured; Decode, which has no directory, reports them as an
// error naming the initializer and the file.
//
// # Memory
//
// DecodeFile and DecodeAt read the model through an io.ReaderAt and never
// hold the whole file: they walk the protobuf wire format down to the
// raw_data of the graph's initializers, unmarshal a skeleton of the model
// without that data (kilobytes), and read each initializer's data straight
// into its tensor (into the []float32 itself on little-endian hosts). The
// peak is the decoded weights plus one tensor of another element type;
// decoding the whole file with proto.Unmarshal held the file, the
// protobuf's copy of raw_data and the tensors at once (3× the weights).
// Decode walks its byte slice the same way. A file the walker does not
// accept (groups, lengths past the end) is decoded whole, so errors are
// those of proto.Unmarshal.
//
// Every malformed input — bytes that are not a protobuf ModelProto, a
// truncated file, tensors whose data does not match their dimensions,
// dangling references — is reported as an error wrapping ErrInvalid
// ("onnx: not a valid ONNX model: ..."); Decode never panics.
//
// # Encoding
//
// Encode writes a standard ModelProto: the graph's IR version (8 when
// unset), an opset import for the default domain (plus version 1 for any
// other domain a node names), initializers as raw_data, nodes with their
// attributes, inputs and outputs with element types and dimensions
// (dim_param for named dynamic dimensions) and metadata_props. Decode of
// Encode's output yields an equal graph.
//
// # Threading
//
// The functions are pure and safe for concurrent use.
package onnx
