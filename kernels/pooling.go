package kernels

import (
	"fmt"
	"math"
	"sync"
)

// PoolKind is the reduction of a pooling window.
type PoolKind uint8

// Pooling reductions.
const (
	PoolMax PoolKind = iota // maximum of the taps inside the input
	PoolAvg                 // mean of the taps (see PoolParams.CountIncludePad)
)

// String is "max" or "avg".
func (k PoolKind) String() string {
	if k == PoolAvg {
		return "avg"
	}
	return "max"
}

// PoolParams describes an N-D pooling (N ≥ 1) of channel planes. The
// output size is given, not derived, because ceil_mode and auto_pad are
// operator-level rules: window o of dimension d starts at input
// coordinate o·Strides[d] − PadsBegin[d] and has Kernel[d] taps spaced
// Dilations[d] apart. Taps outside the input are skipped.
type PoolParams struct {
	Kind      PoolKind
	In        []int // input spatial dimensions
	Out       []int // output spatial dimensions
	Kernel    []int
	Strides   []int
	Dilations []int
	PadsBegin []int
	// PadsEnd bounds the padded region at the end of each dimension; it
	// only matters for CountIncludePad.
	PadsEnd []int
	// CountIncludePad makes an average divide by the number of taps
	// inside the padded input [−PadsBegin, In+PadsEnd) instead of the
	// number inside the input.
	CountIncludePad bool
}

// Validate checks the parameters; operators call it at creation.
func (p PoolParams) Validate() error {
	nd := len(p.In)
	switch {
	case nd == 0:
		return fmt.Errorf("kernels: pooling needs at least one spatial dimension")
	case len(p.Out) != nd || len(p.Kernel) != nd || len(p.Strides) != nd || len(p.Dilations) != nd || len(p.PadsBegin) != nd || len(p.PadsEnd) != nd:
		return fmt.Errorf("kernels: pooling output, kernel, strides, dilations and pads must each have %d entries", nd)
	case p.Kind != PoolMax && p.Kind != PoolAvg:
		return fmt.Errorf("kernels: unknown pooling kind %d", p.Kind)
	}
	for d := 0; d < nd; d++ {
		switch {
		case p.In[d] <= 0 || p.Out[d] <= 0 || p.Kernel[d] <= 0:
			return fmt.Errorf("kernels: pooling sizes must be positive (input %v, output %v, kernel %v)", p.In, p.Out, p.Kernel)
		case p.Strides[d] <= 0 || p.Dilations[d] <= 0:
			return fmt.Errorf("kernels: pooling strides and dilations must be positive (strides %v, dilations %v)", p.Strides, p.Dilations)
		case p.PadsBegin[d] < 0 || p.PadsEnd[d] < 0:
			return fmt.Errorf("kernels: pooling pads must not be negative (%v, %v)", p.PadsBegin, p.PadsEnd)
		}
	}
	return nil
}

// poolSerialBelow is the input size (floats) under which pooling runs on
// the caller alone: a few µs of work, less than waking the workers.
const poolSerialBelow = 1 << 15

// Pooling is a planned pooling operation. Run is safe for concurrent use
// with distinct buffers.
type Pooling struct {
	p       PoolParams
	inSize  int
	outSize int
	ranges  [][]poolRange                   // per dimension, per output index
	nest3   bool                            // rank ≤ 3: the three-level loop nest applies
	max2D   bool                            // 2-D max pooling: planeMax2D applies
	rowMax  func(dst, a, b *float32, n int) // assembly row max or nil
	// Stride-2 max pooling (kernel ≤ 3 rows × 2 or 3 columns, no x
	// dilation, no indices): planeMaxS2 with s2Plane (assembly) or
	// maxPoolS2Generic on the windows [s2X[0], s2X[1]) that start inside
	// the row (those cut by its end included); s2Offs holds per output
	// row the offsets of its three input rows (a row repeated when the
	// window has fewer) plus the first window's start, s2Avail the row
	// elements from there.
	s2      bool
	s2Plane func(dst, src *float32, offs *int, rows, ldd, n, kw int, masks *[5]uint16)
	s2Offs  []int
	s2X     [2]int
	s2Avail int
	s2Masks [5]uint16
	fullX   [2]int // planeMax2D: outputs [jf, jl) with whole windows
	// Row pass (rank ≤ 3, no indices): for kernel column kx, the outputs
	// [xlo[kx], xhi[kx]) of a row read input column ox·stride + xoff[kx].
	xlo, xhi, xoff []int
	name           string
}

