#!/usr/bin/env bash
# compression.sh: `make compression` — writes COMPRESSION.md from edge's
# own command line. For each model, one `edge compress --sweep` run:
# calibration on 1024 Fashion-MNIST train images, evaluation on the test
# split, every method (cobla, greedy, uniform; all with the default
# refit, and COBLA's plain SVD factors of the same ranks as cobla-plain)
# at each MACs fraction of BUDGETS, the main output at MAIN (benchmarked
# dense vs compressed; the sweep reuses it), an HTML report per model in
# bench/out/; then COBLA + one epoch of finetune at MAIN. The tables are
# rewritten to OUT after every model from every model's JSON found in
# bench/out/, so a run over fewer models updates their rows only.
#
#   bench/compression.sh [OUT.md]
#   (COMPRESS_MODELS="fmnist-vgg16 fmnist-resnet18 fmnist-squeezenet1_1" BUDGETS=0.5,0.4,0.3
#    MAIN=0.4 CALIB=fashion-mnist:train:1024 EVAL=fashion-mnist LIMIT=0 TIME_LIMIT=(edge's default)
#    THREADS=2 FINETUNE=1 NOTE="text added under the title" RENDER_ONLY=1: rewrite OUT from the JSON only
#    REBENCH=1 ROUNDS=3: re-measure bar 3 only — `edge bench` p50 of each model's dense and written
#    bench/out/NAME-MAIN.onnx, alternating, best of ROUNDS each — into the JSON, then rewrite OUT)
#  Bar 4 is also read from bench/out/fmnist-vgg16-bar4.json when present: a plain
#  `edge compress --json` run of fmnist-vgg16 at MAIN (defaults, no evaluation), written here
#  first, with its process seconds and peak RSS (/usr/bin/time).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-COMPRESSION.md}
MODELS=${MODELS:-${SHARED:-../shared}/models}
ALL_MODELS="fmnist-vgg16 fmnist-resnet18 fmnist-squeezenet1_1"
COMPRESS_MODELS=${COMPRESS_MODELS:-$ALL_MODELS}
BUDGETS=${BUDGETS:-0.5,0.4,0.3}
MAIN=${MAIN:-0.4}
CALIB=${CALIB:-fashion-mnist:train:1024}
EVAL=${EVAL:-fashion-mnist}
LIMIT=${LIMIT:-0}
TIME_LIMIT=${TIME_LIMIT:-}
THREADS=${THREADS:-2}
FINETUNE=${FINETUNE:-1}
NOTE=${NOTE:-}
EDGE=${EDGE:-./edge}
[ -x "$EDGE" ] || go build -o "$EDGE" ./cmd/edge
mkdir -p bench/out
limit=()
[ -n "$TIME_LIMIT" ] && limit=(--time-limit "$TIME_LIMIT")
status=0

