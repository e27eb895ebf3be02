package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

// TestH3OpsNeverPanic creates, plans and runs the operators of this
// family on random shapes, attributes and constant inputs, many of them
// invalid: every outcome must be a result or an error, never a panic.
func TestH3OpsNeverPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	types := []string{"Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "Add", "Mul", "Sub", "Div",
		"Sum", "Concat", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Pad", "Constant",
		"ConstantOfShape", "Shape", "Gather", "Slice", "Cast", "Identity", "Dropout"}
	dtypes := []ir.DType{ir.Float32, ir.Int64, ir.Int32, ir.Bool}
	randShape := func() ir.Shape {
		s := make(ir.Shape, rng.IntN(5))
		for i := range s {
			s[i] = rng.IntN(4)
		}
		return s
	}
	randInts := func() []int64 {
		v := make([]int64, rng.IntN(6))
		for i := range v {
			switch rng.IntN(10) {
			case 0:
				v[i] = math.MaxInt64
			case 1:
				v[i] = math.MinInt64
			case 2:
				v[i] = 1 << 40
			default:
				v[i] = rng.Int64N(11) - 5
			}
		}
		return v
	}
	ran := 0
	defer func() { t.Logf("%d of the random nodes planned and ran", ran) }()
	for trial := 0; trial < 50000; trial++ {
		op := types[rng.IntN(len(types))]
		opset := []int{1, 6, 7, 9, 10, 11, 12, 13, 14, 15, 18, 19, 21}[rng.IntN(13)]
		attrs := map[string]*ir.Attr{}
		for _, name := range []string{"axis", "axes", "perm", "pads", "starts", "ends", "to", "allowzero", "start", "end", "value", "mode", "min", "max", "alpha", "ratio", "value_ints"} {
			if rng.IntN(4) != 0 {
				continue
			}
			switch name {
			case "axes", "perm", "pads", "starts", "ends", "value_ints":
				attrs[name] = aInts(randInts()...)
			case "mode":
				attrs[name] = aString([]string{"constant", "reflect", "edge", "wrap"}[rng.IntN(4)])
			case "value":
				if op == "Pad" {
					attrs[name] = aFloat(1)
				} else {
					attrs[name] = aTensor(h3Rand(rng, dtypes[rng.IntN(4)], randShape()))
				}
			case "min", "max", "alpha", "ratio":
				attrs[name] = aFloat(float32(rng.NormFloat64()))
			default:
				attrs[name] = aInt(rng.Int64N(13) - 4)
			}
		}
		nin := rng.IntN(5)
		in := make([]*ir.Tensor, nin)
		konst := make([]bool, nin)
		for i := range in {
			switch rng.IntN(6) {
			case 0:
				// omitted
			case 1, 2:
				in[i] = h3I64(randInts()...)
				konst[i] = rng.IntN(4) != 0
			default:
				in[i] = h3Rand(rng, dtypes[rng.IntN(4)], randShape())
				konst[i] = rng.IntN(3) == 0
			}
		}
		n := h3MakeNode(op, nin, 1+rng.IntN(2), attrs)
		func() {
			defer func() {
				if r := recover(); r != nil {
					desc := fmt.Sprintf("%s opset %d attrs", op, opset)
					for k, a := range attrs {
						desc += fmt.Sprintf(" %s=%+v", k, *a)
					}
					for i, x := range in {
						if x != nil {
							desc += fmt.Sprintf(" in%d=%v%v const=%v %v", i, x.DType, x.Shape, konst[i], x.I64)
						}
					}
					t.Fatalf("panic: %v\n%s", r, desc)
				}
			}()
			if _, _, err := h3Exec(n, opset, in, konst); err == nil {
				ran++
			}
		}()
	}
}