// poolRange is the tap range of one window along one dimension: taps
// k in [lo, hi) fall inside the input; start is the first tap's input
// coordinate; padded counts the taps inside the padded input.
type poolRange struct {
	start, lo, hi, padded int
}

// NewPooling validates p and prepares the pooling.
func NewPooling(cfg Config, p PoolParams) (*Pooling, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	nd := len(p.In)
	k := &Pooling{p: p, inSize: ndProd(p.In), outSize: ndProd(p.Out), nest3: nd <= 3, max2D: nd == 2 && p.Kind == PoolMax}
	k.ranges = make([][]poolRange, nd)
	for d := 0; d < nd; d++ {
		rs := make([]poolRange, p.Out[d])
		for o := range rs {
			start := o*p.Strides[d] - p.PadsBegin[d]
			lo, hi := ndValidRange(start, p.Dilations[d], p.In[d], p.Kernel[d])
			// Taps inside [−PadsBegin, In+PadsEnd): start ≥ −PadsBegin always.
			_, padded := ndValidRange(start+p.PadsBegin[d], p.Dilations[d], p.In[d]+p.PadsBegin[d]+p.PadsEnd[d], p.Kernel[d])
			rs[o] = poolRange{start: start, lo: lo, hi: hi, padded: padded}
		}
		k.ranges[d] = rs
	}
	if k.nest3 {
		last := nd - 1
		kw := p.Kernel[last]
		k.xlo, k.xhi, k.xoff = make([]int, kw), make([]int, kw), make([]int, kw)
		for kx := 0; kx < kw; kx++ {
			k.xoff[kx] = kx*p.Dilations[last] - p.PadsBegin[last]
			k.xlo[kx], k.xhi[kx] = ndValidRange(k.xoff[kx], p.Strides[last], p.In[last], p.Out[last])
		}
		k.name = fmt.Sprintf("f32-%spool-%dd-generic", p.Kind, nd)
		if k.max2D {
			jf, jl := -1, 0
			for j, x := range k.ranges[1] {
				if x.lo == 0 && x.hi == p.Kernel[1] {
					if jf < 0 {
						jf = j
					}
					jl = j + 1
				}
			}
			k.fullX = [2]int{max(jf, 0), jl}
		}
		if k.max2D && archMaxRows != nil && cfg.Allows(archMaxRowsISA) {
			k.rowMax = archMaxRows
			k.name = "f32-maxpool-2d-" + archMaxRowsISA.String()
		}
		if k.max2D && p.Kernel[0] <= 3 && (p.Kernel[1] == 2 || p.Kernel[1] == 3) && p.Strides[1] == 2 && p.Dilations[1] == 1 {
			k.planS2(cfg)
		}
	} else {
		k.name = fmt.Sprintf("f32-%spool-nd-generic", p.Kind)
	}
	return k, nil
}

// Kernel names the implementation chosen.
func (k *Pooling) Kernel() string { return k.name }

// Run pools planes channel planes: in is planes × prod(In), out is
// planes × prod(Out). For PoolMax, idx may be non-nil with the length of
// out; it receives the row-major index of each maximum inside its input
// plane (−1 for a window with no tap inside the input, whose value is
// −Inf). A NaN inside a window makes its maximum (and average) NaN, with
// the index of the first NaN. A window of an average with no counted tap
// gives NaN.
func (k *Pooling) Run(pool *Pool, planes int, in, out []float32, idx []int64) {
	if planes*k.inSize < poolSerialBelow {
		pool = nil
	}
	parallelArgs(pool, &poolingTasks, planes, poolingArgs{k, in, out, idx}, (*poolingArgs).planes)
}

