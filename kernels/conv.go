package kernels

import (
	"fmt"
	"sync"
)

// ConvParams describes a 2-D convolution on one NCHW image. Weights are
// OutC × (InC/Group) × KH × KW; the output is OutC × OutH() × OutW().
type ConvParams struct {
	InC, InH, InW    int
	OutC             int
	KH, KW           int
	StrideH, StrideW int
	DilH, DilW       int
	PadTop, PadLeft  int
	PadBottom        int
	PadRight         int
	Group            int
	Act              Activation
}

// OutH is the output height.
func (p ConvParams) OutH() int {
	return (p.InH+p.PadTop+p.PadBottom-p.DilH*(p.KH-1)-1)/p.StrideH + 1
}

// OutW is the output width.
func (p ConvParams) OutW() int {
	return (p.InW+p.PadLeft+p.PadRight-p.DilW*(p.KW-1)-1)/p.StrideW + 1
}

// MACs is the multiply-accumulate count for one image.
func (p ConvParams) MACs() int64 {
	return int64(p.OutC) * int64(p.OutH()) * int64(p.OutW()) * int64(p.InC/p.Group) * int64(p.KH) * int64(p.KW)
}

// Validate checks the parameters; operators call it at creation.
func (p ConvParams) Validate() error {
	switch {
	case p.InC <= 0 || p.OutC <= 0 || p.KH <= 0 || p.KW <= 0 || p.InH <= 0 || p.InW <= 0:
		return fmt.Errorf("kernels: conv sizes must be positive (in %d×%d×%d, out %d, kernel %d×%d)", p.InC, p.InH, p.InW, p.OutC, p.KH, p.KW)
	case p.StrideH <= 0 || p.StrideW <= 0 || p.DilH <= 0 || p.DilW <= 0:
		return fmt.Errorf("kernels: conv strides and dilations must be positive")
	case p.PadTop < 0 || p.PadLeft < 0 || p.PadBottom < 0 || p.PadRight < 0:
		return fmt.Errorf("kernels: conv pads must not be negative")
	case p.Group <= 0 || p.InC%p.Group != 0 || p.OutC%p.Group != 0:
		return fmt.Errorf("kernels: group %d must divide input channels %d and output channels %d", p.Group, p.InC, p.OutC)
	case p.OutH() <= 0 || p.OutW() <= 0:
		return fmt.Errorf("kernels: conv output would be empty (%d×%d)", p.OutH(), p.OutW())
	}
	return nil
}

// convAlgo is the algorithm a Conv2D chose at creation.
type convAlgo uint8

const (
	convPointwise  convAlgo = iota // 1×1, stride 1, no padding: GEMM straight on the input
	convWide                       // implicit GEMM on padded phase planes, wide output grid
	convDepthwise                  // direct depthwise kernel
	convWinograd                   // Winograd F(2×2, 3×3)
	convTransposed                 // small output maps: Cᵀ = im2colᵀ·Wᵀ (convt.go)
	convDirectA                    // indirect-A direct conv: Cᵀ from the padded planes (convdirect.go)
	convSubsample                  // 1×1, strided, no padding: GEMM on the subsampled input (convs2.go)
)

// Conv2D is a planned convolution: algorithm and kernel chosen and
// weights packed at creation; Run is safe for concurrent use with
// distinct buffers.
type Conv2D struct {
	p    ConvParams
	algo convAlgo
	name string
	bias []float32 // OutC or nil

	// GEMM paths: per group, C (OutC/Group × OutH·OutW) = W · B.
	gemm    *GemmKernel
	blk     blocking
	packedW []float32 // per group, prepacked A panels (see prepackA)
	wStride int       // elements of packedW per group

	wino *winoKernels // SIMD Winograd transforms or nil

	tapIdx []int32  // transposed path: input offset per panel, tap and position (tapOffsets)
	gather gatherer // transposed path: the im2col gather
	ctIdx  []int32  // transposed path: offsets of one column of Cᵀ
	// Transposed path: the first nMain output channels are packed
	// NR-wide in packedW, the others (if tail is set) in packedWT for
	// the kernel's narrow twin tail.
	nMain    int
	tail     *GemmKernel
	packedWT []float32

	// packRows is the assembly B packer of the packed wide path, or nil
	// for packRowsGeneric.
	packRows func(dst, src *float32, offs *int, kc, nfull, nr int)
	// wideOffs is the offset in the padded phase planes of every im2col
	// row (see wideOffsets); direct makes the wide path run the
	// indirect-B GEMM on them (no packing of B).
	wideOffs []int
	direct   bool
	rowGemm  bool // direct, one GEMM per output row (runRows)
	// pwOffs makes a pointwise or subsampled conv run the indirect-B
	// GEMM on its (compact) image: row r of B at r·OutH·OutW (pointwiseDirect).
	pwOffs []int

	// Indirect-A path (convdirect.go): the kernel, the offset of
	// every output position in the padded planes, and the copy into them.
	dk      *dconvKernel
	dGrp    int // K steps per offset (3: dk.micro3)
	dPos    []int
	padRows padRowsFn

	// Depthwise path.
	dw     *dwKernel
	weight []float32 // OutC × KH × KW
}

