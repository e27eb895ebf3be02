package runtime

import (
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

// TestSessionScratchOnce checks that a session's scratch is allocated
// once per plan: the first session sizes it from the operators'
// WorkspaceLen and records the largest request of the plan's runs, and
// a later session allocates that size when it binds the
// plan, before the first step asks for it, and never again.
func TestSessionScratchOnce(t *testing.T) {
	for _, path := range fixtureModels(t) {
		m, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		in := m.Inputs()[0]
		shape := append(ir.Shape(nil), in.Shape...)
		shape[0] = 1
		x := ir.NewTensor(ir.Float32, shape)
		feeds := map[string]*ir.Tensor{in.Name: x}
		first, err := m.NewSession(Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := first.RunIR(feeds); err != nil {
			t.Fatal(err)
		}
		p := first.bind.p
		need := m.workspace(p)
		if first.wsMade > 1 {
			t.Errorf("%s: first session grew its scratch %d times; the plan's WorkspaceLen should size it at once", path, first.wsMade)
		}
		first.Close()
		if need == 0 {
			t.Logf("%s: no operator asks for scratch", path)
			continue
		}
		s, err := m.NewSession(Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := s.RunIR(feeds); err != nil {
				t.Fatal(err)
			}
		}
		if s.wsMade != 1 || cap(s.ws) != need {
			t.Errorf("%s: second session allocated its scratch %d times (capacity %d), want once, %d elements", path, s.wsMade, cap(s.ws), need)
		}
		s.Close()
	}
}