// poolingArgs are Pooling.Run's operands for the pool.
type poolingArgs struct {
	k       *Pooling
	in, out []float32
	idx     []int64
}

var poolingTasks sync.Pool

// planes pools planes [lo,hi).
func (a *poolingArgs) planes(lo, hi int) {
	k := a.k
	for c := lo; c < hi; c++ {
		src := a.in[c*k.inSize : (c+1)*k.inSize]
		dst := a.out[c*k.outSize : (c+1)*k.outSize]
		var di []int64
		if a.idx != nil {
			di = a.idx[c*k.outSize : (c+1)*k.outSize]
		}
		switch {
		case k.s2 && di == nil:
			k.planeMaxS2(src, dst)
		case k.max2D && di == nil:
			k.planeMax2D(src, dst)
		case k.nest3 && di == nil:
			k.planeRows(src, dst)
		case k.nest3:
			k.plane3(src, dst, di)
		default:
			k.planeND(src, dst, di)
		}
	}
}

// plane3 pools one plane of rank ≤ 3 with a three-level loop nest (the
// missing leading dimensions have size 1).
func (k *Pooling) plane3(src, dst []float32, di []int64) {
	p := &k.p
	nd := len(p.In)
	one := []poolRange{{lo: 0, hi: 1, padded: 1}}
	rz, ry := one, one
	iy, dz, dy := 1, 1, 1
	rx, ix, dx := k.ranges[nd-1], p.In[nd-1], p.Dilations[nd-1]
	if nd >= 2 {
		ry, iy, dy = k.ranges[nd-2], p.In[nd-2], p.Dilations[nd-2]
	}
	if nd >= 3 {
		rz, dz = k.ranges[0], p.Dilations[0]
	}
	isMax := p.Kind == PoolMax
	i := 0
	for _, z := range rz {
		for _, y := range ry {
			for _, x := range rx {
				if isMax {
					m, at := float32(math.Inf(-1)), int64(-1)
					for kz := z.lo; kz < z.hi; kz++ {
						pz := z.start + kz*dz
						for ky := y.lo; ky < y.hi; ky++ {
							row := (pz*iy + y.start + ky*dy) * ix
							for kx := x.lo; kx < x.hi; kx++ {
								off := row + x.start + kx*dx
								if v := src[off]; v > m || at < 0 || (v != v && m == m) {
									m, at = v, int64(off)
								}
							}
						}
					}
					dst[i] = m
					if di != nil {
						di[i] = at
					}
				} else {
					var s float32
					for kz := z.lo; kz < z.hi; kz++ {
						pz := z.start + kz*dz
						for ky := y.lo; ky < y.hi; ky++ {
							row := (pz*iy + y.start + ky*dy) * ix
							for kx := x.lo; kx < x.hi; kx++ {
								s += src[row+x.start+kx*dx]
							}
						}
					}
					var n int
					if p.CountIncludePad {
						n = z.padded * y.padded * x.padded
					} else {
						n = (z.hi - z.lo) * (y.hi - y.lo) * (x.hi - x.lo)
					}
					dst[i] = s / float32(n)
				}
				i++
			}
		}
	}
}

