package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// TestH2OpsNeverPanic creates, plans and runs Conv, Gemm, MatMul, the
// pools, BatchNormalization and LRN on random shapes, attributes and
// inputs, most of them invalid: every outcome must be a result or an
// error, never a panic.
func TestH2OpsNeverPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	types := []string{"Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization", "LRN"}
	randDim := func() int {
		if rng.IntN(12) == 0 {
			return 0
		}
		return 1 + rng.IntN(5)
	}
	randShape := func(rank int) ir.Shape {
		s := make(ir.Shape, rank)
		for i := range s {
			s[i] = randDim()
		}
		return s
	}
	randInts := func(n int) []int64 {
		v := make([]int64, n)
		for i := range v {
			switch rng.IntN(14) {
			case 0:
				v[i] = math.MaxInt64
			case 1:
				v[i] = math.MinInt64
			case 2:
				v[i] = 1 << 40
			case 3:
				v[i] = -1
			default:
				v[i] = rng.Int64N(5)
			}
		}
		return v
	}
	ran := 0
	defer func() { t.Logf("%d of the random nodes planned and ran", ran) }()
	for trial := 0; trial < 20000; trial++ {
		op := types[rng.IntN(len(types))]
		opset := []int{1, 6, 7, 9, 10, 11, 12, 13, 14, 15, 18, 19, 21}[rng.IntN(13)]
		xr := rng.IntN(6)
		x := randShape(xr)
		nsp := max(xr-2, 0)
		if rng.IntN(5) == 0 {
			nsp = rng.IntN(4)
		}
		attrs := map[string]*ir.Attr{}
		for _, name := range []string{"kernel_shape", "strides", "dilations", "pads", "auto_pad", "group", "ceil_mode",
			"count_include_pad", "storage_order", "transA", "transB", "alpha", "beta", "bias", "size", "epsilon",
			"momentum", "spatial", "training_mode"} {
			if rng.IntN(3) == 0 {
				continue
			}
			switch name {
			case "kernel_shape", "strides", "dilations":
				attrs[name] = aInts(randInts(nsp)...)
			case "pads":
				attrs[name] = aInts(randInts(2 * nsp)...)
			case "auto_pad":
				attrs[name] = aString([]string{"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "bogus"}[rng.IntN(5)])
			case "alpha", "beta", "bias", "epsilon", "momentum":
				attrs[name] = aFloat(float32(rng.NormFloat64()))
			default:
				attrs[name] = aInt(randInts(1)[0] % 4)
			}
		}
		var in []*ir.Tensor
		mk := func(s ir.Shape) *ir.Tensor {
			if rng.IntN(15) == 0 {
				return h3Rand(rng, ir.Int64, s)
			}
			return h3Rand(rng, ir.Float32, s)
		}
		in = append(in, mk(x))
		switch op {
		case "Conv":
			w := randShape(xr)
			if xr >= 2 && rng.IntN(2) == 0 {
				w[1] = x[1]
			}
			in = append(in, mk(w))
			if rng.IntN(2) == 0 && len(w) > 0 {
				in = append(in, mk(ir.Shape{w[0]}))
			}
		case "Gemm", "MatMul":
			in = append(in, mk(randShape(rng.IntN(4))))
			if op == "Gemm" && rng.IntN(2) == 0 {
				in = append(in, mk(randShape(rng.IntN(3))))
			}
		case "BatchNormalization":
			for i := 0; i < 4; i++ {
				if xr >= 2 && rng.IntN(4) != 0 {
					in = append(in, mk(ir.Shape{x[1]}))
				} else {
					in = append(in, mk(randShape(rng.IntN(3))))
				}
			}
		}
		if rng.IntN(10) == 0 && len(in) > 1 {
			in[1+rng.IntN(len(in)-1)] = nil // omitted input
		}
		konst := make([]bool, len(in))
		for i := range konst {
			konst[i] = i > 0 && rng.IntN(3) != 0
		}
		nout := 1
		if rng.IntN(5) == 0 {
			nout = rng.IntN(4)
		}
		n := h3MakeNode(op, len(in), nout, attrs)
		var act *kernels.Activation
		if (op == "Conv" || op == "Gemm") && rng.IntN(3) == 0 {
			act = &kernels.Activation{Kind: kernels.ActClip, Min: -1, Max: 1}
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("trial %d: %s opset %d attrs %s inputs %s: panic: %v", trial, op, opset, h2DescribeAttrs(attrs), h2DescribeInputs(in), r)
				}
			}()
			if _, _, err := h2Exec(n, opset, in, konst, act); err == nil {
				ran++
			}
		}()
	}
}

func h2DescribeAttrs(a map[string]*ir.Attr) string {
	s := ""
	for k, v := range a {
		switch v.Type {
		case ir.AttrInts:
			s += fmt.Sprintf("%s=%v ", k, v.Ints)
		case ir.AttrInt:
			s += fmt.Sprintf("%s=%d ", k, v.I)
		case ir.AttrFloat:
			s += fmt.Sprintf("%s=%g ", k, v.F)
		case ir.AttrString:
			s += fmt.Sprintf("%s=%q ", k, v.S)
		}
	}
	return s
}

func h2DescribeInputs(in []*ir.Tensor) string {
	s := ""
	for _, t := range in {
		if t == nil {
			s += "<omitted> "
			continue
		}
		s += fmt.Sprintf("%v%v ", t.DType, t.Shape)
	}
	return s
}