// dconvMinHW is the smallest output map (OutH·OutW) that the indirect-A
// kernel takes from the transposed path.
const dconvMinHW = 49

// NewConv2D validates p and prepares the convolution: it chooses the
// algorithm and kernel for this layer and packs the weights. weight and
// bias are copied; bias may be nil.
func NewConv2D(cfg Config, p ConvParams, weight, bias []float32) (*Conv2D, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if want := p.OutC * (p.InC / p.Group) * p.KH * p.KW; len(weight) != want {
		return nil, fmt.Errorf("kernels: conv weight has %d elements, want %d", len(weight), want)
	}
	if bias != nil && len(bias) != p.OutC {
		return nil, fmt.Errorf("kernels: conv bias has %d elements, want %d", len(bias), p.OutC)
	}
	c := &Conv2D{p: p}
	if bias != nil {
		c.bias = append([]float32(nil), bias...)
	}
	if p.Group == p.InC && p.Group == p.OutC {
		c.algo = convDepthwise
		c.dw = selectDW(cfg, p)
		c.weight = append([]float32(nil), weight...)
		c.name = c.dw.name
		return c, nil
	}
	m, n, k := p.OutC/p.Group, p.OutH()*p.OutW(), (p.InC/p.Group)*p.KH*p.KW
	dk := selectDconv(cfg)
	if dk != nil && (!dconvOK(p) || rowsFirst(cfg, p)) {
		dk = nil
	}
	// From 7² on the indirect-A kernel beats the transposed GEMM (one
	// thread: 256→256 3×3 at 8² 0.50 → 0.43 ms, 256→143 1×3 0.105-0.112
	// → 0.083, 512→512 at 7² 1.43 → 1.31; two threads, weights cold,
	// 256→256 at 8²: 0.31-0.33 → 0.28); on 4², 2² maps the transposed
	// path streams the weights better.
	if convTOK(p) && (dk == nil || n < dconvMinHW) {
		c.algo = convTransposed
		c.gemm = SelectGemmFor(cfg, n, m, k)
		c.blk = c.gemm.blockingStreamB(k, m)
		c.name = fmt.Sprintf("f32-conv%dx%d-gemmT/%s", p.KH, p.KW, c.gemm.Name)
		c.prepareT(cfg, weight)
		if c.tail != nil {
			c.name += fmt.Sprintf("+%dx%d", c.tail.MR, c.tail.NR)
		}
		return c, nil
	}
	c.gemm = SelectGemmFor(cfg, m, n, k)
	c.blk = c.gemm.blockingFor(k)
	var wk *winoKernels
	if archWino != nil && cfg.Allows(archWino.requires) {
		wk = archWino
	}
	if winogradOK(p, wk) && !cfg.NoWinograd && (dk == nil || min(p.InC, p.OutC) >= winogradDconvMinC) {
		c.algo = convWinograd
		c.gemm = SelectGemmFor(cfg, p.OutC, 256, p.InC)
		c.blk = c.gemm.blockingFor(p.InC)
		c.wino = wk
		c.name = "f32-conv3x3s1-winograd2x2/" + c.gemm.Name
		if wk != nil {
			c.name = "f32-conv3x3s1-winograd2x2-" + wk.requires.String() + "/" + c.gemm.Name
		}
		c.prepareWinograd(weight)
		return c, nil
	}
	stride := fmt.Sprintf("s%d", p.StrideH) // in kernel names
	if p.StrideW != p.StrideH {
		stride = fmt.Sprintf("s%dx%d", p.StrideH, p.StrideW)
	}
	if dk != nil {
		c.algo = convDirectA
		c.blk = blocking{kc: dconvKC(k)}
		c.name = fmt.Sprintf("f32-conv%dx%d%s-%s", p.KH, p.KW, stride, dk.name)
		c.padRows = selectPadRows(cfg, p.PadLeft, p.PadRight)
		c.prepareDirectA(dk, weight)
		return c, nil
	}
	if p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0 {
		c.algo = convPointwise
		c.name = "f32-conv1x1-gemm/" + c.gemm.Name
	} else if subsampleOK(p) {
		c.algo = convSubsample
		c.name = fmt.Sprintf("f32-conv1x1%s-subsample/%s", stride, c.gemm.Name)
	} else if c.gemm.ind != nil && (p.StrideH == 1 && p.StrideW == 1 || m <= directMaxM) {
		// Any stride: the indirect-B GEMM on the phase planes.
		c.algo = convWide
		c.wideOffs = c.wideOffsets()
		c.direct = true
		c.name = fmt.Sprintf("f32-conv%dx%d%s-igemm-direct/%s", p.KH, p.KW, stride, c.gemm.IndName)
		if rowDirectOK(p) {
			c.rowGemm = true
			c.name = fmt.Sprintf("f32-conv%dx%d%s-igemm-rows/%s", p.KH, p.KW, stride, c.gemm.IndName)
		}
	} else {
		c.algo = convWide
		c.wideOffs = c.wideOffsets()
		if archPackRows != nil && cfg.Allows(archPackRowsISA) && c.gemm.Requires != 0 && c.gemm.NR%16 == 0 {
			c.packRows = archPackRows
		}
		c.name = fmt.Sprintf("f32-conv%dx%d%s-igemm/%s", p.KH, p.KW, stride, c.gemm.Name)
	}
	c.pointwiseDirect(m, n, k, stride)
	c.wStride = prepackLen(c.gemm, c.blk, m, k)
	c.packedW = make([]float32, p.Group*c.wStride)
	for g := 0; g < p.Group; g++ {
		prepackA(c.gemm, c.blk, c.packedW[g*c.wStride:(g+1)*c.wStride], m, k, weight[g*m*k:(g+1)*m*k], k)
	}
	return c, nil
}

