#!/usr/bin/env bash
# run.sh: `make bench` — writes BENCHMARKS.md: the machine, SGEMM vs
# OpenBLAS (bench/gemm.sh), end-to-end latency vs ONNX Runtime with the
# cost-model and memory checks (bench/e2e.sh) on the fixture models and
# on ImageNet-shape exports (../shared/tools/export_imagenet.py, cached in
# bench/out/), and output agreement with ONNX Runtime on Fashion-MNIST
# (bench/compare-ort.sh). Every step runs even when an earlier one fails;
# the exit status is 1 when any did.
#
#   bench/run.sh [OUT.md]        (MODELS, TOOLS, THREADS as in the Makefile)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-BENCHMARKS.md}
MODELS=${MODELS:-${SHARED:-../shared}/models}
TOOLS=${TOOLS:-${SHARED:-../shared}/tools}
export THREADS=${THREADS:-2}
export EDGE=${EDGE:-./edge}
# Debian's python3 (python3-torchvision), not a python3 from a version manager earlier on PATH.
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$EDGE" ] || go build -o "$EDGE" ./cmd/edge
mkdir -p bench/out
status=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
section() { printf '\n## %s\n\n' "$1" >>"$tmp"; }
run() { # run CMD... appending stdout to the report, noting failures
	if ! "$@" >>"$tmp" 2>"$tmp.err"; then
		status=1
		printf '\n(failed: `%s`: %s)\n' "$*" "$(tail -3 "$tmp.err" | tr '\n' ' ')" >>"$tmp"
	fi
	rm -f "$tmp.err"
}

{
	echo "# BENCHMARKS"
	echo
	echo "Written by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'); edge $($EDGE version --json | sed -n 's/.*"version": "\(.*\)".*/\1/p'), $(go version | cut -d' ' -f3), ONNX Runtime $(node -p "require('./bench/ort/node_modules/onnxruntime-node/package.json').version" 2>/dev/null || echo '?') (onnxruntime-node), OpenBLAS $(dpkg-query -W -f '${Version}' libopenblas0-pthread 2>/dev/null || echo '?')."
	echo
	echo '```'
	$EDGE probe --no-calibrate | grep -E '^(board|cpu|simd|cores|caches|memory)'
	echo '```'
} >"$tmp"

section "SGEMM: edge vs OpenBLAS (GFLOP/s, best of rounds)"
echo "Bars: ≥ 0.85 of OpenBLAS at 1024³/2048³; ≥ 0.80 on the conv-shaped GEMMs." >>"$tmp"
echo >>"$tmp"
run bench/gemm.sh

section "End-to-end latency, batch 1, $THREADS threads: edge vs ONNX Runtime"
echo "Fixture models (Fashion-MNIST, 28×28) and ImageNet-shape exports (224×224, random weights). Best p50 of 3 interleaved rounds per side. ✗ marks a missed bar." >>"$tmp"
echo >>"$tmp"
imagenet=()
if "$PYTHON" -c "import torchvision" 2>/dev/null; then
	for n in squeezenet1_1 resnet18 vgg16; do
		f=bench/out/imagenet-$n.onnx
		[ -s "$f" ] || "$PYTHON" "$TOOLS/export_imagenet.py" "$n" "$f" >/dev/null 2>&1 || { status=1; continue; }
		imagenet+=("$f")
	done
else
	echo "(python3-torchvision missing: ImageNet-shape models skipped)" >>"$tmp"
fi
run bench/e2e.sh "$MODELS"/fmnist-*.onnx "${imagenet[@]}"

section "Agreement with ONNX Runtime on the Fashion-MNIST test set (10,000 images)"
echo "Bars: same top-1 as ONNX Runtime; raw outputs within max|Δ| ≤ 1e-4·max|ref|." >>"$tmp"
echo >>"$tmp"
run bench/compare-ort.sh "$MODELS"/fmnist-*.onnx

mv "$tmp" "$out"
trap - EXIT
echo "wrote $out"
exit $status