// planeMax2D max-pools one 2-D plane without indices with row
// operations only: the valid input rows of an output row's windows are
// merged by an elementwise max, then acc[x] = max over kx of
// merged[x + kx·dx] (shifted rows), and each output whose window lies
// inside the row picks acc[start]; windows cut by the padding take the
// max of their taps. Every max is a row max (maxRows: AVX-512 or Go);
// NaN propagates as in plane3.
func (k *Pooling) planeMax2D(src, dst []float32) {
	p := &k.p
	ix, dy, dx := p.In[1], p.Dilations[0], p.Dilations[1]
	kw := p.Kernel[1]
	rx := k.ranges[1]
	ow := len(rx)
	sc := getScratch(2 * ix)
	defer putScratch(sc)
	tmp, acc := sc.buf[:ix], sc.buf[ix:2*ix]
	negInf := float32(math.Inf(-1))
	span := (kw - 1) * dx // acc is valid for x < ix − span
	for oy, y := range k.ranges[0] {
		out := dst[oy*ow : (oy+1)*ow]
		if y.lo >= y.hi {
			for j := range out {
				out[j] = negInf
			}
			continue
		}
		merged := src[(y.start+y.lo*dy)*ix:][:ix]
		for ky := y.lo + 1; ky < y.hi; ky++ {
			k.maxRows(tmp, merged, src[(y.start+ky*dy)*ix:][:ix])
			merged = tmp
		}
		full := merged
		if kw > 1 && span < ix {
			n := ix - span
			k.maxRows(acc[:n], merged[:n], merged[dx:dx+n])
			for kx := 2; kx < kw; kx++ {
				k.maxRows(acc[:n], acc[:n], merged[kx*dx:kx*dx+n])
			}
			full = acc[:n]
		}
		// Outputs [jf, jl) have whole windows: a strided pick.
		jf, jl := k.fullX[0], k.fullX[1]
		if kw > 1 && span >= ix {
			jf, jl = 0, 0
		}
		if jf < jl {
			sx, x0 := p.Strides[1], rx[jf].start-jf*p.Strides[1]
			o := out[jf:jl]
			_ = full[(jl-1)*sx+x0]
			for j := range o {
				o[j] = full[(jf+j)*sx+x0]
			}
		}
		edge := func(j0, j1 int) {
			for j := j0; j < j1; j++ {
				x := rx[j]
				m := negInf
				for kx := x.lo; kx < x.hi; kx++ {
					m = max(m, merged[x.start+kx*dx])
				}
				out[j] = m
			}
		}
		if jf < jl {
			edge(0, jf)
			edge(jl, ow)
		} else {
			edge(0, ow)
		}
	}
}

// planS2 prepares planeMaxS2 unless no window starts inside the row or
// a row of windows has no tap inside the input.
func (k *Pooling) planS2(cfg Config) {
	p := &k.p
	kh, kw, ix, dy := p.Kernel[0], p.Kernel[1], p.In[1], p.Dilations[0]
	jf, je := -1, -1
	for j, x := range k.ranges[1] {
		if x.start >= 0 && x.start < ix {
			if jf < 0 {
				jf = j
			}
			je = j + 1
		}
	}
	if jf < 0 {
		return
	}
	x0 := k.ranges[1][jf].start
	offs := make([]int, 0, 3*len(k.ranges[0]))
	for _, y := range k.ranges[0] {
		nr := y.hi - y.lo
		if nr <= 0 {
			return
		}
		for i := range 3 {
			offs = append(offs, (y.start+(y.lo+min(i, nr-1))*dy)*ix+x0)
		}
	}
	k.s2, k.s2Offs, k.s2X, k.s2Avail = true, offs, [2]int{jf, je}, ix-x0
	k.s2Masks = poolS2Masks(je-jf, kw, ix-x0)
	k.name = fmt.Sprintf("f32-maxpool-%dx%ds2-generic", kh, kw)
	if archMaxPoolS2 != nil && cfg.Allows(archMaxPoolS2ISA) {
		k.s2Plane = archMaxPoolS2
		k.name = fmt.Sprintf("f32-maxpool-%dx%ds2-%s", kh, kw, archMaxPoolS2ISA)
	}
}

