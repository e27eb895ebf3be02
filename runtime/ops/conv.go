package ops

import (
	"fmt"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime/ir"
)

// Conv: N-D convolution (float32, channel-first). 2-D convolutions run
// through kernels.Conv2D, every other rank through kernels.ConvND. The
// kernel is created (weights packed) in Plan when W and B are constants,
// the normal case; otherwise it is created on each Run.

func init() {
	Register(Registration{OpType: "Conv", MinOpset: 1, New: newConv})
}

// maxAttr bounds sizes read from attributes so that products of a few of
// them cannot overflow an int.
const maxAttr = 1 << 30

// window holds the sliding-window attributes shared by Conv, MaxPool and
// AveragePool, as parsed (nil when absent).
type window struct {
	autoPad   string
	kernel    []int
	strides   []int
	dilations []int
	pads      []int // begins then ends
	ceil      bool
}

// windowGeom is a window resolved for concrete input dimensions.
type windowGeom struct {
	kernel, strides, dilations []int
	padsBegin, padsEnd         []int
	out                        []int
}

// parseWindow reads and checks the window attributes of n.
func parseWindow(n *ir.Node, needKernel bool) (*window, error) {
	w := &window{autoPad: n.AttrString("auto_pad", "NOTSET")}
	switch w.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return nil, nodeErrf(n, "auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", w.autoPad)
	}
	ints := func(name string, lo int64) ([]int, error) {
		if !n.Has(name) {
			return nil, nil
		}
		v := n.AttrInts(name)
		out := make([]int, len(v))
		for i, x := range v {
			if x < lo || x > maxAttr {
				return nil, nodeErrf(n, "%s %v: entry %d is out of range (want %d..%d)", name, v, x, lo, maxAttr)
			}
			out[i] = int(x)
		}
		return out, nil
	}
	var err error
	if w.kernel, err = ints("kernel_shape", 1); err != nil {
		return nil, err
	}
	if w.strides, err = ints("strides", 1); err != nil {
		return nil, err
	}
	if w.dilations, err = ints("dilations", 1); err != nil {
		return nil, err
	}
	if w.pads, err = ints("pads", 0); err != nil {
		return nil, err
	}
	if needKernel && len(w.kernel) == 0 {
		return nil, nodeErrf(n, "attribute kernel_shape is required")
	}
	switch c := n.AttrInt("ceil_mode", 0); c {
	case 0:
	case 1:
		w.ceil = true
	default:
		return nil, nodeErrf(n, "ceil_mode %d must be 0 or 1", c)
	}
	if k := len(w.kernel); k > 0 {
		if w.strides != nil && len(w.strides) != k {
			return nil, nodeErrf(n, "strides %v must have %d entries like kernel_shape %v", w.strides, k, w.kernel)
		}
		if w.dilations != nil && len(w.dilations) != k {
			return nil, nodeErrf(n, "dilations %v must have %d entries like kernel_shape %v", w.dilations, k, w.kernel)
		}
		if w.pads != nil && len(w.pads) != 2*k {
			return nil, nodeErrf(n, "pads %v must have %d entries (begins then ends) for kernel_shape %v", w.pads, 2*k, w.kernel)
		}
	}
	return w, nil
}

// resolve computes pads and output dimensions for input spatial
// dimensions in and kernel dimensions kernel, following the ONNX rules:
// explicit pads with floor (or ceil_mode) rounding, where a window that
// would start in the end padding is dropped; SAME_UPPER/SAME_LOWER give
// ceil(in/stride) outputs with the odd pad at the end/beginning; VALID
// uses no padding.
func (w *window) resolve(n *ir.Node, in, kernel []int) (*windowGeom, error) {
	nd := len(in)
	g := &windowGeom{kernel: kernel, strides: w.strides, dilations: w.dilations,
		padsBegin: make([]int, nd), padsEnd: make([]int, nd), out: make([]int, nd)}
	if len(kernel) != nd {
		return nil, nodeErrf(n, "kernel %v has %d dimensions, the input has %d spatial dimensions %v", kernel, len(kernel), nd, in)
	}
	ones := func() []int {
		s := make([]int, nd)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	if g.strides == nil {
		g.strides = ones()
	}
	if g.dilations == nil {
		g.dilations = ones()
	}
	if len(g.strides) != nd || len(g.dilations) != nd {
		return nil, nodeErrf(n, "strides %v and dilations %v must have %d entries for input spatial dimensions %v", w.strides, w.dilations, nd, in)
	}
	if w.autoPad == "NOTSET" && w.pads != nil {
		if len(w.pads) != 2*nd {
			return nil, nodeErrf(n, "pads %v must have %d entries for input spatial dimensions %v", w.pads, 2*nd, in)
		}
		copy(g.padsBegin, w.pads[:nd])
		copy(g.padsEnd, w.pads[nd:])
	}
	for d := 0; d < nd; d++ {
		k, s, dil := kernel[d], g.strides[d], g.dilations[d]
		eff := dil*(k-1) + 1
		switch w.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			o := (in[d] + s - 1) / s
			total := max(0, (o-1)*s+eff-in[d])
			small := total / 2
			if w.autoPad == "SAME_UPPER" {
				g.padsBegin[d], g.padsEnd[d] = small, total-small
			} else {
				g.padsBegin[d], g.padsEnd[d] = total-small, small
			}
			g.out[d] = o
			continue
		}
		num := in[d] + g.padsBegin[d] + g.padsEnd[d] - eff
		if num < 0 {
			return nil, nodeErrf(n, "window of %d taps (kernel %d, dilation %d) is larger than the padded input %d+%d+%d in spatial dimension %d",
				eff, k, dil, in[d], g.padsBegin[d], g.padsEnd[d], d)
		}
		o := num/s + 1
		if w.ceil && num%s != 0 {
			o++
			if (o-1)*s >= in[d]+g.padsBegin[d] {
				o--
			}
		}
		g.out[d] = o
	}
	return g, nil
}

