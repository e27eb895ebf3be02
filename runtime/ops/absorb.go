package ops

// Absorber is implemented by operators that copy constant inputs into
// storage of their own when planned (packed GEMM panels, Winograd-
// transformed or depthwise weights, bias vectors) and never read those
// inputs again when run. Absorbs(i) reports whether input i is such an
// input for the plan made; the runtime may then drop its own copy of the
// tensor and bind a tensor of the same type and shape without data (nil
// slice) in its place.
type Absorber interface {
	Absorbs(i int) bool
}

// Absorbs reports W and B when the kernel was created at plan time
// (constant W and B): it holds packed copies of both.
func (c *convOp) Absorbs(i int) bool { return c.kernel != nil && (i == 1 || i == 2) }

// Absorbs reports B and C when the packed dense kernel does the whole
// operator: it holds alpha·op(B) packed and beta·C as a bias.
func (g *gemmOp) Absorbs(i int) bool { return g.dense != nil && (i == 1 || i == 2) }

// Absorbs reports B when it was packed into the dense kernel.
func (o *matMulOp) Absorbs(i int) bool { return o.dense != nil && i == 1 }