// planeMaxS2 max-pools one 2-D plane with a stride-2 kernel of at most
// 3 rows and 2 or 3 columns: the plane kernel computes the windows
// [s2X[0], s2X[1]) of every output row (the taps past the row's end
// skipped); windows starting in the left padding (or wholly outside the
// row) take the max of their taps in Go.
func (k *Pooling) planeMaxS2(src, dst []float32) {
	p := &k.p
	ix, kw := p.In[1], p.Kernel[1]
	rx := k.ranges[1]
	ow, oh := len(rx), len(k.ranges[0])
	jf, je := k.s2X[0], k.s2X[1]
	_, _ = src[p.In[0]*ix-1], dst[oh*ow-1]
	if k.s2Plane != nil {
		k.s2Plane(&dst[jf], &src[0], &k.s2Offs[0], oh, ow, je-jf, kw, &k.s2Masks)
	} else {
		maxPoolS2Generic(dst[jf:], src, k.s2Offs, oh, ow, je-jf, kw, k.s2Avail)
	}
	if jf == 0 && je == ow {
		return
	}
	// The windows outside [jf, je): the three row offsets of each output
	// row (relative to x0, one repeated when the window has fewer rows,
	// which leaves the maximum unchanged) are those of the plane kernel.
	x0 := rx[jf].start
	for oy := 0; oy < oh; oy++ {
		o3 := k.s2Offs[3*oy : 3*oy+3 : 3*oy+3]
		r0, r1, r2 := o3[0]-x0, o3[1]-x0, o3[2]-x0
		out := dst[oy*ow : (oy+1)*ow]
		for o := range ow {
			if o == jf {
				if o = je; o >= ow {
					break
				}
			}
			x := rx[o]
			m := float32(math.Inf(-1))
			for t := x.start + x.lo; t < x.start+x.hi; t++ {
				m = max(m, src[r0+t], src[r1+t], src[r2+t])
			}
			out[o] = m
		}
	}
}

// poolS2Masks returns the masks of maxPoolS2AVX512 for n outputs of
// kernel width kw on rows of avail elements: for the last 1..16 outputs,
// the input lanes [0,16), [16,32), [2,18), [18,34) of the block that lie
// inside the row and the windows (the last two for kw 3 only), and the
// outputs.
func poolS2Masks(n, kw, avail int) (m [5]uint16) {
	t := n - 16*((n-1)/16)
	e0 := 2 * (n - t)
	lim := min(avail, 2*n+kw-2) - e0 // row elements the last block may read
	bits := func(c int) uint16 {
		c = min(max(c, 0), 16)
		return uint16(1<<c - 1)
	}
	m[0], m[1] = bits(lim), bits(lim-16)
	if kw == 3 {
		m[2], m[3] = bits(lim-2), bits(lim-18)
	}
	m[4] = bits(t)
	return m
}

// maxPoolS2Generic is the generic twin of maxPoolS2AVX512: for each
// output row r < rows, dst[r·ldd+j] = max over the input rows
// src[offs[3r+i]:] (i < 3) and kx < kw with 2j+kx < avail of
// row[2j+kx], for j < n, NaN propagating.
func maxPoolS2Generic(dst, src []float32, offs []int, rows, ldd, n, kw, avail int) {
	if n == 0 {
		return
	}
	w := min(avail, 2*n+kw-2) // elements read per row
	full := n
	if 2*(n-1)+kw > w {
		full-- // the last window is cut by the row's end
	}
	for r := range rows {
		r0, r1, r2 := src[offs[3*r]:][:w], src[offs[3*r+1]:][:w], src[offs[3*r+2]:][:w]
		out := dst[r*ldd:][:n]
		for j := range full {
			x := 2 * j
			m := max(r0[x], r1[x], r2[x], r0[x+1], r1[x+1], r2[x+1])
			if kw == 3 {
				m = max(m, r0[x+2], r1[x+2], r2[x+2])
			}
			out[j] = m
		}
		if full < n {
			m := float32(math.Inf(-1))
			for x := 2 * full; x < w; x++ {
				m = max(m, r0[x], r1[x], r2[x])
			}
			out[full] = m
		}
	}
}

// maxRows sets dst[i] = max(a[i], b[i]) for i < len(dst) with the
// kernel chosen at creation.
func (k *Pooling) maxRows(dst, a, b []float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	a, b = a[:n], b[:n]
	if k.rowMax != nil {
		k.rowMax(&dst[0], &a[0], &b[0], n)
		return
	}
	maxRowsGeneric(dst, a, b)
}

