//go:build gc && !purego

#include "textflag.h"

// func gatherAVX512(dst, src *float32, idx *int32, n int)
// dst[i] = src[idx[i]] for i < n, 0 where idx[i] < 0: 16 lanes per
// VGATHERDPS, lanes with a negative index masked off (never read), the
// tail masked.
TEXT ·gatherAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ idx+16(FP), AX
	MOVQ n+24(FP), CX
	VPTERNLOGD $0xff, Z3, Z3, Z3 // every lane -1

loop:
	CMPQ CX, $16
	JLT  tail
	VMOVDQU32 (AX), Z1
	VPCMPGTD Z3, Z1, K1 // idx > -1
	VXORPS Z0, Z0, Z0
	VGATHERDPS (SI)(Z1*4), K1, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, AX
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  loop

tail:
	TESTQ CX, CX
	JEQ   done
	MOVL  $1, R8
	SHLL  CX, R8
	DECL  R8
	KMOVW R8, K4
	VMOVDQU32.Z (AX), K4, Z1
	VPCMPGTD Z3, Z1, K4, K1
	VXORPS Z0, Z0, Z0
	VGATHERDPS (SI)(Z1*4), K1, Z0
	VMOVUPS Z0, K4, (DI)

done:
	VZEROUPPER
	RET
