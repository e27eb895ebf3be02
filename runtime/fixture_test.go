package runtime

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

// fixtureModels returns the fixture models available: the copy in
// testdata always, the shared ones when present (larger ones only
// without -short and -race).
func fixtureModels(t *testing.T) []string {
	paths := []string{"testdata/fmnist-small.onnx"}
	shared, _ := filepath.Glob("/work/shared/models/fmnist-*.onnx")
	for _, p := range shared {
		if filepath.Base(p) == "fmnist-small.onnx" {
			continue
		}
		if testing.Short() || raceEnabled {
			if fi, err := os.Stat(p); err == nil && fi.Size() > 10<<20 {
				continue
			}
		}
		paths = append(paths, p)
	}
	return paths
}

// shapeOps are the operators of exporters' shape subgraphs, which must
// all be folded.
var shapeOps = map[string]bool{"Shape": true, "Constant": true, "ConstantOfShape": true, "Concat": false, "Reshape": true, "Slice": true, "Transpose": true, "Cast": true, "Gather": true, "Unsqueeze": true}

// fixtureParams are the parameter counts MODELS.md lists.
var fixtureParams = map[string]int64{
	"fmnist-small.onnx":         467818,
	"fmnist-squeezenet1_1.onnx": 726474,
	"fmnist-resnet18.onnx":      11168010,
	"fmnist-vgg16.onnx":         14981322,
}

func TestFixtureModels(t *testing.T) {
	for _, path := range fixtureModels(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			m, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range m.Graph().Nodes {
				if shapeOps[n.OpType] {
					t.Errorf("optimized graph still has %s node %q", n.OpType, n.Name)
				}
				if n.OpType == "Pad" {
					if _, ok := m.Graph().Initializers[n.Input(1)]; !ok {
						t.Errorf("Pad %q pads %q are not folded into an initializer", n.Name, n.Input(1))
					}
				}
			}
			layers, err := m.Layers(1, Options{})
			if err != nil {
				t.Fatal(err)
			}
			fused := 0
			for _, l := range layers {
				if shapeOps[l.OpType] || l.OpType == "Flatten" {
					t.Errorf("executed layer %s (%s) should be folded or a view", l.Name, l.OpType)
				}
				if l.OpType == "Relu" {
					// Only Relus after non-fusing producers (Add, Pool) remain.
					continue
				}
				if l.Fused == "Relu" {
					fused++
				}
			}
			if fused == 0 {
				t.Error("no Relu was fused into a Conv/Gemm epilogue")
			}
			info := m.Info()
			if want, ok := fixtureParams[filepath.Base(path)]; ok && info.Params != want {
				t.Errorf("Params %d, want %d (MODELS.md)", info.Params, want)
			}
			if info.MACs <= 0 || info.Params <= 0 || info.PeakActivationBytes <= 0 {
				t.Errorf("info figures %+v", info)
			}
			var total int64
			for _, l := range layers {
				for _, s := range l.Outputs {
					total += int64(s.Size()) * 4
				}
			}
			if info.PeakActivationBytes >= total {
				t.Errorf("peak activation %d B is not below the sum of layer outputs %d B: no reuse", info.PeakActivationBytes, total)
			}
			t.Logf("%d layers, %d fused, MACs %d, params %d, peak %d B (sum of outputs %d B)", len(layers), fused, info.MACs, info.Params, info.PeakActivationBytes, total)

			sess, err := m.NewSession(Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			rng := rand.New(rand.NewPCG(1, 1))
			for _, batch := range []int{1, 7} {
				x := randomInput(rng, ir.Shape{batch, 1, 28, 28})
				got, err := sess.RunIR(map[string]*ir.Tensor{"input": x})
				if err != nil {
					t.Fatal(err)
				}
				want := reference(t, m.Source(), map[string]*ir.Tensor{"input": x})
				if err := closeTo(got["logits"], want["logits"], 1e-4); err != nil {
					t.Errorf("batch %d: %v", batch, err)
				}
				if batch == 7 {
					// Row 3 of the batch equals a batch-1 run of image 3.
					one := &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{1, 1, 28, 28}, F32: x.F32[3*784 : 4*784]}
					r1, err := sess.RunIR(map[string]*ir.Tensor{"input": one})
					if err != nil {
						t.Fatal(err)
					}
					row := &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{1, 10}, F32: got["logits"].F32[30:40]}
					if err := closeTo(row, r1["logits"], 1e-5); err != nil {
						t.Errorf("batch row vs single image: %v", err)
					}
				}
			}
		})
	}
}
