package compress

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/edgeml/edge/runtime/ir"
)

// finetune trains the factor weights of the compressed graph out (the
// nodes of factored: both halves of every factorized layer) by knowledge
// distillation: Adam on the KL divergence from the original network's
// softmax over the training part of the calibration images, for epochs
// passes or until the deadline. out's initializers are replaced.
func (c *calibRun) finetune(out *ir.Graph, factored map[*ir.Node]bool, epochs int, deadline time.Time, report func(Progress)) error {
	b := c.obj.nt.batch
	nt0, err := buildNet(out, b, c.opts.Kernels, nil)
	if err != nil {
		return err
	}
	need := make([]bool, len(nt0.layers))
	for i, l := range nt0.layers {
		need[i] = factored[l.node]
	}
	nt, err := buildNet(out, b, c.opts.Kernels, need)
	if err != nil {
		return err
	}
	ev, err := newEvaluator(nt, need, c.pool)
	if err != nil {
		return err
	}
	o := newObjective(c.ctx, nil, nt, ev, c.pool, c.opts.Kernels, c.obj.images)
	// Teacher targets (soft labels of the original network).
	all := append(append([]int(nil), c.train...), c.held...)
	teach := newObjective(c.ctx, nil, c.obj.nt, c.obj.ev, c.pool, c.opts.Kernels, c.obj.images)
	t0 := time.Now()
	if err := teach.setTeacher(all); err != nil {
		return err
	}
	if c.fwdPer == 0 {
		c.fwdPer = time.Since(t0) / time.Duration(max(1, len(all)))
	}
	// Leave the comparison and the judgement that follow their time.
	if !deadline.IsZero() {
		deadline = deadline.Add(-c.judgeTime() - c.passTime(len(c.held)))
	}
	o.targets, o.entropy = teach.targets, teach.entropy
	w := make([][]float32, len(nt.layers))
	mom := make([][]float32, len(nt.layers))
	vel := make([][]float32, len(nt.layers))
	for i, l := range nt.layers {
		w[i] = append([]float32(nil), l.w...)
		if need[i] {
			mom[i] = make([]float32, len(l.w))
			vel[i] = make([]float32, len(l.w))
		}
	}
	const lr, b1, b2, eps = 1e-4, 0.9, 0.999, 1e-8
	rng := rand.New(rand.NewPCG(c.opts.Seed, 0xf1e))
	train := append([]int(nil), c.train...)
	step := 0
	for ep := 0; ep < epochs; ep++ {
		rng.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
		var loss float64
		for lo := 0; lo+b <= len(train); lo += b {
			if !deadline.IsZero() && time.Now().After(deadline) {
				ep = epochs
				break
			}
			batch := train[lo : lo+b]
			gs := make([][]float32, len(w))
			for i := range w {
				if need[i] {
					gs[i] = make([]float32, len(w[i]))
				}
			}
			err := o.batches(batch, func(x, t, sw []float32, _, _ int) error {
				v, err := ev.run(w, x, t, sw, true, gs, nil)
				loss += v
				return err
			})
			if err != nil {
				return err
			}
			step++
			c1 := 1 - math.Pow(b1, float64(step))
			c2 := 1 - math.Pow(b2, float64(step))
			for i := range w {
				if !need[i] {
					continue
				}
				for j, g := range gs[i] {
					mom[i][j] = b1*mom[i][j] + (1-b1)*g
					vel[i][j] = b2*vel[i][j] + (1-b2)*g*g
					mh := float64(mom[i][j]) / c1
					vh := float64(vel[i][j]) / c2
					w[i][j] -= float32(lr * mh / (math.Sqrt(vh) + eps))
				}
			}
		}
		if report != nil {
			report(Progress{Stage: "finetune", Iter: ep + 1, MaxIter: epochs, Objective: loss / float64(max(1, len(train)/b))})
		}
	}
	for i, l := range nt.layers {
		if !need[i] {
			continue
		}
		if err := storeWeight(out, l.node, l, w[i]); err != nil {
			return err
		}
	}
	return nil
}