render() {
	local jsons=() name j
	for name in $ALL_MODELS $COMPRESS_MODELS; do
		j="bench/out/$name-compress.json"
		[[ -s $j && " ${jsons[*]} " != *" $j "* ]] && jsons+=("$j")
	done
	[ ${#jsons[@]} -gt 0 ] || return 0
	node - "$out" "$MAIN" "$CALIB" "$EVAL" "$NOTE" "${jsons[@]}" <<'JS'
const fs = require('fs');
const [out, main, calib, evalData, note, ...files] = process.argv.slice(2);
const L = [];
const nm = (j) => j.model.split('/').pop().replace('.onnx', '');
const f4 = (v) => (v == null || Number.isNaN(v)) ? '—' : v.toFixed(4);
L.push('# COMPRESSION', '');
L.push(`Written by \`make compression\` (bench/compression.sh) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`edge compress\`: calibration ${calib}, evaluation ${evalData} (test split), budgets as fractions of the whole network's MACs; every method with the default data-aware refit. Per-model HTML reports: bench/out/*-report.html; raw JSON: bench/out/*-compress*.json.`, '');
if (note) L.push(note, '');
L.push('## Bar 1: top-1 by budget and method', '');
L.push('COBLA keeps the best of its roundings and the two warm starts (greedy, uniform) judged on the held-out quarter of the calibration images, first with the plain SVD factors, then once more after the refit (since commit 7a87a49); "kept" names the winner, "stop" why the SQP stopped.', '');
L.push('| model | dense top-1 | budget | cobla | greedy | uniform | cobla ≥ baselines | cobla-plain (no refit) | cobla seconds | SQP iterations, stop | kept |', '|---|---|---|---|---|---|---|---|---|---|---|');
for (const f of files) {
  const j = JSON.parse(fs.readFileSync(f));
  const by = {};
  for (const p of j.sweep || []) (by[p.fraction] ??= {})[p.method] = p;
  for (const fr of Object.keys(by).map(Number).sort((a, b) => b - a)) {
    const r = by[fr];
    const t = (m) => r[m]?.top1;
    const ok = t('cobla') >= Math.max(t('greedy') ?? -1, t('uniform') ?? -1);
    L.push(`| ${nm(j)} | ${f4(j.eval?.top1_before)} | ${fr} | ${f4(t('cobla'))} | ${f4(t('greedy'))} | ${f4(t('uniform'))} | ${ok ? 'yes' : 'NO'} | ${f4(t('cobla-plain'))} | ${r.cobla?.seconds.toFixed(0)} | ${r.cobla?.iterations ?? '—'}${r.cobla?.stop ? ', ' + r.cobla.stop : ''} | ${r.cobla?.chosen ?? '—'} |`);
  }
}
L.push('', `## Bar 2: fmnist-vgg16 within 1.0 point of dense at 0.4, 3 points at 0.3`, '');
for (const f of files) {
  const j = JSON.parse(fs.readFileSync(f));
  if (nm(j) !== 'fmnist-vgg16') continue;
  const d = j.eval?.top1_before;
  for (const [fr, lim] of [[0.4, 1], [0.3, 3]]) {
    const p = (j.sweep || []).find((p) => p.method === 'cobla' && Math.abs(p.fraction - fr) < 1e-9);
    if (!p || d == null) continue;
    const drop = 100 * (d - p.top1);
    L.push(`- at ${fr}: ${f4(d)} → ${f4(p.top1)}, drop ${drop.toFixed(2)} points (limit ${lim} point${lim > 1 ? 's' : ''}): ${drop <= lim ? 'met' : 'NOT met'}`);
  }
}
L.push('', `## Bars 3 and 4: COBLA at ${main} of the MACs, speed and cost of the run`, '');
L.push('`edge bench` p50 (2 threads) of the dense and the written model, run one after the other by `edge compress --report`. "Compress to written" is the wall time of the `edge compress` process from its start (loading the model and the calibration images) until the output file was written, and its peak RSS then (bar 4: ≤ 300 s, ≤ 1.5 GB for fmnist-vgg16); the process goes on to evaluate, benchmark and sweep (whole-process figures in the last column).', '');
L.push('| model | MACs before → after | top-1 dense → compressed | p50 ms dense → compressed | ratio (bar ≤ 0.55) | Compress s (limit) | compress to written: s, peak RSS | whole process: s, peak RSS |', '|---|---|---|---|---|---|---|---|');
const rebenched = [];
for (const f of files) {
  const j = JSON.parse(fs.readFileSync(f));
  const b = j.bench || {};
  const ratio = b.dense && b.compressed ? b.compressed.p50_ms / b.dense.p50_ms : NaN;
  if (b.rebench) rebenched.push(`${nm(j)}: ${b.rebench}`);
  L.push(`| ${nm(j)} | ${(j.macs_before / 1e6).toFixed(1)} M → ${(j.macs_after / 1e6).toFixed(1)} M | ${f4(j.eval?.top1_before)} → ${f4(j.eval?.top1_after)} | ${b.dense?.p50_ms.toFixed(3)} → ${b.compressed?.p50_ms.toFixed(3)} | ${ratio.toFixed(2)} | ${j.seconds.toFixed(1)} (${j.time_limit ?? '—'}) | ${j.written_seconds?.toFixed(1)} s, ${j.written_peak_rss_mb?.toFixed(0)} MB | ${j.process_seconds?.toFixed(0)} s, ${(j.process_peak_rss_kb / 1024).toFixed(0)} MB |`);
}
if (rebenched.length) L.push('', `p50 re-measured by \`REBENCH=1 bench/compression.sh\` (dense and written model alternating, best p50 of each): ${rebenched.join('; ')}.`);
try {
  const j = JSON.parse(fs.readFileSync('bench/out/fmnist-vgg16-bar4.json'));
  L.push('', `Bar 4 on its own — \`edge compress --model fmnist-vgg16.onnx --out … --macs ${main} --calib ${calib} --threads 2 --json\` (default --time-limit ${j.time_limit}, no evaluation): **${j.process_seconds?.toFixed(1)} s** process wall time (Compress ${j.seconds.toFixed(1)} s), **${(j.process_peak_rss_kb / 1024).toFixed(0)} MB** peak RSS (/usr/bin/time), ${(j.macs_after / 1e6).toFixed(1)} M MACs, held-out calibration top-1 ${f4(j.top1_before)} → ${f4(j.top1_after)}: ${j.process_seconds <= 300 && j.process_peak_rss_kb <= 1.5e6 ? 'met' : 'NOT met'} (≤ 300 s, ≤ 1.5 GB).`);
} catch {}
L.push('', `## Beyond the paper, at ${main} of the MACs`, '');
L.push('Plain COBLA keeps the SVD factors of the chosen ranks (the same run\'s ranks, evaluated before the refit); the default refit replaces the first factor of channel-scheme/Gemm layers by the output-PCA one (since commit 0673ecb) and refits the second factor to the original layer\'s output on calibration activations of the already-compressed network; finetune is a separate run adding epochs of distillation over the calibration images after the refit, within the same time limit (so its solver has less time); since commit 3dc122a the finetuned factors are kept only when the held-out objective improves.', '');
L.push('| model | plain COBLA | COBLA + refit (default) | + finetune | SQP iterations refit / finetune run | seconds refit / finetune |', '|---|---|---|---|---|---|');
for (const f of files) {
  const j = JSON.parse(fs.readFileSync(f));
  let t = null;
  try { t = JSON.parse(fs.readFileSync(f.replace('-compress.json', '-compress-finetune.json'))); } catch {}
  const p = (j.sweep || []).find((p) => p.method === 'cobla-plain' && Math.abs(p.fraction - Number(main)) < 1e-9);
  const kept = t && t.finetune_kept !== undefined ? (t.finetune_kept ? ', kept' : ', dropped: held-out worse') : '';
  L.push(`| ${nm(j)} | ${f4(p?.top1)} | ${f4(j.eval?.top1_after)} | ${t ? f4(t.eval?.top1_after) + ` (${t.finetune_epochs} epoch${kept})` : '—'} | ${j.iterations} / ${t ? t.iterations : '—'} | ${j.seconds.toFixed(0)} / ${t ? t.seconds.toFixed(0) : '—'} |`);
}
// Measurements made by hand that the tables do not show (kept in the repo).
try { L.push('', fs.readFileSync('bench/compression-notes.md', 'utf8').trim()); } catch {}
fs.writeFileSync(out, L.join('\n') + '\n');
console.error(`wrote ${out}`);
JS
}

if [ -n "${REBENCH:-}" ]; then
	rev="edge $(git rev-parse --short HEAD)$(git diff --quiet -- kernels runtime cmd || echo -dirty)"
	for name in $COMPRESS_MODELS; do
		j="bench/out/$name-compress.json"
		c="bench/out/$name-$MAIN.onnx"
		[[ -s $j && -s $c ]] || continue
		dense=() comp=()
		for ((r = 0; r < ${ROUNDS:-3}; r++)); do
			dense+=("$("$EDGE" bench --model "$MODELS/$name.onnx" --threads "$THREADS" --json)") || status=1
			comp+=("$("$EDGE" bench --model "$c" --threads "$THREADS" --json)") || status=1
		done
		node - "$j" "${ROUNDS:-3}" "$(date -u '+%Y-%m-%d %H:%M') UTC, $rev, ${ROUNDS:-3} rounds" "${dense[@]}" "${comp[@]}" <<'JS' || status=1
const fs = require('fs');
const [file, rounds, note, ...runs] = process.argv.slice(2);
const n = Number(rounds);
const best = (rs) => rs.map((r) => JSON.parse(r)).reduce((a, b) => (b.p50_ms < a.p50_ms ? b : a));
const pick = (r) => ({ p50_ms: r.p50_ms, images_per_s: r.images_per_s, peak_rss_mb: r.peak_rss_mb, model_bytes: r.model_bytes });
const j = JSON.parse(fs.readFileSync(file));
j.bench = { dense: pick(best(runs.slice(0, n))), compressed: pick(best(runs.slice(n))), rebench: note };
fs.writeFileSync(file + '.tmp', JSON.stringify(j));
fs.renameSync(file + '.tmp', file);
JS
	done
	render
	exit $status
fi
if [ -n "${RENDER_ONLY:-}" ]; then
	render
	exit 0
fi
# Bar 4 on its own: edge compress as a user runs it (default time limit),
# nothing else running in the process.
case " $COMPRESS_MODELS " in *" fmnist-vgg16 "*)
	echo "compression.sh: fmnist-vgg16 bar 4 $(date -u +%H:%M:%S)" >&2
	timefile=$(mktemp)
	if /usr/bin/time -f '%M %e' -o "$timefile" "$EDGE" compress --model "$MODELS/fmnist-vgg16.onnx" --out "bench/out/fmnist-vgg16-bar4.onnx" \
		--macs "$MAIN" --calib "$CALIB" --threads "$THREADS" --json >bench/out/fmnist-vgg16-bar4.json; then
		read -r rss secs <"$timefile"
		node -e '
const fs = require("fs");
const j = JSON.parse(fs.readFileSync(process.argv[1]));
j.process_peak_rss_kb = Number(process.argv[2]); j.process_seconds = Number(process.argv[3]);
fs.writeFileSync(process.argv[1], JSON.stringify(j));' bench/out/fmnist-vgg16-bar4.json "$rss" "$secs"
	else
		status=1
	fi
	rm -f "$timefile"
	;;
esac

for name in $COMPRESS_MODELS; do
	m="$MODELS/$name.onnx"
	j="bench/out/$name-compress.json"
	echo "compression.sh: $name $(date -u +%H:%M:%S)" >&2
	timefile=$(mktemp)
	if ! /usr/bin/time -f '%M %e' -o "$timefile" "$EDGE" compress --model "$m" --out "bench/out/$name-$MAIN.onnx" --macs "$MAIN" \
		--calib "$CALIB" --data "$EVAL" --limit "$LIMIT" --sweep "$BUDGETS" "${limit[@]}" --threads "$THREADS" \
		--report "bench/out/$name-report.html" --json >"$j.tmp"; then
		status=1
		rm -f "$timefile" "$j.tmp"
		continue
	fi
	read -r rss secs <"$timefile"
	rm -f "$timefile"
	node -e '
const fs = require("fs");
const j = JSON.parse(fs.readFileSync(process.argv[1]));
j.process_peak_rss_kb = Number(process.argv[2]); j.process_seconds = Number(process.argv[3]);
fs.writeFileSync(process.argv[1], JSON.stringify(j));' "$j.tmp" "$rss" "$secs"
	mv "$j.tmp" "$j"
	rm -f "bench/out/$name-compress-finetune.json"
	render
	# Beyond the paper, at MAIN: COBLA + refit + FINETUNE epochs of
	# distillation (plain COBLA comes from the sweep's cobla-plain).
	if [ "$FINETUNE" -gt 0 ]; then
		echo "compression.sh: $name finetune $(date -u +%H:%M:%S)" >&2
		"$EDGE" compress --model "$m" --out "bench/out/$name-$MAIN-finetune.onnx" --macs "$MAIN" --calib "$CALIB" \
			--data "$EVAL" --limit "$LIMIT" "${limit[@]}" --threads "$THREADS" --finetune "$FINETUNE" --json \
			>"bench/out/$name-compress-finetune.json" || status=1
		render
	fi
done
render
[ -s "$out" ] && echo "compression.sh: wrote $out $(date -u +%H:%M:%S)" >&2
exit $status
