package kernels

import (
	"fmt"
	"sync"
)

// Strided 1×1 convolutions without padding (the downsampling shortcuts
// of ResNets) read one input pixel in StrideH·StrideW: convSubsample
// copies those pixels into a compact CinG × OutH·OutW image in the
// workspace and runs the pointwise GEMM on it, instead of splitting the
// whole input into phase planes of which one is used.

// subsampleOK reports whether p is a strided 1×1 convolution without
// padding (convSubsample).
func subsampleOK(p ConvParams) bool {
	return p.KH == 1 && p.KW == 1 && (p.StrideH > 1 || p.StrideW > 1) &&
		p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0
}

// subsampleArgs are one group's image gimg and its compact copy dst for
// the pool (over channels).
type subsampleArgs struct {
	p         *ConvParams
	gimg, dst []float32
}

var subsampleTasks sync.Pool

// subsample copies the pixels (oy·StrideH, ox·StrideW) of one group's
// channels into dst (CinG × OutH × OutW), on the pool unless small.
func (c *Conv2D) subsample(pool *Pool, gimg, dst []float32) {
	p := &c.p
	cg := p.InC / p.Group
	if cg*p.OutH()*p.OutW() < 1<<13 {
		pool = nil
	}
	parallelArgs(pool, &subsampleTasks, cg, subsampleArgs{p, gimg, dst}, (*subsampleArgs).channels)
}

// channels subsamples channels [lo, hi).
func (a *subsampleArgs) channels(lo, hi int) {
	p := a.p
	oh, ow, sh, sw := p.OutH(), p.OutW(), p.StrideH, p.StrideW
	for ch := lo; ch < hi; ch++ {
		for y := 0; y < oh; y++ {
			row := a.gimg[(ch*p.InH+y*sh)*p.InW:][:p.InW]
			d := a.dst[(ch*oh+y)*ow:][:ow]
			switch sw {
			case 1:
				copy(d, row)
			case 2:
				everyOther(d, row)
			default:
				row = row[:(ow-1)*sw+1]
				for x := range d {
					d[x] = row[x*sw]
				}
			}
		}
	}
}

// serialBelow is the most MACs of a pointwise (or subsampled) conv that
// may run on the caller alone when the GEMM would split its rows (one
// or a few column panels: maps of 8² and less): below serialTiny MACs
// always, up to serialBelow when the row split would also pack B in a
// parallel phase of its own (B larger than sharedBSerial: a second
// barrier). Quiet machine, 2 threads, go test -bench ConvThreads,
// caller alone / row split: 512→128 at 4² (1M MACs, B 64 KB) 18.7-20.3
// / 21.5-22.0 µs; 135→512 at 4² (1.1M, B 17 KB) 15.6-16.2 / 13.0-13.2;
// 175→512 at 4² (B 22 KB) 19.8-20.2 / 16.4-17.1; 128→32 at 8² 2.8-2.9 /
// 2.8; 1024→256 at 4² (4.2M MACs) runs split.
const (
	serialBelow = 1 << 21
	serialTiny  = 1 << 19
)

// gemmPool is the pool the GEMM of a pointwise or subsampled conv of
// m×n×k runs on: nil (the caller alone) when it is small and would be
// split by rows.
func (c *Conv2D) gemmPool(pool *Pool, m, n, k int, src *gemmSrc) *Pool {
	t := pool.Threads()
	if t == 1 {
		return pool
	}
	macs := int64(m) * int64(n) * int64(k)
	nr := c.gemm.NR
	packB := int64(k) * int64((n+nr-1)/nr*nr) * 4
	if (macs < serialTiny || macs < serialBelow && packB > sharedBSerial) && c.gemm.split(m, n, t, src) {
		return nil
	}
	return pool
}

// rowDirectMaxK is the largest im2col depth (InC/Group·KH·KW) for which a
// strided direct conv with outputs at least rowDirectMinW wide runs one
// GEMM per output row (runRows): with few multiply-adds per output,
// copying the finished panels of the wide grid to the output
// (wideTask.emit, 2–3 short copies per tile row) costs as much as
// computing them, whereas a row's GEMM writes its columns to the output
// directly; the price is the partial last panel of every row. Thread CPU
// time (bench/cputime), wide grid → rows: 3→64 3×3 s2 at 224² (SqueezeNet
// 1.1's first layer, K 27) 0.48-0.49 → 0.36 ms, 3→64 7×7 s2 at 224² (the
// ResNet stem, K 147) 1.45-1.57 → 1.29-1.40; K 288 (32→64 s2 at 112²)
// 1.00-1.03 → 1.07, K 576 (64→64 at 64²) 0.67-0.69 → 0.71-0.74.
const (
	rowDirectMaxK = 160
	rowDirectMinW = 32
)