// convKernel is what Conv needs of kernels.Conv2D and kernels.ConvND.
type convKernel interface {
	Run(pool *kernels.Pool, batch int, in, out, ws []float32)
	WorkspaceLen() int
	Kernel() string
}

type convOp struct {
	node  *ir.Node
	win   *window
	group int
	act   kernels.Activation

	// Set by Plan.
	cfg    kernels.Config
	batch  int
	geom   *windowGeom
	inC    int
	in     []int // input spatial dimensions
	outC   int
	kernel convKernel // nil when W or B are not constants
	name   string
	macs   int64
}

func newConv(n *ir.Node, opset int) (Op, error) {
	w, err := parseWindow(n, false)
	if err != nil {
		return nil, err
	}
	if w.ceil {
		return nil, nodeErrf(n, "Conv has no ceil_mode attribute")
	}
	g := n.AttrInt("group", 1)
	if g < 1 || g > maxAttr {
		return nil, nodeErrf(n, "group %d must be positive", g)
	}
	if len(n.Outputs) != 1 {
		return nil, nodeErrf(n, "has %d outputs, want 1", len(n.Outputs))
	}
	return &convOp{node: n, win: w, group: int(g)}, nil
}

// FuseActivation makes Relu or Clip the convolution's epilogue. It must
// be called before Plan; only one activation can be fused.
func (c *convOp) FuseActivation(a kernels.Activation) bool {
	return fuseAct(&c.act, c.geom != nil, a)
}

// MACs is the multiply-accumulate count of one run.
func (c *convOp) MACs() int64 { return c.macs }

// KernelName names the convolution kernel.
func (c *convOp) KernelName() string { return c.name }

// WorkspaceLen is the scratch length (float32 elements) Run asks of
// Ctx.Scratch, known once planned with constant weights (0 otherwise),
// so that a session allocates its scratch once, before the first run.
func (c *convOp) WorkspaceLen() int {
	if c.kernel == nil {
		return 0
	}
	return c.kernel.WorkspaceLen()
}

func (c *convOp) Plan(env *Env, in []Value) ([]Value, error) {
	n := c.node
	if err := needInputs(n, in, 2); err != nil {
		return nil, err
	}
	for i := 0; i < 3; i++ {
		if present(in, i) {
			if err := needDType(n, in, i, ir.Float32); err != nil {
				return nil, err
			}
		}
	}
	xs, ws := in[0].Shape, in[1].Shape
	if len(xs) < 3 {
		return nil, nodeErrf(n, "input X has shape %v; want N×C×D1×… with at least one spatial dimension", xs)
	}
	if len(ws) != len(xs) {
		return nil, nodeErrf(n, "weight W has shape %v; want rank %d like X %v (M×C/group×k1×…)", ws, len(xs), xs)
	}
	for _, d := range xs[1:] {
		if d <= 0 {
			return nil, nodeErrf(n, "input X has shape %v; channel and spatial dimensions must be positive", xs)
		}
	}
	for _, d := range ws {
		if d <= 0 {
			return nil, nodeErrf(n, "weight W has shape %v; dimensions must be positive", ws)
		}
	}
	c.inC, c.outC = xs[1], ws[0]
	if c.inC%c.group != 0 {
		return nil, nodeErrf(n, "group %d does not divide %d input channels", c.group, c.inC)
	}
	if c.outC%c.group != 0 {
		return nil, nodeErrf(n, "group %d does not divide %d output channels (W %v)", c.group, c.outC, ws)
	}
	if ws[1]*c.group != c.inC {
		return nil, nodeErrf(n, "weight W %v expects %d input channels per group, but X %v has %d channels in %d groups", ws, ws[1], xs, c.inC, c.group)
	}
	kernel := []int(ws[2:])
	if c.win.kernel != nil {
		if !ir.Shape(c.win.kernel).Equal(ir.Shape(kernel)) {
			return nil, nodeErrf(n, "kernel_shape %v does not match weight W %v", c.win.kernel, ws)
		}
	}
	if present(in, 2) {
		if bs := in[2].Shape; len(bs) != 1 || bs[0] != c.outC {
			return nil, nodeErrf(n, "bias B has shape %v, want [%d]", bs, c.outC)
		}
	}
	c.in = append([]int(nil), xs[2:]...)
	geom, err := c.win.resolve(n, c.in, append([]int(nil), kernel...))
	if err != nil {
		return nil, err
	}
	c.geom = geom
	c.cfg = env.Kernels
	c.batch = xs[0]
	outShape := append(ir.Shape{c.batch, c.outC}, geom.out...)
	if err := sizeOK(n, outShape); err != nil {
		return nil, err
	}

	weightsConst := in[1].Const != nil && (!present(in, 2) || in[2].Const != nil)
	var wdata, bdata []float32
	if weightsConst {
		wdata = in[1].Const.F32
		if present(in, 2) {
			bdata = in[2].Const.F32
		}
	} else {
		// Probe kernel with zero weights: validates the parameters and
		// names the kernel each Run will create.
		wdata = make([]float32, ws.Size())
	}
	k, err := c.newKernel(wdata, bdata)
	if err != nil {
		return nil, nodeErrf(n, "%v", err)
	}
	if weightsConst {
		c.kernel = k
		c.name = k.Kernel()
	} else {
		c.name = k.Kernel() + " (weights packed per run)"
	}
	cg := c.inC / c.group
	c.macs = int64(c.batch) * int64(c.outC) * int64(ir.Shape(geom.out).Size()) * int64(cg) * int64(ir.Shape(kernel).Size())
	return []Value{{DType: ir.Float32, Shape: outShape}}, nil
}

