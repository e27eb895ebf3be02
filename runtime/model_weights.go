package runtime

import (
	"fmt"
	"runtime/debug"

	"github.com/edgeml/edge/runtime/ir"
	"github.com/edgeml/edge/runtime/onnx"
)

// releaseGCBytes is how many bytes of released weights trigger a garbage
// collection that also returns the free pages to the OS
// (debug.FreeOSMemory) while a model is planned at Load: the packed copies
// planned next then do not add to the peak resident size (the weights hold
// no pointers, so a collection costs little; measured on imagenet-resnet18,
// the load peak drops from 74 to 67 MB for 44.6 MB of weights).
const releaseGCBytes = 4 << 20

// releaser returns the planRequest.release of Load's batch-1 plan: it
// drops the tensor's data.
func (m *Model) releaser() func(*ir.Tensor) {
	var since int64
	return func(t *ir.Tensor) {
		since += t.Bytes()
		t.F32 = nil
		m.released = true
		if since >= releaseGCBytes {
			since = 0
			debug.FreeOSMemory()
		}
	}
}

// releaseReplaced drops the data of the loaded float32 tensors that the
// optimized graph does not use (folded BatchNormalization parameters and
// the convolution weights they were folded into).
func (m *Model) releaseReplaced() {
	kept := make(map[*ir.Tensor]bool, len(m.g.Initializers))
	for _, t := range m.g.Initializers {
		kept[t] = true
	}
	var n int64
	for _, t := range m.src.Initializers {
		if !kept[t] && t.DType == ir.Float32 && len(t.F32) > 0 {
			n += t.Bytes()
			t.F32 = nil
			m.released = true
		}
	}
	if n >= releaseGCBytes {
		debug.FreeOSMemory()
	}
}

// released reports whether t is a float32 tensor whose data was released.
func isReleased(t *ir.Tensor) bool {
	return t.DType == ir.Float32 && t.F32 == nil && t.Shape.Size() > 0
}

// restore reads the released weights back from the model file (once);
// the graphs' initializers are replaced by the tensors read, so running
// plans, which only hold the data-less tensors, are not disturbed.
func (m *Model) restore() error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	if !m.released {
		return nil
	}
	if m.file == nil {
		return tagged("runtime: the model's weights were released and there is no file to read them from", ErrInvalidModel)
	}
	name := m.file.Name()
	st, err := m.file.Stat()
	if err != nil || st.Size() != m.fileInfo.Size() || !st.ModTime().Equal(m.fileInfo.ModTime()) {
		return tagged(fmt.Sprintf("runtime: %s was modified since it was loaded; the weights Load released after packing cannot be read back: load the model again", name), ErrInvalidModel)
	}
	src, err := onnx.DecodeAt(m.file, st.Size(), m.dir)
	if err != nil {
		return importError(fmt.Errorf("%s: %w", name, err))
	}
	g, err := Optimize(src)
	if err != nil {
		return err
	}
	for _, pair := range [][2]*ir.Graph{{m.src, src}, {m.g, g}} {
		dst, from := pair[0], pair[1]
		for k, t := range dst.Initializers {
			if !isReleased(t) {
				continue
			}
			u := from.Initializers[k]
			if u == nil || u.DType != t.DType || !u.Shape.Equal(t.Shape) {
				return tagged(fmt.Sprintf("runtime: reading the released weights back from %s: initializer %q differs from the one loaded; load the model again", name, k), ErrInvalidModel)
			}
		}
	}
	for _, pair := range [][2]*ir.Graph{{m.src, src}, {m.g, g}} {
		dst, from := pair[0], pair[1]
		for k, t := range dst.Initializers {
			if isReleased(t) {
				dst.Initializers[k] = from.Initializers[k]
			}
		}
	}
	m.released = false
	m.file.Close()
	m.file = nil
	return nil
}

// withoutReleased returns a shallow copy of g without the initializers
// whose data was released.
func withoutReleased(g *ir.Graph) *ir.Graph {
	c := *g
	c.Initializers = make(map[string]*ir.Tensor, len(g.Initializers))
	for k, t := range g.Initializers {
		if !isReleased(t) {
			c.Initializers[k] = t
		}
	}
	return &c
}