// rowDirectOK reports whether a direct strided conv with parameters p runs
// one GEMM per output row.
func rowDirectOK(p ConvParams) bool {
	return (p.StrideH > 1 || p.StrideW > 1) && (p.InC/p.Group)*p.KH*p.KW <= rowDirectMaxK && p.OutW() >= rowDirectMinW
}

// rowsFirstMaxK is the largest im2col depth for which runRows is taken
// before the indirect-A path (convdirect.go), which otherwise takes every
// multi-tap conv on AVX-512. Thread CPU time, indirect-A → rows: 3→64 3×3
// s2 at 224² unpadded (SqueezeNet 1.1's first layer, outputs 111 wide)
// 0.74-0.76 → 0.33-0.35 ms, padded (112 wide) 0.36 → 0.35, 3→32 padded
// 0.18 → 0.20; K 72 (8→64 3×3 s2 at 112²) 0.155 → 0.23, K 75 (3→64 5×5 s2)
// 0.71 → 0.69, K 147 (the ResNet stem) 1.25 → 1.28.
const rowsFirstMaxK = 32

// rowsFirst reports whether a conv that the indirect-A path would take
// runs one indirect-B GEMM per output row instead (runRows).
func rowsFirst(cfg Config, p ConvParams) bool {
	m, n, k := p.OutC/p.Group, p.OutH()*p.OutW(), (p.InC/p.Group)*p.KH*p.KW
	return rowDirectOK(p) && k <= rowsFirstMaxK && m <= directMaxM && SelectGemmFor(cfg, m, n, k).ind != nil
}

// rowsArgs are the operands of runRows for the pool (over output rows).
type rowsArgs struct {
	c                 *Conv2D
	pad, dst, packedA []float32
	m, k              int
	ep                Epilogue
}

var rowsTasks sync.Pool

// runRows computes one group's output (m channels, dst) from its padded
// phase planes pad with one indirect-B GEMM per output row: row y's
// im2col row r is the run of OutW floats at pad[wideOffs[r]+y·wq:], and
// its C is written at dst[y·OutW:] with leading dimension OutH·OutW.
func (c *Conv2D) runRows(pool *Pool, pad, dst []float32, ep Epilogue, m, k int, packedA []float32) {
	parallelArgs(pool, &rowsTasks, c.p.OutH(), rowsArgs{c, pad, dst, packedA, m, k, ep}, (*rowsArgs).rows)
}

// rows computes output rows [lo, hi).
func (a *rowsArgs) rows(lo, hi int) {
	c := a.c
	_, wq, _, _ := c.wideGeom()
	oh, ow := c.p.OutH(), c.p.OutW()
	for y := lo; y < hi; y++ {
		c.gemm.runIndirect(nil, c.blk, a.m, ow, a.k, a.packedA, a.pad[y*wq:], c.wideOffs, a.dst[y*ow:], oh*ow, a.ep, nil)
	}
}

// pointwiseDirect makes a pointwise or subsampled conv of m×n×k with at
// most directMaxM output channels (per group) read its image in place
// through the indirect-B GEMM (row r of B at r·n) instead of packing B:
// with few rows of A, packing each element of B costs about as much as
// using it. Thread CPU time (bench/cputime), packed → direct: SqueezeNet
// 1.1 squeeze convs 128→16 at 55² 0.103 → 0.071 ms, 64→16 at 55² 0.057 →
// 0.037, 256→32 at 27² 0.080 → 0.061, 512→64 at 13² 0.064 → 0.055; 64→64
// at 56² 0.142 → 0.124; 16→64 at 55² 0.042 → 0.040; with more channels
// even (32→128 at 27², 64→256 at 13²) or worse (512→1000 at 13² 0.81 →
// 0.86).
func (c *Conv2D) pointwiseDirect(m, n, k int, stride string) {
	if (c.algo != convPointwise && c.algo != convSubsample) || c.gemm.ind == nil || m > directMaxM {
		return
	}
	c.pwOffs = make([]int, k)
	for r := range c.pwOffs {
		c.pwOffs[r] = r * n
	}
	c.name = "f32-conv1x1-direct/" + c.gemm.IndName
	if c.algo == convSubsample {
		c.name = fmt.Sprintf("f32-conv1x1%s-subsample-direct/%s", stride, c.gemm.IndName)
	}
}
