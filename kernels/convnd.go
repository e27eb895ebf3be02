package kernels

import "fmt"

// ConvNDParams describes an N-dimensional convolution (N ≥ 1) of one
// channel-first image: the input is InC × In[0] × … × In[N-1], the
// weights are OutC × (InC/Group) × Kernel[0] × … × Kernel[N-1] and the
// output is OutC × Out()[0] × … . All per-dimension slices have N entries.
type ConvNDParams struct {
	InC, OutC, Group int
	In               []int // input spatial dimensions
	Kernel           []int
	Strides          []int
	Dilations        []int
	PadsBegin        []int
	PadsEnd          []int
	Act              Activation
}

// Out returns the output spatial dimensions.
func (p ConvNDParams) Out() []int {
	out := make([]int, len(p.In))
	for d := range p.In {
		out[d] = (p.In[d]+p.PadsBegin[d]+p.PadsEnd[d]-p.Dilations[d]*(p.Kernel[d]-1)-1)/p.Strides[d] + 1
	}
	return out
}

// MACs is the multiply-accumulate count for one image.
func (p ConvNDParams) MACs() int64 {
	return int64(p.OutC) * int64(ndProd(p.Out())) * int64(p.InC/p.Group) * int64(ndProd(p.Kernel))
}

// Validate checks the parameters; operators call it at creation.
func (p ConvNDParams) Validate() error {
	nd := len(p.In)
	switch {
	case nd == 0:
		return fmt.Errorf("kernels: conv needs at least one spatial dimension")
	case len(p.Kernel) != nd || len(p.Strides) != nd || len(p.Dilations) != nd || len(p.PadsBegin) != nd || len(p.PadsEnd) != nd:
		return fmt.Errorf("kernels: conv kernel, strides, dilations and pads must each have %d entries (kernel %v, strides %v, dilations %v, pads %v %v)",
			nd, p.Kernel, p.Strides, p.Dilations, p.PadsBegin, p.PadsEnd)
	case p.InC <= 0 || p.OutC <= 0:
		return fmt.Errorf("kernels: conv channels must be positive (in %d, out %d)", p.InC, p.OutC)
	case p.Group <= 0 || p.InC%p.Group != 0 || p.OutC%p.Group != 0:
		return fmt.Errorf("kernels: group %d must divide input channels %d and output channels %d", p.Group, p.InC, p.OutC)
	}
	for d := 0; d < nd; d++ {
		switch {
		case p.In[d] <= 0 || p.Kernel[d] <= 0:
			return fmt.Errorf("kernels: conv sizes must be positive (input %v, kernel %v)", p.In, p.Kernel)
		case p.Strides[d] <= 0 || p.Dilations[d] <= 0:
			return fmt.Errorf("kernels: conv strides and dilations must be positive (strides %v, dilations %v)", p.Strides, p.Dilations)
		case p.PadsBegin[d] < 0 || p.PadsEnd[d] < 0:
			return fmt.Errorf("kernels: conv pads must not be negative (%v, %v)", p.PadsBegin, p.PadsEnd)
		}
	}
	for _, o := range p.Out() {
		if o <= 0 {
			return fmt.Errorf("kernels: conv output would be empty (%v)", p.Out())
		}
	}
	return nil
}

// ConvND is a planned N-D convolution computed as im2col followed by the
// GEMM kernel chosen at creation (a pointwise convolution with unit
// strides and no padding skips im2col). Run is safe for concurrent use
// with distinct buffers.
type ConvND struct {
	p         ConvNDParams
	out       []int
	inSize    int // elements of one input channel plane
	outSize   int // elements of one output channel plane
	kSize     int // taps of one kernel
	pointwise bool
	weight    []float32
	bias      []float32
	gemm      *GemmKernel
	name      string
}

// NewConvND validates p and prepares the convolution. weight and bias
// are copied; bias may be nil.
func NewConvND(cfg Config, p ConvNDParams, weight, bias []float32) (*ConvND, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	// Own copies of the slices so the caller may reuse theirs.
	p.In = append([]int(nil), p.In...)
	p.Kernel = append([]int(nil), p.Kernel...)
	p.Strides = append([]int(nil), p.Strides...)
	p.Dilations = append([]int(nil), p.Dilations...)
	p.PadsBegin = append([]int(nil), p.PadsBegin...)
	p.PadsEnd = append([]int(nil), p.PadsEnd...)
	c := &ConvND{p: p, out: p.Out(), inSize: ndProd(p.In), kSize: ndProd(p.Kernel), gemm: SelectGemm(cfg)}
	c.outSize = ndProd(c.out)
	if want := p.OutC * (p.InC / p.Group) * c.kSize; len(weight) != want {
		return nil, fmt.Errorf("kernels: conv weight has %d elements, want %d", len(weight), want)
	}
	if bias != nil && len(bias) != p.OutC {
		return nil, fmt.Errorf("kernels: conv bias has %d elements, want %d", len(bias), p.OutC)
	}
	c.weight = append([]float32(nil), weight...)
	if bias != nil {
		c.bias = append([]float32(nil), bias...)
	}
	c.pointwise = c.kSize == 1
	for d := range p.In {
		if p.Strides[d] != 1 || p.PadsBegin[d] != 0 || p.PadsEnd[d] != 0 {
			c.pointwise = false
		}
	}
	if c.pointwise {
		c.name = fmt.Sprintf("f32-conv%dd-1x1+%s", len(p.In), c.gemm.Name)
	} else {
		c.name = fmt.Sprintf("f32-conv%dd-im2col+%s", len(p.In), c.gemm.Name)
	}
	return c, nil
}