// Params returns the convolution's parameters.
func (c *Conv2D) Params() ConvParams { return c.p }

// Kernel names the implementation chosen, e.g.
// "f32-conv3x3-igemm/f32-gemm-6x64-avx512" or "f32-dwconv-3x3s1-avx512".
func (c *Conv2D) Kernel() string { return c.name }

// WorkspaceLen is the scratch length (float32 elements) Run needs. The
// implicit GEMM needs a padded (for strides, phase-split) copy of one
// group's input and, unless it runs direct, its output on the wide grid;
// pointwise and depthwise need none (packing memory is per worker and
// internal).
func (c *Conv2D) WorkspaceLen() int {
	p := &c.p
	switch c.algo {
	case convTransposed:
		colLen, ctLen := c.tLens()
		return colLen + ctLen
	case convWinograd:
		return c.winogradWS()
	case convDirectA:
		return c.dconvPadLen()
	case convSubsample:
		return (p.InC / p.Group) * p.OutH() * p.OutW()
	case convWide:
		padLen, wideLen := c.wideLens()
		if c.direct {
			// The indirect GEMM hands each panel of C to the copy-out.
			return padLen
		}
		return padLen + wideLen
	}
	return 0
}

// directMaxM is the most output channels (per group) for which a
// strided conv runs the indirect-B GEMM (f32-conv*s2-igemm-direct) rather
// than packing B from phase planes; stride-1 convs always take it when
// the kernel has an indirect variant. Packing costs per element of B, so
// it weighs most with few rows of A to amortise it, while the wide grid
// computes padding columns and its loads are unaligned (thread CPU time,
// one thread, packed → direct: 16→16 at 28² 0.045 → 0.034 ms, 32→32 at
// 28² 0.11 → 0.10, 64→64 at 32² 0.51 → 0.42-0.48, 128→128 at 16² 0.49-0.51
// → 0.48-0.49, 256→256 at 14² even; 128→91 s2 at 16² 0.22 → 0.18).
// With B packed from phase-plane runs: 64→64 3×3 s2 at 56² 0.62 → 0.60,
// 32→64 s2 at 28² 0.085 → 0.088, 3→64 7×7 s2 at 224² 1.99 → 1.87;
// 64→128 s2 at 32² 0.31 → 0.37, 128→256 s2 at 28² 0.91 → 1.03.
const directMaxM = 64