// newKernel creates the convolution kernel for the planned geometry.
func (c *convOp) newKernel(w, b []float32) (convKernel, error) {
	g := c.geom
	if len(c.in) == 2 {
		p := kernels.ConvParams{
			InC: c.inC, InH: c.in[0], InW: c.in[1], OutC: c.outC,
			KH: g.kernel[0], KW: g.kernel[1],
			StrideH: g.strides[0], StrideW: g.strides[1],
			DilH: g.dilations[0], DilW: g.dilations[1],
			PadTop: g.padsBegin[0], PadLeft: g.padsBegin[1],
			PadBottom: g.padsEnd[0], PadRight: g.padsEnd[1],
			Group: c.group, Act: c.act,
		}
		k, err := kernels.NewConv2D(c.cfg, p, w, b)
		if err != nil {
			return nil, err
		}
		if k.Params().OutH() != g.out[0] || k.Params().OutW() != g.out[1] {
			return nil, fmt.Errorf("internal: Conv2D output %d×%d differs from the planned %v", k.Params().OutH(), k.Params().OutW(), g.out)
		}
		return k, nil
	}
	p := kernels.ConvNDParams{
		InC: c.inC, OutC: c.outC, Group: c.group, In: c.in,
		Kernel: g.kernel, Strides: g.strides, Dilations: g.dilations,
		PadsBegin: g.padsBegin, PadsEnd: g.padsEnd, Act: c.act,
	}
	k, err := kernels.NewConvND(c.cfg, p, w, b)
	if err != nil {
		return nil, err
	}
	if !ir.Shape(k.OutShape()).Equal(ir.Shape(g.out)) {
		return nil, fmt.Errorf("internal: ConvND output %v differs from the planned %v", k.OutShape(), g.out)
	}
	return k, nil
}

func (c *convOp) Run(ctx *Ctx, in, out []*ir.Tensor) error {
	if err := checkRun(c.node, in, 2, out, 1); err != nil {
		return err
	}
	if c.geom == nil {
		return nodeErrf(c.node, "run before plan")
	}
	if c.batch == 0 {
		return nil
	}
	xlen := c.batch * c.inC * ir.Shape(c.in).Size()
	ylen := c.batch * c.outC * ir.Shape(c.geom.out).Size()
	if len(in[0].F32) != xlen || len(out[0].F32) != ylen {
		return nodeErrf(c.node, "run: X has %d elements and Y %d, planned %d and %d", len(in[0].F32), len(out[0].F32), xlen, ylen)
	}
	k := c.kernel
	if k == nil {
		var b []float32
		if presentT(in, 2) {
			b = in[2].F32
		}
		var err error
		if k, err = c.newKernel(in[1].F32, b); err != nil {
			return nodeErrf(c.node, "%v", err)
		}
	}
	k.Run(ctxPool(ctx), c.batch, in[0].F32, out[0].F32, ctxScratch(ctx, k.WorkspaceLen()))
	return nil
}

// ctxPool returns the context's thread pool (nil runs on the caller).
func ctxPool(ctx *Ctx) *kernels.Pool {
	if ctx == nil {
		return nil
	}
	return ctx.Pool
}

// ctxScratch returns a float32 workspace of n elements from the context,
// or a fresh one when the context has none.
func ctxScratch(ctx *Ctx, n int) []float32 {
	if n == 0 {
		return nil
	}
	if ctx != nil && ctx.Scratch != nil {
		if s := ctx.Scratch(n); len(s) >= n {
			return s[:n]
		}
	}
	return make([]float32, n)
}
