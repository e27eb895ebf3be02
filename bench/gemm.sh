#!/usr/bin/env bash
# gemm.sh: edge SGEMM vs OpenBLAS (Debian libopenblas0-pthread) side by
# side on this machine, interleaved, best of several rounds per side.
# Prints a markdown table: shape, threads, ours GFLOPS, OpenBLAS GFLOPS,
# ratio. Usage: bench/gemm.sh [rounds] (from the repository root or bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
# OpenBLAS must pick its own (AVX-512) kernels for this comparison.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/sgemm_bench" bench/openblas/sgemm_bench.c -lopenblas
go build -o "$tmp/gemmbench" ./bench/gemmbench
shapes=${GEMM_SHAPES:-"1024,1024,1024 2048,2048,2048 64,3136,576 64,3136,64 128,784,1152 256,196,2304 512,196,4608 64,3136,9 256,784,32 512,196,64"}
echo "GEMM, edge vs OpenBLAS $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null) (pthread), best of $rounds interleaved rounds"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; $(date -u '+%Y-%m-%d %H:%M UTC'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| shape M×N×K | threads | ours GFLOPS | OpenBLAS GFLOPS | ratio | kernel |"
echo "|---|---|---|---|---|---|"
for s in $shapes; do
	IFS=, read -r m n k <<<"$s"
	for t in 1 2; do
		ours=0
		peer=0
		kern=""
		for ((r = 0; r < rounds; r++)); do
			read -r _ _ _ _ g kern < <("$tmp/gemmbench" -m "$m" -n "$n" -k "$k" -threads "$t" -iters 8)
			ours=$(awk -v a="$ours" -v b="$g" 'BEGIN{print (b>a)?b:a}')
			read -r _ _ _ _ g < <("$tmp/sgemm_bench" "$m" "$n" "$k" "$t" 8)
			peer=$(awk -v a="$peer" -v b="$g" 'BEGIN{print (b>a)?b:a}')
		done
		ratio=$(awk -v a="$ours" -v b="$peer" 'BEGIN{printf "%.2f", a/b}')
		echo "| ${m}×${n}×${k} | $t | $ours | $peer | $ratio | $kern |"
	done
done
