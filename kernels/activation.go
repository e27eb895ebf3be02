package kernels

import "math"

// ActKind is the activation fused into a Conv/Gemm epilogue.
type ActKind uint8

// Fusable activations.
const (
	ActNone ActKind = iota
	ActRelu         // max(x, 0)
	ActClip         // min(max(x, Min), Max); Relu6 is Clip(0, 6)
)

// Activation is an epilogue applied to each output after the bias.
type Activation struct {
	Kind     ActKind
	Min, Max float32
}

// Apply applies the activation to one value (the reference definition).
func (a Activation) Apply(v float32) float32 {
	switch a.Kind {
	case ActRelu:
		if v < 0 {
			return 0
		}
	case ActClip:
		if v < a.Min {
			return a.Min
		}
		if v > a.Max {
			return a.Max
		}
	}
	return v
}

// ApplySlice applies the activation in place.
func (a Activation) ApplySlice(x []float32) {
	switch a.Kind {
	case ActRelu:
		for i, v := range x {
			x[i] = max(v, 0)
		}
	case ActClip:
		for i, v := range x {
			x[i] = min(max(v, a.Min), a.Max)
		}
	}
}

// actBounds returns the clamp interval of a (±Inf for no bound).
func actBounds(a Activation) (lo, hi float32) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	switch a.Kind {
	case ActRelu:
		lo = 0
	case ActClip:
		lo, hi = a.Min, a.Max
	}
	return lo, hi
}
