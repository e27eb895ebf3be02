package runtime_test

import (
	"fmt"
	"log"
	"strings"

	"gorgonia.org/tensor"

	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
)

func ExampleLoad() {
	m, err := runtime.Load("testdata/fmnist-small.onnx")
	if err != nil {
		log.Fatal(err)
	}
	info := m.Info()
	fmt.Println("inputs:", info.Inputs[0].Name, info.Inputs[0].DType, info.Inputs[0].Shape, info.Inputs[0].DimNames[0])
	fmt.Println("outputs:", info.Outputs[0].Name, info.Outputs[0].Shape)
	fmt.Println("opset:", info.Opset, "ops:", info.OpHistogram)
	fmt.Println("params:", info.Params, "MACs/image:", info.MACs)
	fmt.Println("peak activations:", info.PeakActivationBytes, "bytes")
	fmt.Println("labels:", strings.Split(info.Metadata["labels"], ",")[:3])
	// Output:
	// inputs: input float32 [-1 1 28 28] N
	// outputs: logits [-1 10]
	// opset: 13 ops: map[Conv:4 Flatten:1 Gemm:2 MaxPool:2 Relu:5]
	// params: 467818 MACs/image: 18691840
	// peak activations: 200704 bytes
	// labels: [T-shirt/top Trouser Pullover]
}

func ExampleSession_Run() {
	m, err := runtime.Load("testdata/fmnist-small.onnx")
	if err != nil {
		log.Fatal(err)
	}
	s, err := m.NewSession(runtime.Options{Threads: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	// A batch of 3 drawings of trousers (a waistband and two legs), in
	// normalized units.
	data := make([]float32, 3*28*28)
	for i := range data {
		x, y := i%28, i/28%28
		v := float32(0)
		waist := y >= 2 && y < 7 && x >= 8 && x < 20
		legs := y >= 7 && y < 26 && (x >= 8 && x < 13 || x >= 15 && x < 20)
		if waist || legs {
			v = 200
		}
		data[i] = (v/255 - 0.2860) / 0.3530
	}
	out, err := s.Run(map[string]tensor.Tensor{
		"input": tensor.New(tensor.WithShape(3, 1, 28, 28), tensor.WithBacking(data)),
	})
	if err != nil {
		log.Fatal(err)
	}
	logits := out["logits"]
	fmt.Println("shape:", logits.Shape())
	best, _ := tensor.Argmax(logits, 1)
	fmt.Println("classes:", best.Data())
	// Output:
	// shape: (3, 10)
	// classes: [1 1 1]
}

func ExampleSession_RunIR() {
	m, err := runtime.Load("testdata/fmnist-small.onnx")
	if err != nil {
		log.Fatal(err)
	}
	s, err := m.NewSession(runtime.Options{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	x := ir.NewTensor(ir.Float32, ir.Shape{1, 1, 28, 28})
	// Any value of the optimized graph may be requested, here the input
	// of the first fully connected layer as well as the logits.
	out, err := s.RunIR(map[string]*ir.Tensor{"input": x}, "/10/Flatten_output_0", "logits")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out["/10/Flatten_output_0"].Shape, out["logits"].Shape)
	// Output:
	// [1×3136] [1×10]
}

func ExampleModel_Layers() {
	m, err := runtime.Load("testdata/fmnist-small.onnx")
	if err != nil {
		log.Fatal(err)
	}
	layers, err := m.Layers(8, runtime.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range layers {
		fmt.Printf("%-8s %-5s %v → %v MACs %d\n", l.OpType, l.Fused, l.Inputs[0], l.Outputs[0], l.MACs)
	}
	// Output:
	// Conv     Relu  [8×1×28×28] → [8×32×28×28] MACs 1806336
	// Conv     Relu  [8×32×28×28] → [8×32×28×28] MACs 57802752
	// MaxPool        [8×32×28×28] → [8×32×14×14] MACs 0
	// Conv     Relu  [8×32×14×14] → [8×64×14×14] MACs 28901376
	// Conv     Relu  [8×64×14×14] → [8×64×14×14] MACs 57802752
	// MaxPool        [8×64×14×14] → [8×64×7×7] MACs 0
	// Gemm     Relu  [8×3136] → [8×128] MACs 3211264
	// Gemm           [8×128] → [8×10] MACs 10240
}

func ExampleOptimize() {
	g := &ir.Graph{
		Opset:   13,
		Inputs:  []ir.ValueInfo{{Name: "x", DType: ir.Float32, Shape: []int{-1, 4}}},
		Outputs: []ir.ValueInfo{{Name: "y", DType: ir.Float32, Shape: []int{-1, 4}}},
		Initializers: map[string]*ir.Tensor{
			"a": {DType: ir.Float32, Shape: ir.Shape{4}, F32: []float32{1, 2, 3, 4}},
		},
		Nodes: []*ir.Node{
			{Name: "twice", OpType: "Add", Inputs: []string{"a", "a"}, Outputs: []string{"b"}},
			{Name: "id", OpType: "Identity", Inputs: []string{"x"}, Outputs: []string{"x1"}},
			{Name: "sum", OpType: "Add", Inputs: []string{"x1", "b"}, Outputs: []string{"y"}},
		},
	}
	o, err := runtime.Optimize(g)
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range o.Nodes {
		fmt.Println(n.OpType, n.Inputs, "→", n.Outputs)
	}
	fmt.Println("b =", o.Initializers["b"].F32)
	// Output:
	// Add [x b] → [y]
	// b = [2 4 6 8]
}