// wideGeom is the geometry of the wide-grid paths. The zero-padded input
// (hp×wp per channel) is split by row and column phase (y mod StrideH, x
// mod StrideW) into StrideH·StrideW planes of hq×wq, plane (py, px) at
// (py·StrideW + px)·hq·wq, so that the inputs of tap (ky, kx) for output
// position (oy, ox) sit at a fixed offset plus oy·wq + ox: the output
// grid OutH×wq, whose columns ox ≥ OutW are discarded, is the column
// space of the GEMM, and every im2col row is one contiguous run of it.
// With stride 1 there is one plane of hp×wp. slack pads the end.
func (c *Conv2D) wideGeom() (hq, wq, planeLen, slack int) {
	p := c.p
	hp, wp := p.InH+p.PadTop+p.PadBottom, p.InW+p.PadLeft+p.PadRight
	hq, wq = (hp+p.StrideH-1)/p.StrideH, (wp+p.StrideW-1)/p.StrideW
	return hq, wq, p.StrideH * p.StrideW * hq * wq, p.DilW*(p.KW-1) + 16
}

func (c *Conv2D) wideLens() (padLen, wideLen int) {
	p := c.p
	_, wq, planeLen, slack := c.wideGeom()
	return (p.InC/p.Group)*planeLen + slack, (p.OutC / p.Group) * p.OutH() * wq
}

// wideOffsets returns, for every im2col row r = (channel, ky, kx) of one
// group, the offset in the phase planes of its run for output position
// 0 of the wide grid (the run of position j starts j further).
func (c *Conv2D) wideOffsets() []int {
	p := c.p
	hq, wq, planeLen, _ := c.wideGeom()
	taps := p.KH * p.KW
	offs := make([]int, (p.InC/p.Group)*taps)
	for r := range offs {
		ch, t := r/taps, r%taps
		dy, dx := (t/p.KW)*p.DilH, (t%p.KW)*p.DilW
		plane := (dy%p.StrideH)*p.StrideW + dx%p.StrideW
		offs[r] = ch*planeLen + plane*hq*wq + dy/p.StrideH*wq + dx/p.StrideW
	}
	return offs
}