// maxRowsGeneric is the generic twin of maxRowsAVX512: dst[i] =
// max(a[i], b[i]), NaN propagating; dst may be a.
func maxRowsGeneric(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = max(a[i], b[i])
	}
}

// planeRows pools one plane of rank ≤ 3 without indices, one output row
// at a time: for each valid (kz, ky) tap and each kernel column kx, one
// strided pass over the input row updates the whole output row. Per
// output the taps are visited in the same order as in plane3.
func (k *Pooling) planeRows(src, dst []float32) {
	p := &k.p
	nd := len(p.In)
	one := []poolRange{{lo: 0, hi: 1, padded: 1}}
	rz, ry := one, one
	iy, dz, dy := 1, 1, 1
	rx, ix, sx := k.ranges[nd-1], p.In[nd-1], p.Strides[nd-1]
	if nd >= 2 {
		ry, iy, dy = k.ranges[nd-2], p.In[nd-2], p.Dilations[nd-2]
	}
	if nd >= 3 {
		rz, dz = k.ranges[0], p.Dilations[0]
	}
	isMax := p.Kind == PoolMax
	ow := len(rx)
	i := 0
	for _, z := range rz {
		for _, y := range ry {
			acc := dst[i : i+ow]
			if isMax {
				for j := range acc {
					acc[j] = float32(math.Inf(-1))
				}
			} else {
				clear(acc)
			}
			for kz := z.lo; kz < z.hi; kz++ {
				pz := z.start + kz*dz
				for ky := y.lo; ky < y.hi; ky++ {
					row := src[(pz*iy+y.start+ky*dy)*ix:][:ix]
					for kx, off := range k.xoff {
						lo, hi := k.xlo[kx], k.xhi[kx]
						if lo >= hi {
							continue
						}
						a := acc[lo:hi]
						switch {
						case sx == 1 && isMax:
							for j, v := range row[lo+off : hi+off] {
								a[j] = max(a[j], v)
							}
						case sx == 1:
							for j, v := range row[lo+off : hi+off] {
								a[j] += v
							}
						case isMax:
							for j := range a {
								a[j] = max(a[j], row[(lo+j)*sx+off])
							}
						default:
							for j := range a {
								a[j] += row[(lo+j)*sx+off]
							}
						}
					}
				}
			}
			if !isMax {
				for j, x := range rx {
					var n int
					if p.CountIncludePad {
						n = z.padded * y.padded * x.padded
					} else {
						n = (z.hi - z.lo) * (y.hi - y.lo) * (x.hi - x.lo)
					}
					acc[j] /= float32(n)
				}
			}
			i += ow
		}
	}
}

// planeND pools one plane of any rank with odometers over output
// positions and taps; it is the reference the loop nest is tested
// against and the path for rank > 3.
func (k *Pooling) planeND(src, dst []float32, di []int64) {
	p := &k.p
	nd := len(p.In)
	stride := make([]int, nd)
	s := 1
	for d := nd - 1; d >= 0; d-- {
		stride[d] = s
		s *= p.In[d]
	}
	o := make([]int, nd)
	t := make([]int, nd)
	for i := range dst {
		// Window ranges for output position o.
		empty := false
		cnt, padded := 1, 1
		for d := 0; d < nd; d++ {
			r := k.ranges[d][o[d]]
			if r.lo >= r.hi {
				empty = true
			}
			cnt *= r.hi - r.lo
			padded *= r.padded
			t[d] = r.lo
		}
		m, at := float32(math.Inf(-1)), int64(-1)
		var sum float32
		if !empty {
			for {
				off := 0
				for d := 0; d < nd; d++ {
					r := k.ranges[d][o[d]]
					off += (r.start + t[d]*p.Dilations[d]) * stride[d]
				}
				v := src[off]
				if v > m || at < 0 || (v != v && m == m) {
					m, at = v, int64(off)
				}
				sum += v
				d := nd - 1
				for ; d >= 0; d-- {
					t[d]++
					if t[d] < k.ranges[d][o[d]].hi {
						break
					}
					t[d] = k.ranges[d][o[d]].lo
				}
				if d < 0 {
					break
				}
			}
		}
		if p.Kind == PoolMax {
			dst[i] = m
			if di != nil {
				di[i] = at
			}
		} else if p.CountIncludePad {
			dst[i] = sum / float32(padded)
		} else {
			dst[i] = sum / float32(cnt)
		}
		for d := nd - 1; d >= 0; d-- {
			o[d]++
			if o[d] < p.Out[d] {
				break
			}
			o[d] = 0
		}
	}
}

