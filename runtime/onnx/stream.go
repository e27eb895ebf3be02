package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/edgeml/edge/runtime/ir"
)

// Streaming decode. A model's weights are nearly all of its bytes, and
// they sit in the raw_data fields of the graph's initializers. Decoding
// the whole file with proto.Unmarshal holds three copies of them at once:
// the file, the protobuf's raw_data slices and the float32 tensors. The
// functions below walk the protobuf wire format of ModelProto → graph (7)
// → initializer (5) → raw_data (9) through an io.ReaderAt, build a
// skeleton of the file without those raw_data fields (kilobytes) for
// proto.Unmarshal, and remember where each initializer's data lies; the
// data is then read straight into the tensor's slice. Any structure the
// walker does not accept makes the caller fall back to the whole-file
// decode, so error messages are those of proto.Unmarshal.

// ModelProto, GraphProto and TensorProto field numbers walked.
const (
	modelGraphField     = 7
	graphInitField      = 5
	tensorRawDataField  = 9
	maxSkeletonFieldLen = 1 << 30
)

// errWalk marks a file the walker does not accept.
var errWalk = errors.New("onnx: streaming walk failed")

// rawSpan locates the raw_data of one initializer in the model's bytes.
type rawSpan struct {
	ok     bool // raw_data present
	off, n int64
}

// walker reads protobuf fields from r.
type walker struct {
	r    io.ReaderAt
	size int64
	buf  [2 * binary.MaxVarintLen64]byte
}

// header reads the tag and, for length-delimited fields, the length of
// the field at off. It returns the field number, wire type, the offset of
// the payload and the payload length (0 for varints, which it skips).
func (w *walker) header(off, end int64) (protowire.Number, protowire.Type, int64, int64, error) {
	n := min(int64(len(w.buf)), end-off)
	if n <= 0 {
		return 0, 0, 0, 0, errWalk
	}
	b := w.buf[:n]
	if _, err := w.r.ReadAt(b, off); err != nil && !(err == io.EOF && off+n <= w.size) {
		return 0, 0, 0, 0, errWalk
	}
	num, typ, tl := protowire.ConsumeTag(b)
	if tl < 0 || num <= 0 {
		return 0, 0, 0, 0, errWalk
	}
	rest := b[tl:]
	p := off + int64(tl)
	switch typ {
	case protowire.VarintType:
		_, vl := protowire.ConsumeVarint(rest)
		if vl < 0 {
			return 0, 0, 0, 0, errWalk
		}
		return num, typ, p, int64(vl), nil
	case protowire.Fixed32Type:
		return num, typ, p, 4, nil
	case protowire.Fixed64Type:
		return num, typ, p, 8, nil
	case protowire.BytesType:
		l, vl := protowire.ConsumeVarint(rest)
		if vl < 0 || l > uint64(end) {
			return 0, 0, 0, 0, errWalk
		}
		return num, typ, p + int64(vl), int64(l), nil
	}
	return 0, 0, 0, 0, errWalk // groups are not used by ONNX
}

// copyRange appends the bytes [from, to) of the input to dst.
func (w *walker) copyRange(dst []byte, from, to int64) ([]byte, error) {
	if to-from > maxSkeletonFieldLen {
		return nil, errWalk
	}
	n := len(dst)
	dst = append(dst, make([]byte, to-from)...)
	if _, err := w.r.ReadAt(dst[n:], from); err != nil && !(err == io.EOF && to <= w.size) {
		return nil, errWalk
	}
	return dst, nil
}

