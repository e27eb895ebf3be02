package compress

import "github.com/edgeml/edge/runtime/ir"

// refit returns refitted factor pairs per factorized layer (none yet).
func (c *calibRun) refit(a alloc) (map[*factor][2][]float32, error) { return nil, nil }

func applyRefit(g *ir.Graph, r map[*factor][2][]float32) {}
