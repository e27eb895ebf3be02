#!/usr/bin/env bash
# e2e.sh: end-to-end dense inference, batch 1, edge vs ONNX Runtime 1.30
# (onnxruntime-node, intraOpNumThreads = THREADS, graphOptimizationLevel
# all) on the same .onnx files, interleaved, best p50 of ROUNDS rounds per
# side. Also checks the device cost model (edge budget's predicted_ms vs
# the measured p50, bar ±20%) and peak RSS (bar ≤ 1.2 × (weights + planned
# activations) + 30 MB). Prints a markdown table. The cost-model bar is
# enforced: the script exits 1 (after the whole table) when a model's
# predicted/measured ratio is outside 0.8–1.2, naming the models on
# stderr. The first `edge budget` calibrates the kernels and each model's
# layers, in a fresh cache directory (KEEP_CALIBRATION=1: the user's).
#
#   bench/e2e.sh model.onnx ...        (THREADS=2 ROUNDS=3 TIME=2)
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
TIME=${TIME:-2}
EDGE=${EDGE:-./edge}
[ -x "$EDGE" ] || go build -o "$EDGE" ./cmd/edge
if [ ! -d bench/ort/node_modules/onnxruntime-node ]; then
	(cd bench/ort && npm install --ignore-scripts --no-audit --no-fund --silent)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The prediction must come from a calibration measured now, in the same
# conditions as the latencies it is compared with, not from a cache
# written earlier (KEEP_CALIBRATION=1 keeps the user's cache).
[ "${KEEP_CALIBRATION:-0}" = 1 ] || export XDG_CACHE_HOME="$tmp/cache"
echo "| model | MACs | edge p50 ms | ORT p50 ms | edge/ORT (bar ≤ 1.25) | predicted ms | predicted/measured (bar 0.8–1.2) | peak RSS MB | RSS bar MB | edge images/s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
bad=""
for m in "$@"; do
	name=$(basename "$m" .onnx)
	for ((r = 0; r < ROUNDS; r++)); do
		"$EDGE" bench --model "$m" --threads "$THREADS" --time "${TIME}s" --quiet --json >"$tmp/$name.edge.$r.json"
		node bench/ort/bench.js "$m" --threads "$THREADS" --time "$TIME" >"$tmp/$name.ort.$r.json"
	done
	"$EDGE" budget --model "$m" --threads "$THREADS" --macs 1 --quiet --json >"$tmp/$name.budget.json"
	node - "$tmp" "$name" "$ROUNDS" <<'JS' || bad="$bad $name"
const fs = require('fs');
const [dir, name, rounds] = process.argv.slice(2);
const load = (f) => JSON.parse(fs.readFileSync(`${dir}/${f}`));
let e = null, o = null;
for (let r = 0; r < Number(rounds); r++) {
  const er = load(`${name}.edge.${r}.json`), or = load(`${name}.ort.${r}.json`);
  if (!e || er.p50_ms < e.p50_ms) e = er;
  if (!o || or.p50_ms < o.p50_ms) o = or;
}
const b = load(`${name}.budget.json`);
const ratio = e.p50_ms / o.p50_ms;
const pred = b.predicted_ms / e.p50_ms;
const rssBar = 1.2 * (e.weight_bytes + e.activation_bytes) / 2 ** 20 + 30;
const mark = (ok) => (ok ? '' : ' ✗');
const macs = e.macs >= 1e9 ? (e.macs / 1e9).toFixed(2) + ' G' : (e.macs / 1e6).toFixed(1) + ' M';
process.exitCode = pred >= 0.8 && pred <= 1.2 ? 0 : 3;
console.log(`| ${name} | ${macs} | ${e.p50_ms.toFixed(3)} | ${o.p50_ms.toFixed(3)} | ${ratio.toFixed(2)}${mark(ratio <= 1.25)} | ${b.predicted_ms.toFixed(3)} | ${pred.toFixed(2)}${mark(pred >= 0.8 && pred <= 1.2)} | ${e.peak_rss_mb.toFixed(1)} | ${rssBar.toFixed(1)}${mark(e.peak_rss_mb <= rssBar)} | ${e.images_per_s.toFixed(1)} |`);
JS
done
if [ -n "$bad" ]; then
	echo "e2e: predicted/measured latency outside 0.8–1.2 for:$bad" >&2
	exit 1
fi
