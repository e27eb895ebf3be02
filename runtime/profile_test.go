package runtime

import (
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/runtime/ir"
)

func TestSessionProfile(t *testing.T) {
	m := loadSmall(t)
	rng := rand.New(rand.NewPCG(1, 1))
	in := map[string]*ir.Tensor{m.Inputs()[0].Name: randTensor(rng, 2, 1, 28, 28)}
	layers, err := m.Layers(2, Options{})
	if err != nil {
		t.Fatal(err)
	}

	off, err := m.NewSession(Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if _, err := off.RunIR(in); err != nil {
		t.Fatal(err)
	}
	if p := off.Profile(); p != nil {
		t.Errorf("profile without Options.Profile: %v", p)
	}

	s, err := m.NewSession(Options{Threads: 2, Profile: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p := s.Profile(); p != nil {
		t.Errorf("profile before any run: %v", p)
	}
	const runs = 3
	for i := 0; i < runs; i++ {
		if _, err := s.RunIR(in); err != nil {
			t.Fatal(err)
		}
	}
	prof := s.Profile()
	if len(prof) != len(layers) {
		t.Fatalf("profile has %d layers, Layers %d", len(prof), len(layers))
	}
	for i, l := range prof {
		want := layers[i]
		if l.Name != want.Name || l.OpType != want.OpType || l.Kernel != want.Kernel || l.Fused != want.Fused || l.MACs != want.MACs {
			t.Errorf("layer %d: %+v, want %+v", i, l, want)
		}
		if l.Runs != runs || l.Total <= 0 || l.Mean() != l.Total/runs {
			t.Errorf("layer %d (%s): runs %d total %v mean %v", i, l.Name, l.Runs, l.Total, l.Mean())
		}
	}
	s.ResetProfile()
	if p := s.Profile(); p != nil {
		t.Errorf("profile after reset: %v", p)
	}
	if _, err := s.RunIR(in); err != nil {
		t.Fatal(err)
	}
	if p := s.Profile(); len(p) != len(layers) || p[0].Runs != 1 {
		t.Errorf("profile after reset and one run: %+v", p)
	}
	if (LayerProfile{}).Mean() != 0 {
		t.Error("Mean of zero runs")
	}
}