// GlobalPooling is a planned global pooling: each channel plane of Size
// elements reduced to one value. Run is safe for concurrent use with
// distinct buffers.
type GlobalPooling struct {
	kind PoolKind
	size int
	sum  func(x *float32, n int) float64 // assembly float64 sum or nil
	name string
}

// NewGlobalPooling plans the global pooling of planes of size elements:
// f32-globalavgpool-avx512 (float64 sums of 16 lanes) or -generic, and
// f32-globalmaxpool-generic.
func NewGlobalPooling(cfg Config, kind PoolKind, size int) (*GlobalPooling, error) {
	switch {
	case kind != PoolMax && kind != PoolAvg:
		return nil, fmt.Errorf("kernels: unknown pooling kind %d", kind)
	case size <= 0:
		return nil, fmt.Errorf("kernels: global pooling of planes of %d elements; planes must not be empty", size)
	}
	g := &GlobalPooling{kind: kind, size: size, name: "f32-global" + kind.String() + "pool-generic"}
	if kind == PoolAvg && archSumF64 != nil && cfg.Allows(archSumF64ISA) {
		g.sum = archSumF64
		g.name = "f32-globalavgpool-" + archSumF64ISA.String()
	}
	return g, nil
}

// Kernel names the implementation chosen.
func (g *GlobalPooling) Kernel() string { return g.name }

// Run reduces planes planes: in is planes × size, out has planes
// elements; planes are split over the pool. The mean accumulates in
// float64; the maximum keeps the first of equal values (a NaN after the
// first element is skipped).
func (g *GlobalPooling) Run(pool *Pool, planes int, in, out []float32) {
	size := g.size
	if planes <= 0 {
		return
	}
	_, _ = in[planes*size-1], out[planes-1]
	if planes*size < poolSerialBelow {
		pool = nil
	}
	parallelArgs(pool, &globalTasks, planes, globalArgs{g, in, out}, (*globalArgs).planes)
}

// globalArgs are GlobalPooling.Run's operands for the pool.
type globalArgs struct {
	g       *GlobalPooling
	in, out []float32
}

var globalTasks sync.Pool

// planes reduces planes [lo,hi).
func (a *globalArgs) planes(lo, hi int) {
	g, size := a.g, a.g.size
	for c := lo; c < hi; c++ {
		x := a.in[c*size : (c+1)*size]
		switch {
		case g.kind == PoolMax:
			m := x[0]
			for _, v := range x[1:] {
				if v > m {
					m = v
				}
			}
			a.out[c] = m
		case g.sum != nil:
			a.out[c] = float32(g.sum(&x[0], size) / float64(size))
		default:
			a.out[c] = float32(sumF64Generic(x) / float64(size))
		}
	}
}

// sumF64Generic is the generic twin of sumF64AVX512: the sum of x in
// float64 (four partial sums).
func sumF64Generic(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		s0 += float64(v[0])
		s1 += float64(v[1])
		s2 += float64(v[2])
		s3 += float64(v[3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// GlobalPool reduces each of planes planes of size elements to one value
// (mean or maximum) with the best kernel for this CPU (NewGlobalPooling),
// split over the pool. in is planes × size, out has planes elements. The
// mean accumulates in float64.
func GlobalPool(pool *Pool, kind PoolKind, planes, size int, in, out []float32) {
	g, err := NewGlobalPooling(Config{}, kind, size)
	if err != nil {
		panic("kernels: global pooling of empty planes")
	}
	if planes > 0 {
		g.Run(pool, planes, in, out)
	}
}
