package conformance

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/edgeml/edge/runtime"
	"github.com/edgeml/edge/runtime/ir"
	"github.com/edgeml/edge/runtime/onnx"
	"github.com/edgeml/edge/runtime/ops"
)

// DefaultDir is where Debian's libonnx-testdata installs the cases.
const DefaultDir = "/usr/share/libonnx-testdata/data"

// Suites are the sub-directories walked, in order.
var Suites = []string{"node", "pytorch-converted", "pytorch-operator", "simple"}

// Tolerances of the comparison: |got − want| ≤ Atol + Rtol·|want|.
const (
	Rtol = 1e-3
	Atol = 1e-5
)

// Options configure a run.
type Options struct {
	// Threads per session (<= 0: all CPUs).
	Threads int
	// Filter keeps only cases whose "suite/name" contains it ("" keeps all).
	Filter string
	// Suites overrides the sub-directories walked (nil: Suites).
	Suites []string
}

// Case is one test case's outcome.
type Case struct {
	Name   string `json:"name"`             // suite/test_name
	Reason string `json:"reason,omitempty"` // why it failed or was skipped
}

// Report lists the cases by outcome, each sorted by name.
type Report struct {
	Passed  []Case `json:"passed"`
	Failed  []Case `json:"failed"`
	Skipped []Case `json:"skipped"`
}

// Run walks the suites under dir and runs every eligible case.
func Run(dir string, opts Options) (Report, error) {
	var rep Report
	suites := opts.Suites
	if suites == nil {
		suites = Suites
	}
	found := false
	for _, suite := range suites {
		entries, err := os.ReadDir(filepath.Join(dir, suite))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return rep, fmt.Errorf("conformance: %w", err)
		}
		found = true
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			name := suite + "/" + e.Name()
			if opts.Filter != "" && !strings.Contains(name, opts.Filter) {
				continue
			}
			status, reason := runCase(filepath.Join(dir, suite, e.Name()), opts)
			c := Case{Name: name, Reason: reason}
			switch status {
			case passed:
				rep.Passed = append(rep.Passed, c)
			case failed:
				rep.Failed = append(rep.Failed, c)
			default:
				rep.Skipped = append(rep.Skipped, c)
			}
		}
	}
	if !found {
		return rep, fmt.Errorf("conformance: no test suites (%s) under %s; install Debian's libonnx-testdata", strings.Join(suites, ", "), dir)
	}
	for _, l := range [][]Case{rep.Passed, rep.Failed, rep.Skipped} {
		sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
	}
	return rep, nil
}

type outcome int

const (
	skipped outcome = iota
	passed
	failed
)

// eligible decides whether a case can run, and why not.
func eligible(dir string, g *ir.Graph) (bool, string) {
	if b := filepath.Base(dir); strings.HasPrefix(b, "test_training_dropout") && !strings.Contains(b, "zero_ratio") {
		return false, "training-mode Dropout draws random masks"
	}
	var missing []string
	for _, n := range g.Nodes {
		if n.Domain != "" && n.Domain != "ai.onnx" {
			missing = append(missing, n.Domain+"."+n.OpType)
			continue
		}
		if _, ok := ops.Lookup(n.OpType); !ok {
			missing = append(missing, n.OpType)
		}
	}
	if len(missing) > 0 {
		return false, "operators not supported: " + strings.Join(dedup(missing), ", ")
	}
	for _, n := range g.Nodes {
		r, _ := ops.Lookup(n.OpType)
		if g.Opset < r.MinOpset {
			return false, fmt.Sprintf("%s at opset %d predates the supported versions (opset ≥ %d)", n.OpType, g.Opset, r.MinOpset)
		}
	}
	for _, vi := range append(append([]ir.ValueInfo{}, g.Inputs...), g.Outputs...) {
		if vi.DType != ir.Undefined && !vi.DType.Supported() {
			return false, fmt.Sprintf("%q has element type %v", vi.Name, vi.DType)
		}
	}
	return true, ""
}

