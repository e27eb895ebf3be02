package kernels

//go:generate sh -c "cd _asm && go run . -out .."
