package kernels

import "fmt"

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

// Conv2D is a planned convolution: weights packed and kernel chosen at
// creation; Run is safe for concurrent use with distinct buffers.
type Conv2D struct {
	p      ConvParams
	weight []float32 // OutC × InC/Group × KH × KW
	bias   []float32 // OutC or nil
	gemm   *GemmKernel
	name   string
}

// NewConv2D validates p and prepares the convolution. weight and bias
// are copied; bias may be nil.
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
	c := &Conv2D{p: p, weight: append([]float32(nil), weight...), gemm: SelectGemm(cfg)}
	if bias != nil {
		c.bias = append([]float32(nil), bias...)
	}
	c.name = "f32-conv-im2col+" + c.gemm.Name
	return c, nil
}

// Params returns the convolution's parameters.
func (c *Conv2D) Params() ConvParams { return c.p }

// Kernel names the implementation chosen.
func (c *Conv2D) Kernel() string { return c.name }

// WorkspaceLen is the scratch length (float32 elements) Run needs.
func (c *Conv2D) WorkspaceLen() int {
	p := c.p
	return (p.InC / p.Group) * p.KH * p.KW * p.OutH() * p.OutW()
}

// Run convolves batch images: in is batch×InC×InH×InW, out is
// batch×OutC×OutH×OutW, ws has at least WorkspaceLen() elements.
func (c *Conv2D) Run(pool *Pool, batch int, in, out, ws []float32) {
	p := c.p
	oh, ow := p.OutH(), p.OutW()
	cg, kg := p.InC/p.Group, p.OutC/p.Group
	kk := cg * p.KH * p.KW
	hw := oh * ow
	col := ws[:kk*hw]
	for n := 0; n < batch; n++ {
		img := in[n*p.InC*p.InH*p.InW:]
		dst := out[n*p.OutC*hw:]
		for g := 0; g < p.Group; g++ {
			im2col(p, img[g*cg*p.InH*p.InW:], cg, col, oh, ow)
			c.gemm.Sgemm(pool, false, false, kg, hw, kk, 1, c.weight[g*kg*kk:], kk, col, hw, 0, dst[g*kg*hw:], hw)
		}
		for k := 0; k < p.OutC; k++ {
			o := dst[k*hw : (k+1)*hw]
			if c.bias != nil {
				b := c.bias[k]
				for i := range o {
					o[i] += b
				}
			}
			p.Act.ApplySlice(o)
		}
	}
}

// im2col writes the (cg·KH·KW) × (oh·ow) patch matrix of one group.
func im2col(p ConvParams, img []float32, cg int, col []float32, oh, ow int) {
	i := 0
	for ch := 0; ch < cg; ch++ {
		plane := img[ch*p.InH*p.InW:]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				for y := 0; y < oh; y++ {
					iy := y*p.StrideH - p.PadTop + ky*p.DilH
					for x := 0; x < ow; x++ {
						ix := x*p.StrideW - p.PadLeft + kx*p.DilW
						if iy >= 0 && iy < p.InH && ix >= 0 && ix < p.InW {
							col[i] = plane[iy*p.InW+ix]
						} else {
							col[i] = 0
						}
						i++
					}
				}
			}
		}
	}
}