func dedup(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// initializerTypes reports an initializer whose element type is not
// float32, int64, int32 or bool (the importer converts float16 and
// float64 ones, but such cases are not eligible).
func initializerTypes(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var m pb.ModelProto
	if proto.Unmarshal(b, &m) != nil {
		return ""
	}
	for _, t := range m.GetGraph().GetInitializer() {
		if dt := ir.DType(t.GetDataType()); !dt.Supported() {
			return fmt.Sprintf("initializer %q has element type %v", t.GetName(), dt)
		}
	}
	return ""
}

// runCase runs one case directory.
func runCase(dir string, opts Options) (outcome, string) {
	g, err := onnx.DecodeFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		if errors.Is(err, onnx.ErrUnsupportedType) {
			return skipped, err.Error()
		}
		return failed, err.Error()
	}
	if ok, why := eligible(dir, g); !ok {
		return skipped, why
	}
	if why := initializerTypes(filepath.Join(dir, "model.onnx")); why != "" {
		return skipped, why
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	sort.Strings(sets)
	if len(sets) == 0 {
		return skipped, "no test_data_set_* directories"
	}
	// Load the data first: element types outside edge's make a case
	// ineligible rather than failed.
	type set struct {
		in, out []named
	}
	var data []set
	for _, sd := range sets {
		in, why, err := readTensors(sd, "input")
		if why != "" {
			return skipped, why
		}
		if err != nil {
			return failed, err.Error()
		}
		out, why, err := readTensors(sd, "output")
		if why != "" {
			return skipped, why
		}
		if err != nil {
			return failed, err.Error()
		}
		data = append(data, set{in, out})
	}
	m, err := runtime.FromGraph(g)
	if err != nil {
		return failed, "load: " + err.Error()
	}
	sess, err := m.NewSession(runtime.Options{Threads: opts.Threads})
	if err != nil {
		return failed, err.Error()
	}
	defer sess.Close()
	inputs := m.Inputs()
	for k, d := range data {
		feed := map[string]*ir.Tensor{}
		for i, t := range d.in {
			name := t.name
			if name == "" || !hasInput(inputs, name) {
				if i >= len(inputs) {
					return failed, fmt.Sprintf("data set %d has more inputs than the model", k)
				}
				name = inputs[i].Name
			}
			feed[name] = t.t
		}
		got, err := sess.RunIR(feed)
		if err != nil {
			return failed, err.Error()
		}
		outs := m.Outputs()
		for i, want := range d.out {
			name := want.name
			if _, ok := got[name]; name == "" || !ok {
				if i >= len(outs) {
					return failed, fmt.Sprintf("data set %d has more outputs than the model", k)
				}
				name = outs[i].Name
			}
			if msg := compare(got[name], want.t); msg != "" {
				return failed, fmt.Sprintf("data set %d output %q: %s", k, name, msg)
			}
		}
	}
	return passed, ""
}

func hasInput(in []ir.ValueInfo, name string) bool {
	for _, vi := range in {
		if vi.Name == name {
			return true
		}
	}
	return false
}

type named struct {
	name string
	t    *ir.Tensor
}

// readTensors reads prefix_0.pb, prefix_1.pb, ... in order. why is set
// when a tensor's element type makes the case ineligible.
func readTensors(dir, prefix string) ([]named, string, error) {
	var out []named
	for i := 0; ; i++ {
		path := filepath.Join(dir, fmt.Sprintf("%s_%d.pb", prefix, i))
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return out, "", nil
		}
		if err != nil {
			return nil, "", err
		}
		t, name, err := onnx.DecodeTensor(b)
		if errors.Is(err, onnx.ErrUnsupportedType) {
			return nil, fmt.Sprintf("%s: %v", filepath.Base(path), err), nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		if dt, _ := onnx.TensorDType(b); dt == ir.Float16 || dt == ir.Float64 {
			return nil, fmt.Sprintf("%s has element type %v", filepath.Base(path), dt), nil
		}
		out = append(out, named{name, t})
	}
}

// compare checks got against want; "" means equal within tolerance.
func compare(got, want *ir.Tensor) string {
	if got == nil {
		return "missing"
	}
	if got.DType != want.DType {
		return fmt.Sprintf("element type %v, want %v", got.DType, want.DType)
	}
	if !got.Shape.Equal(want.Shape) {
		return fmt.Sprintf("shape %v, want %v", got.Shape, want.Shape)
	}
	switch want.DType {
	case ir.Float32:
		worst, at := 0.0, -1
		for i, w := range want.F32 {
			g := got.F32[i]
			wn, gn := math.IsNaN(float64(w)), math.IsNaN(float64(g))
			if wn || gn {
				if wn != gn {
					return fmt.Sprintf("element %d is %v, want %v", i, g, w)
				}
				continue
			}
			if math.IsInf(float64(w), 0) || math.IsInf(float64(g), 0) {
				if g != w {
					return fmt.Sprintf("element %d is %v, want %v", i, g, w)
				}
				continue
			}
			d := math.Abs(float64(g) - float64(w))
			if excess := d - (Atol + Rtol*math.Abs(float64(w))); excess > 0 && (at < 0 || excess > worst) {
				worst, at = excess, i
			}
		}
		if at >= 0 {
			return fmt.Sprintf("element %d is %v, want %v (rtol %g, atol %g)", at, got.F32[at], want.F32[at], Rtol, Atol)
		}
	case ir.Int64:
		for i := range want.I64 {
			if got.I64[i] != want.I64[i] {
				return fmt.Sprintf("element %d is %d, want %d", i, got.I64[i], want.I64[i])
			}
		}
	case ir.Int32:
		for i := range want.I32 {
			if got.I32[i] != want.I32[i] {
				return fmt.Sprintf("element %d is %d, want %d", i, got.I32[i], want.I32[i])
			}
		}
	case ir.Bool:
		for i := range want.Bool {
			if got.Bool[i] != want.Bool[i] {
				return fmt.Sprintf("element %d is %v, want %v", i, got.Bool[i], want.Bool[i])
			}
		}
	}
	return ""
}