// runWide convolves one group's image on the wide grid: the input is
// copied into zero-padded phase planes (see wideGeom), where every
// im2col row (c, ky, kx) is one contiguous run; the indirect-B GEMM reads
// those runs in place and hands each finished panel of the grid to the
// copy into the output. Kernels without an indirect variant (stride 1
// only) pack B panels from the runs by plain copies instead, write the
// wide grid to the workspace and copy its valid columns out. packedA is
// the group's prepacked weights.
func (c *Conv2D) runWide(pool *Pool, gimg, dst, ws []float32, ep Epilogue, src *gemmSrc, m, k int, packedA []float32) {
	p := &c.p
	hq, wq, planeLen, _ := c.wideGeom()
	sh, sw := p.StrideH, p.StrideW
	padLen, wideLen := c.wideLens()
	pad := ws[:padLen]
	cg := p.InC / p.Group
	oh, ow := p.OutH(), p.OutW()
	nWide := oh * wq
	// The call's operands, the pool's loop body (a pooled wideTask: no
	// closure is allocated per call).
	a := wideTasks.Get().(*wideTask)
	defer func() {
		*a = wideTask{}
		wideTasks.Put(a)
	}()
	*a = wideTask{c: c, gimg: gimg, pad: pad, dst: dst, hq: hq, wq: wq, planeLen: planeLen, oh: oh, ow: ow, nWide: nWide}
	// The copies in and out run on the pool too unless they are tiny
	// (64×32²: about 30 µs each on one thread; 32→32 at 28²: splitting
	// its 28k-float copies gains 4–6% at 2 threads).
	par := func(phase, n, size int) {
		a.phase = phase
		if size >= 1<<12 {
			pool.ParallelTask(n, a)
		} else {
			a.Run(0, n)
		}
	}
	// Row and column phases no tap reads (1×1 strided convs use one
	// plane) are left zero.
	for t := 0; t < max(p.KH, p.KW); t++ {
		a.usedY[t*p.DilH%sh%2] = a.usedY[t*p.DilH%sh%2] || t < p.KH
		a.usedX[t*p.DilW%sw%2] = a.usedX[t*p.DilW%sw%2] || t < p.KW
	}
	par(wideCopyIn, cg, cg*planeLen)
	clear(pad[cg*planeLen:])
	if c.rowGemm {
		c.runRows(pool, pad, dst, ep, m, k, packedA)
		return
	}
	if c.direct {
		// Each finished panel of the wide grid (in L1 on the thread
		// that computed it) goes straight to the output (wideTask.emit).
		// The last row's padding columns are not computed.
		c.gemm.runIndirect(pool, c.blk, m, nWide-wq+ow, k, packedA, pad, c.wideOffs, nil, 0, ep, a)
		return
	}
	if wq == ow {
		// The wide grid is the output (no padding columns).
		c.runWidePacked(pool, pad, dst, ep, src, m, k)
		return
	}
	a.wide = ws[padLen : padLen+wideLen]
	c.runWidePacked(pool, pad, a.wide, ep, src, m, k)
	par(wideCopyOut, m, m*nWide)
}

// wideTask is one runWide call's operands and the body of its parallel
// loops: the copy of the image into the padded phase planes (wideCopyIn,
// over channels) and of the wide grid's valid columns to the output
// (wideCopyOut, over output channels); emit is its indEmit.
type wideTask struct {
	c                               *Conv2D
	gimg, pad, dst, wide            []float32
	usedY, usedX                    [2]bool
	hq, wq, planeLen, oh, ow, nWide int
	phase                           int
}

const (
	wideCopyIn = iota
	wideCopyOut
)

var wideTasks = sync.Pool{New: func() any { return new(wideTask) }}

// Run does a's phase for indices [lo, hi).
func (a *wideTask) Run(lo, hi int) {
	if a.phase == wideCopyOut {
		oh, ow, wq, nWide := a.oh, a.ow, a.wq, a.nWide
		for i := lo; i < hi; i++ {
			for y := 0; y < oh; y++ {
				copy(a.dst[(i*oh+y)*ow:(i*oh+y+1)*ow], a.wide[i*nWide+y*wq:i*nWide+y*wq+ow])
			}
		}
		return
	}
	p := &a.c.p
	pad, gimg, planeLen, hq, wq := a.pad, a.gimg, a.planeLen, a.hq, a.wq
	sh, sw := p.StrideH, p.StrideW
	if sh == 1 && sw == 1 {
		// One plane per channel: zero only its border.
		for ch := lo; ch < hi; ch++ {
			plane := pad[ch*planeLen : (ch+1)*planeLen]
			clear(plane[:p.PadTop*wq])
			for y := 0; y < p.InH; y++ {
				prow := plane[(y+p.PadTop)*wq : (y+p.PadTop+1)*wq]
				clear(prow[:p.PadLeft])
				copy(prow[p.PadLeft:], gimg[(ch*p.InH+y)*p.InW:(ch*p.InH+y+1)*p.InW])
				clear(prow[p.PadLeft+p.InW:])
			}
			clear(plane[(p.PadTop+p.InH)*wq:])
		}
		return
	}
	for ch := lo; ch < hi; ch++ {
		clear(pad[ch*planeLen : (ch+1)*planeLen]) // while in L1
		for y := 0; y < p.InH; y++ {
			yp := y + p.PadTop
			if sh == 2 && !a.usedY[yp%2] {
				continue
			}
			prow := pad[ch*planeLen+(yp%sh)*sw*hq*wq+yp/sh*wq:]
			row := gimg[(ch*p.InH+y)*p.InW : (ch*p.InH+y+1)*p.InW]
			if sw == 1 {
				copy(prow[p.PadLeft:], row)
				continue
			}
			if sw == 2 {
				// Even x to phase PadLeft mod 2, odd x to the other.
				pe, po := p.PadLeft&1, (p.PadLeft+1)&1
				ev := prow[pe*hq*wq+p.PadLeft>>1:][:(p.InW+1)/2]
				od := prow[po*hq*wq+(p.PadLeft+1)>>1:][:p.InW/2]
				switch {
				case a.usedX[pe] && a.usedX[po]:
					deinterleave2(ev, od, row)
				case a.usedX[pe]:
					everyOther(ev, row)
				default:
					everyOther(od, row[1:])
				}
				continue
			}
			// Phase px holds the columns x ≡ px − PadLeft (mod sw).
			for px := 0; px < sw; px++ {
				x0 := ((px-p.PadLeft)%sw + sw) % sw
				if x0 >= p.InW {
					continue
				}
				d := prow[px*hq*wq+(x0+p.PadLeft)/sw:]
				d = d[:(p.InW-x0+sw-1)/sw]
				for i := range d {
					d[i] = row[x0+i*sw]
				}
			}
		}
	}
}

