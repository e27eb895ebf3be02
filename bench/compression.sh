#!/usr/bin/env bash
# compression.sh: `make compression` — writes COMPRESSION.md from edge's
# own command line. For each model, one `edge compress --sweep` run:
# calibration on 1024 Fashion-MNIST train images, evaluation on the test
# split, every method (cobla, greedy, uniform) at each MACs fraction of
# BUDGETS, the main output at MAIN (benchmarked dense vs compressed), an
# HTML report per model in bench/out/. Prints nothing but progress; the
# tables go to OUT.
#
#   bench/compression.sh [OUT.md]
#   (COMPRESS_MODELS="fmnist-vgg16 fmnist-resnet18 fmnist-squeezenet1_1" BUDGETS=0.5,0.4,0.3
#    MAIN=0.4 CALIB=fashion-mnist:train:1024 EVAL=fashion-mnist LIMIT=0 TIME_LIMIT=5m THREADS=2)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-COMPRESSION.md}
MODELS=${MODELS:-${SHARED:-../shared}/models}
COMPRESS_MODELS=${COMPRESS_MODELS:-fmnist-vgg16 fmnist-resnet18 fmnist-squeezenet1_1}
BUDGETS=${BUDGETS:-0.5,0.4,0.3}
MAIN=${MAIN:-0.4}
CALIB=${CALIB:-fashion-mnist:train:1024}
EVAL=${EVAL:-fashion-mnist}
LIMIT=${LIMIT:-0}
TIME_LIMIT=${TIME_LIMIT:-5m}
THREADS=${THREADS:-2}
EDGE=${EDGE:-./edge}
[ -x "$EDGE" ] || go build -o "$EDGE" ./cmd/edge
mkdir -p bench/out
status=0
jsons=()
for name in $COMPRESS_MODELS; do
	m="$MODELS/$name.onnx"
	j="bench/out/$name-compress.json"
	echo "compression.sh: $name" >&2
	timefile=$(mktemp)
	if ! /usr/bin/time -f '%M %e' -o "$timefile" "$EDGE" compress --model "$m" --out "bench/out/$name-$MAIN.onnx" --macs "$MAIN" \
		--calib "$CALIB" --data "$EVAL" --limit "$LIMIT" --sweep "$BUDGETS" --time-limit "$TIME_LIMIT" --threads "$THREADS" \
		--report "bench/out/$name-report.html" --json >"$j"; then
		status=1
		rm -f "$timefile"
		continue
	fi
	read -r rss secs <"$timefile"
	rm -f "$timefile"
	node -e '
const fs = require("fs");
const j = JSON.parse(fs.readFileSync(process.argv[1]));
j.process_peak_rss_kb = Number(process.argv[2]); j.process_seconds = Number(process.argv[3]);
fs.writeFileSync(process.argv[1], JSON.stringify(j));' "$j" "$rss" "$secs"
	jsons+=("$j")
	# Beyond the paper, at MAIN: plain COBLA (SVD factors, no refit) and
	# COBLA + refit + one epoch of distillation, against the default above.
	for v in plain:--refit=false finetune:--finetune=1; do
		"$EDGE" compress --model "$m" --out "bench/out/$name-$MAIN-${v%%:*}.onnx" --macs "$MAIN" --calib "$CALIB" \
			--data "$EVAL" --limit "$LIMIT" --time-limit "$TIME_LIMIT" --threads "$THREADS" "${v#*:}" --json \
			>"bench/out/$name-compress-${v%%:*}.json" || status=1
	done
done
node - "$out" "$MAIN" "$CALIB" "$EVAL" "${jsons[@]}" <<'JS'
const fs = require('fs');
const [out, main, calib, evalData, ...files] = process.argv.slice(2);
const L = [];
L.push('# COMPRESSION', '');
L.push(`Written by \`make compression\` (bench/compression.sh) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`edge compress\`: calibration ${calib}, evaluation ${evalData}, budgets as fractions of the whole network's MACs. Per-model HTML reports: bench/out/*-report.html.`, '');
L.push('## Top-1 by budget and method', '');
L.push('| model | dense top-1 | budget | cobla | greedy | uniform | cobla ≥ baselines |', '|---|---|---|---|---|---|---|');
for (const f of files) {
  const j = JSON.parse(fs.readFileSync(f));
  const name = j.model.split('/').pop().replace('.onnx', '');
  const dense = j.eval && j.eval.top1_before;
  const by = {};
  for (const p of j.sweep || []) (by[p.fraction] ??= {})[p.method] = p.top1;
  for (const fr of Object.keys(by).map(Number).sort((a, b) => b - a)) {
    const r = by[fr];
    const ok = r.cobla >= Math.max(r.greedy ?? -1, r.uniform ?? -1);
    L.push(`| ${name} | ${dense?.toFixed(4)} | ${fr} | ${r.cobla?.toFixed(4)} | ${r.greedy?.toFixed(4)} | ${r.uniform?.toFixed(4)} | ${ok ? 'yes' : 'NO'} |`);
  }
}
L.push('', `## COBLA at ${main} of the MACs: speed and cost of the run`, '');
L.push('| model | MACs before → after | top-1 dense → compressed | p50 ms dense → compressed | ratio (bar ≤ 0.55) | compress seconds | process peak RSS |', '|---|---|---|---|---|---|---|');
for (const f of files) {
  const j = JSON.parse(fs.readFileSync(f));
  const name = j.model.split('/').pop().replace('.onnx', '');
  const b = j.bench || {};
  const ratio = b.dense && b.compressed ? b.compressed.p50_ms / b.dense.p50_ms : NaN;
  L.push(`| ${name} | ${(j.macs_before / 1e6).toFixed(1)} M → ${(j.macs_after / 1e6).toFixed(1)} M | ${j.eval?.top1_before?.toFixed(4)} → ${j.eval?.top1_after?.toFixed(4)} | ${b.dense?.p50_ms.toFixed(3)} → ${b.compressed?.p50_ms.toFixed(3)} | ${ratio.toFixed(2)} | ${j.seconds.toFixed(1)} | ${(j.process_peak_rss_kb / 1024).toFixed(0)} MB |`);
}
L.push('', `## Beyond the paper, at ${main} of the MACs`, '');
L.push('Plain COBLA keeps the SVD factors of the chosen ranks; the default (refit) refits each factorized layer to the original layer\'s output on calibration activations of the already-compressed network; finetune adds one epoch of distillation over the calibration images. All within the same time limit.', '');
L.push('| model | plain COBLA | COBLA + refit (default) | + finetune 1 epoch | seconds plain / refit / finetune |', '|---|---|---|---|---|');
for (const f of files) {
  const j = JSON.parse(fs.readFileSync(f));
  const name = j.model.split('/').pop().replace('.onnx', '');
  const v = (s) => { try { return JSON.parse(fs.readFileSync(f.replace('-compress.json', `-compress-${s}.json`))); } catch { return null; } };
  const p = v('plain'), t = v('finetune');
  const top = (x) => x?.eval?.top1_after?.toFixed(4) ?? '—';
  const sec = (x) => x ? x.seconds.toFixed(0) : '—';
  L.push(`| ${name} | ${top(p)} | ${top(j)} | ${top(t)} | ${sec(p)} / ${sec(j)} / ${sec(t)} |`);
}
fs.writeFileSync(out, L.join('\n') + '\n');
console.error(`wrote ${out}`);
JS
exit $status
