module github.com/edgeml/edge/kernels/_asm

go 1.26.0
