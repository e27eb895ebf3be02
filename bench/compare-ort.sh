#!/usr/bin/env bash
# compare-ort.sh: for each model in $MODELS (default ../shared/models),
# run the full Fashion-MNIST test set through `edge eval --save-outputs`
# and through ONNX Runtime 1.30 (bench/ort/eval.js), and check that the
# top-1 accuracies are equal and the raw outputs agree within
# max|Δ| ≤ 1e-4·max|ref|. Prints a markdown table (BENCHMARKS.md section)
# and exits 1 when a model disagrees.
#
#   bench/compare-ort.sh [model.onnx ...]     (LIMIT=N evaluates N images)
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${MODELS:-${SHARED:-../shared}/models}
LIMIT=${LIMIT:-0}
THREADS=${THREADS:-2}
EDGE=${EDGE:-./edge}
[ -x "$EDGE" ] || go build -o "$EDGE" ./cmd/edge
if [ ! -d bench/ort/node_modules/onnxruntime-node ]; then
	(cd bench/ort && npm install --ignore-scripts --no-audit --no-fund --silent)
fi
models=("$@")
[ ${#models[@]} -gt 0 ] || models=("$MODELS"/*.onnx)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
echo "| model | images | edge top-1 | ORT 1.30 top-1 | same top-1 | argmax agree | max\|Δ\| | max\|ref\| | max\|Δ\|/max\|ref\| | ≤ 1e-4 |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for m in "${models[@]}"; do
	name=$(basename "$m" .onnx)
	"$EDGE" eval --model "$m" --data fashion-mnist --limit "$LIMIT" --threads "$THREADS" --quiet --json --save-outputs "$tmp/$name.edge.f32" >"$tmp/$name.edge.json"
	node bench/ort/eval.js "$m" "$tmp/$name.ort.f32" --limit "$LIMIT" --threads "$THREADS" >"$tmp/$name.ort.json"
	node - "$tmp/$name.edge.json" "$tmp/$name.ort.json" "$tmp/$name.edge.f32" "$tmp/$name.ort.f32" "$name" <<'JS' || fail=1
const fs = require('fs');
const [ej, oj, ef, of, name] = process.argv.slice(2);
const e = JSON.parse(fs.readFileSync(ej)), o = JSON.parse(fs.readFileSync(oj));
const { execFileSync } = require('child_process');
const c = JSON.parse(execFileSync('node', ['bench/ort/compare.js', ef, of, String(e.classes)]).toString());
const same = e.top1 === o.top1;
const ok = same && c.ok;
console.log(`| ${name} | ${e.n} | ${e.top1.toFixed(4)} | ${o.top1.toFixed(4)} | ${same ? 'yes' : 'NO'} | ${c.top1_agree}/${c.n} | ${c.max_abs_diff.toExponential(2)} | ${c.max_abs_ref.toFixed(2)} | ${c.rel.toExponential(2)} | ${c.ok ? 'yes' : 'NO'} |`);
process.exit(ok ? 0 : 1);
JS
done
exit $fail
