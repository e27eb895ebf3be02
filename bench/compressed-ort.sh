#!/usr/bin/env bash
# compressed-ort.sh: `make test-ort` — the small CI version of the
# compression check against ONNX Runtime: compress the embedded
# fmnist-small with COBLA (256 calibration images, a short time limit),
# then run the output model through edge and ONNX Runtime 1.30 on
# Fashion-MNIST test images (bench/compare-ort.sh: same top-1, outputs
# within max|Δ| ≤ 1e-4·max|ref|). Exits 1 when they disagree.
#
#   bench/compressed-ort.sh      (LIMIT=1000 images, THREADS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
EDGE=${EDGE:-./edge}
[ -x "$EDGE" ] || go build -o "$EDGE" ./cmd/edge
export LIMIT=${LIMIT:-1000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$EDGE" compress --model cmd/edge/assets/fmnist-small.onnx --out "$tmp/fmnist-small-cobla.onnx" --macs 0.5 \
	--calib fashion-mnist:train:256 --time-limit 20s --quiet --json >"$tmp/compress.json"
node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1]));
console.log(`compressed fmnist-small: ${j.macs_before} → ${j.macs_after} MACs (budget ${j.budget_macs}), method ${j.method}, refit ${j.refit}`);
if (!(j.macs_after <= j.budget_macs)) { console.error("over budget"); process.exit(1); }' "$tmp/compress.json"
EDGE="$EDGE" bench/compare-ort.sh "$tmp/fmnist-small-cobla.onnx"