// emit copies a finished panel of the wide grid (rows [i0,i1), columns
// [j0,j0+nc) at tile[(i−i0)·ldt + j−j0]) to the output: the columns
// ox < OutW of every output row it overlaps.
func (a *wideTask) emit(tile []float32, ldt, i0, i1, j0, nc int) {
	oh, ow, wq, dst := a.oh, a.ow, a.wq, a.dst
	for y := j0 / wq; y < oh && y*wq < j0+nc; y++ {
		x0, x1 := max(j0, y*wq), min(j0+nc, y*wq+ow)
		if x0 >= x1 {
			continue
		}
		for i := i0; i < i1; i++ {
			d := (i*oh+y)*ow + x0 - y*wq
			copy(dst[d:d+x1-x0], tile[(i-i0)*ldt+x0-j0:(i-i0)*ldt+x1-j0])
		}
	}
}

// deinterleave2 splits row into its even (ev) and odd (od) elements;
// len(ev) = (len(row)+1)/2, len(od) = len(row)/2.
func deinterleave2(ev, od, row []float32) {
	n := len(od)
	ev, row = ev[:n+len(row)&1], row[:2*n+len(row)&1]
	for i := range n {
		r := row[2*i : 2*i+2 : 2*i+2]
		ev[i], od[i] = r[0], r[1]
	}
	if len(row)&1 != 0 {
		ev[n] = row[2*n]
	}
}

// everyOther sets d[i] = row[2i] for i < len(d) ≤ (len(row)+1)/2.
func everyOther(d, row []float32) {
	if len(d) == 0 {
		return
	}
	row = row[:2*len(d)-1]
	for i := range d {
		d[i] = row[2*i]
	}
}

// runWidePacked is the GEMM of runWide for kernels without an indirect-B
// variant and for strided convs with many output channels: B panels are
// packed from the runs in the padded phase planes pad by plain copies.
func (c *Conv2D) runWidePacked(pool *Pool, pad, wide []float32, ep Epilogue, src *gemmSrc, m, k int) {
	_, wq, _, _ := c.wideGeom()
	nWide := c.p.OutH() * wq
	src.rows, src.rowOffs, src.packRows = pad, c.wideOffs, c.packRows
	c.gemm.run(pool, c.blk, m, nWide, k, src, false, wide, nWide, ep)
}

// packRowsGeneric is the generic twin of packRowsAVX: for rr < len(offs)
// the nfull·nr floats at src[offs[rr]:] go to row rr of nfull panels of
// kc×nr in dst.
func packRowsGeneric(dst, src []float32, offs []int, kc, nfull, nr int) {
	for rr, off := range offs[:kc] {
		for q := 0; q < nfull; q++ {
			copy(dst[(q*kc+rr)*nr:(q*kc+rr+1)*nr], src[off+q*nr:off+(q+1)*nr])
		}
	}
}