// Params returns the convolution's parameters.
func (c *ConvND) Params() ConvNDParams { return c.p }

// OutShape returns the output spatial dimensions.
func (c *ConvND) OutShape() []int { return append([]int(nil), c.out...) }

// Kernel names the implementation chosen.
func (c *ConvND) Kernel() string { return c.name }

// WorkspaceLen is the scratch length (float32 elements) Run needs.
func (c *ConvND) WorkspaceLen() int {
	if c.pointwise {
		return 0
	}
	return (c.p.InC / c.p.Group) * c.kSize * c.outSize
}

// Run convolves batch images: in is batch×InC×In…, out is
// batch×OutC×Out…, ws has at least WorkspaceLen() elements.
func (c *ConvND) Run(pool *Pool, batch int, in, out, ws []float32) {
	p := &c.p
	cg, kg := p.InC/p.Group, p.OutC/p.Group
	kk := cg * c.kSize
	hw := c.outSize
	for n := 0; n < batch; n++ {
		img := in[n*p.InC*c.inSize:]
		dst := out[n*p.OutC*hw:]
		for g := 0; g < p.Group; g++ {
			src := img[g*cg*c.inSize:]
			var b []float32
			if c.pointwise {
				b = src[:kk*hw]
			} else {
				b = ws[:kk*hw]
				pool.Parallel(kk, func(lo, hi int) { c.im2col(src, b, lo, hi) })
			}
			c.gemm.Sgemm(pool, false, false, kg, hw, kk, 1, c.weight[g*kg*kk:], kk, b, hw, 0, dst[g*kg*hw:], hw)
		}
		pool.Parallel(p.OutC, func(lo, hi int) {
			for k := lo; k < hi; k++ {
				o := dst[k*hw : (k+1)*hw]
				if c.bias != nil {
					bv := c.bias[k]
					for i := range o {
						o[i] += bv
					}
				}
				p.Act.ApplySlice(o)
			}
		})
	}
}

// im2col writes rows [lo, hi) of the (cg·prod(Kernel)) × prod(Out) patch
// matrix of one group; row r is channel r/kSize, kernel tap r%kSize in
// row-major order. Padding reads as zero.
func (c *ConvND) im2col(img, col []float32, lo, hi int) {
	p := &c.p
	nd := len(p.In)
	last := nd - 1
	inStride := make([]int, nd)
	s := 1
	for d := last; d >= 0; d-- {
		inStride[d] = s
		s *= p.In[d]
	}
	tap := make([]int, nd)
	oidx := make([]int, nd)
	ow := c.out[last]
	sw, dw, pw, iw := p.Strides[last], p.Dilations[last], p.PadsBegin[last], p.In[last]
	for r := lo; r < hi; r++ {
		ch, rem := r/c.kSize, r%c.kSize
		for d := last; d >= 0; d-- {
			tap[d] = rem % p.Kernel[d]
			rem /= p.Kernel[d]
		}
		plane := img[ch*c.inSize : (ch+1)*c.inSize]
		dst := col[r*c.outSize : (r+1)*c.outSize]
		clear(oidx)
		// Valid range of output x for this tap: 0 ≤ x·sw + x0 < iw.
		x0 := tap[last]*dw - pw
		xlo, xhi := ndValidRange(x0, sw, iw, ow)
		for i := 0; ; i += ow {
			row := dst[i : i+ow]
			base, valid := 0, true
			for d := 0; d < last; d++ {
				v := oidx[d]*p.Strides[d] - p.PadsBegin[d] + tap[d]*p.Dilations[d]
				if v < 0 || v >= p.In[d] {
					valid = false
					break
				}
				base += v * inStride[d]
			}
			if !valid || xlo >= xhi {
				clear(row)
			} else {
				clear(row[:xlo])
				if sw == 1 {
					copy(row[xlo:xhi], plane[base+xlo+x0:base+xhi+x0])
				} else {
					for x := xlo; x < xhi; x++ {
						row[x] = plane[base+x*sw+x0]
					}
				}
				clear(row[xhi:])
			}
			d := last - 1
			for ; d >= 0; d-- {
				oidx[d]++
				if oidx[d] < c.out[d] {
					break
				}
				oidx[d] = 0
			}
			if d < 0 {
				break
			}
		}
	}
}

// ndValidRange returns the range [lo, hi) of o in [0, n) for which
// 0 ≤ o·stride + off < size.
func ndValidRange(off, stride, size, n int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if size-1-off < 0 {
		return 0, 0
	}
	hi = (size-1-off)/stride + 1
	lo, hi = min(lo, n), min(hi, n)
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

func ndProd(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}
