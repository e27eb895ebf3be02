//go:build gc && !purego

#include "textflag.h"

// func padRowsAVX512(dst, src *float32, rows, w, wp, padLeft int)
// For r < rows: dst row r (wp floats at dst + r·wp) is padLeft zeros,
// src row r (w floats at src + r·w), then zeros to wp. The caller
// guarantees padLeft ≤ 16 and wp − w − padLeft ≤ 16 (one masked store
// per border).
TEXT ·padRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ w+24(FP), R9
	MOVQ wp+32(FP), R10
	MOVQ padLeft+40(FP), R11
	VXORPS Z0, Z0, Z0

	// K1: left border, K2: right border, K3: the row's last w mod 16.
	MOVQ  R11, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	MOVQ  R10, CX
	SUBQ  R9, CX
	SUBQ  R11, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K2
	MOVQ  R9, CX
	ANDQ  $15, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K3

	LEAQ (R9)(R11*1), R12 // right border offset, bytes
	SHLQ $2, R12
	SHLQ $2, R10          // wp, bytes
	MOVQ R11, R13         // padLeft, bytes
	SHLQ $2, R13
	MOVQ R9, R14          // full vectors per row
	SHRQ $4, R14

row:
	TESTQ R8, R8
	JEQ   done
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z0, K2, (DI)(R12*1)
	LEAQ    (DI)(R13*1), BX
	MOVQ    SI, DX
	MOVQ    R14, CX

vec:
	TESTQ CX, CX
	JEQ   tail
	VMOVUPS (DX), Z1
	VMOVUPS Z1, (BX)
	ADDQ    $64, DX
	ADDQ    $64, BX
	DECQ    CX
	JMP     vec

tail:
	VMOVUPS.Z (DX), K3, Z1
	VMOVUPS   Z1, K3, (BX)
	ADDQ      R10, DI
	LEAQ      (SI)(R9*4), SI
	DECQ      R8
	JMP       row

done:
	VZEROUPPER
	RET