// Run convolves batch images: in is batch×InC×InH×InW, out is
// batch×OutC×OutH×OutW; ws has at least WorkspaceLen() elements (nil
// when that is zero).
func (c *Conv2D) Run(pool *Pool, batch int, in, out, ws []float32) {
	p := c.p
	hw := p.OutH() * p.OutW()
	inSize := p.InC * p.InH * p.InW
	if len(in) < batch*inSize || len(out) < batch*p.OutC*hw || len(ws) < c.WorkspaceLen() {
		panic("kernels: Conv2D.Run buffers too short")
	}
	if c.algo == convDepthwise {
		c.runDepthwise(pool, batch, in, out)
		return
	}
	if c.algo == convTransposed {
		for b := 0; b < batch; b++ {
			c.runT(pool, in[b*inSize:(b+1)*inSize], out[b*p.OutC*hw:(b+1)*p.OutC*hw], ws)
		}
		return
	}
	if c.algo == convWinograd {
		for b := 0; b < batch; b++ {
			c.runWinograd(pool, in[b*inSize:(b+1)*inSize], out[b*p.OutC*hw:(b+1)*p.OutC*hw], ws)
		}
		return
	}
	m, k := p.OutC/p.Group, (p.InC/p.Group)*p.KH*p.KW
	cg := p.InC / p.Group
	for b := 0; b < batch; b++ {
		img := in[b*inSize : (b+1)*inSize]
		dst := out[b*p.OutC*hw : (b+1)*p.OutC*hw]
		for g := 0; g < p.Group; g++ {
			gimg := img[g*cg*p.InH*p.InW : (g+1)*cg*p.InH*p.InW]
			src := gemmSrc{
				pa:         c.packedW[g*c.wStride : (g+1)*c.wStride],
				mpadA:      (m + c.gemm.MR - 1) / c.gemm.MR * c.gemm.MR,
				alignM:     c.gemm.MR,
				prepackedA: true,
			}
			ep := Epilogue{Act: p.Act}
			if c.bias != nil {
				ep.RowBias = c.bias[g*m : (g+1)*m]
			}
			if c.algo == convDirectA {
				c.runDirectA(pool, gimg, dst[g*m*hw:(g+1)*m*hw], ws, ep, m, k, c.packedW[g*c.wStride:(g+1)*c.wStride])
				continue
			}
			if c.algo == convWide {
				c.runWide(pool, gimg, dst[g*m*hw:(g+1)*m*hw], ws, ep, &src, m, k, c.packedW[g*c.wStride:(g+1)*c.wStride])
				continue
			}
			if c.algo == convSubsample {
				c.subsample(pool, gimg, ws[:cg*hw])
				gimg = ws[:cg*hw]
			}
			if c.pwOffs != nil {
				c.gemm.runIndirect(pool, c.blk, m, hw, k, src.pa, gimg, c.pwOffs, dst[g*m*hw:(g+1)*m*hw], hw, ep, nil)
				continue
			}
			src.bm, src.ldb = gimg, hw
			c.gemm.run(c.gemmPool(pool, m, hw, k, &src), c.blk, m, hw, k, &src, false, dst[g*m*hw:(g+1)*m*hw], hw, ep)
		}
	}
}

// prepackLen is the length of an m×k A matrix prepacked for g and blk.
func prepackLen(g *GemmKernel, blk blocking, m, k int) int {
	return (m + g.MR - 1) / g.MR * g.MR * k
}

// prepackA packs the row-major m×k matrix a (leading dimension lda) into
// dst: for each K block starting at k0, the ceil(m/MR) panels of kc×MR at
// offset k0·Mpad, as the GEMM driver consumes them.
func prepackA(g *GemmKernel, blk blocking, dst []float32, m, k int, a []float32, lda int) {
	mpad := (m + g.MR - 1) / g.MR * g.MR
	for k0 := 0; k0 < k; k0 += blk.kc {
		kc := min(blk.kc, k-k0)
		packA(g.MR, dst[k0*mpad:k0*mpad+kc*mpad], false, 1, a, lda, 0, m, k0, kc)
	}
}