// message walks the fields of the message in [off, end), copying every
// field to the skeleton except those sub handles (field number → handler
// returning the replacement payload, or nil to drop the field).
func (w *walker) message(dst []byte, off, end int64, sub func(num protowire.Number, p, n int64) ([]byte, bool, error)) ([]byte, error) {
	for off < end {
		num, typ, p, n, err := w.header(off, end)
		if err != nil {
			return nil, err
		}
		next := p + n
		if next > end || n < 0 {
			return nil, errWalk
		}
		if typ == protowire.BytesType && sub != nil {
			payload, keep, err := sub(num, p, n)
			if err != nil {
				return nil, err
			}
			if payload != nil || keep {
				if payload == nil {
					if dst, err = w.copyRange(dst, off, next); err != nil {
						return nil, err
					}
				} else {
					dst = protowire.AppendTag(dst, num, protowire.BytesType)
					dst = protowire.AppendBytes(dst, payload)
				}
			}
			off = next
			continue
		}
		if dst, err = w.copyRange(dst, off, next); err != nil {
			return nil, err
		}
		off = next
	}
	return dst, nil
}

// skeleton returns the model's bytes without the raw_data of the graph's
// initializers and the spans of that data, one per initializer in file
// order.
func skeleton(r io.ReaderAt, size int64) ([]byte, []rawSpan, error) {
	w := &walker{r: r, size: size}
	var spans []rawSpan
	tensor := func(p, n int64) ([]byte, error) {
		span := rawSpan{}
		out, err := w.message(make([]byte, 0, 64), p, p+n, func(num protowire.Number, q, m int64) ([]byte, bool, error) {
			if num != tensorRawDataField {
				return nil, true, nil
			}
			span = rawSpan{ok: true, off: q, n: m}
			return nil, false, nil
		})
		spans = append(spans, span)
		return out, err
	}
	// rewrite replaces the payload of field want by fn's (never nil:
	// message returns a non-nil slice) and keeps the other fields.
	rewrite := func(want protowire.Number, fn func(p, n int64) ([]byte, error)) func(protowire.Number, int64, int64) ([]byte, bool, error) {
		return func(num protowire.Number, p, n int64) ([]byte, bool, error) {
			if num != want {
				return nil, true, nil
			}
			b, err := fn(p, n)
			return b, true, err
		}
	}
	graph := func(p, n int64) ([]byte, error) {
		return w.message(make([]byte, 0, 4096), p, p+n, rewrite(graphInitField, tensor))
	}
	out, err := w.message(make([]byte, 0, 4096), 0, size, rewrite(modelGraphField, graph))
	if err != nil {
		return nil, nil, err
	}
	return out, spans, nil
}

// littleEndian reports whether the host stores float32 as the ONNX files
// do, so raw_data can be read into a []float32 without conversion.
var littleEndian = func() bool {
	x := uint32(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// rawSource reads one initializer's raw_data.
type rawSource struct {
	r    io.ReaderAt
	span rawSpan
}

// bytes reads the whole raw_data.
func (s *rawSource) bytes() ([]byte, error) {
	buf := make([]byte, s.span.n)
	if err := s.readAt(buf, s.span.off); err != nil {
		return nil, err
	}
	return buf, nil
}

func (s *rawSource) readAt(b []byte, off int64) error {
	if _, err := s.r.ReadAt(b, off); err != nil && !(err == io.EOF) {
		return fmt.Errorf("onnx: reading tensor data: %w", err)
	}
	return nil
}

// float32s reads count little-endian float32 values into a new slice:
// directly on little-endian hosts, through a conversion elsewhere.
func (s *rawSource) float32s(count int) ([]float32, error) {
	out := make([]float32, count)
	if count == 0 {
		return out, nil
	}
	if littleEndian {
		b := unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*count)
		if err := s.readAt(b, s.span.off); err != nil {
			return nil, err
		}
		return out, nil
	}
	raw, err := s.bytes()
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// streamFloat32 decodes a float32 initializer whose raw_data is at src.
// Other element types go through the byte path of tensorFromProto.
func streamFloat32(shape ir.Shape, count int, src *rawSource) (*ir.Tensor, error) {
	f, err := src.float32s(count)
	if err != nil {
		return nil, err
	}
	return &ir.Tensor{DType: ir.Float32, Shape: shape, F32: f}, nil
}
