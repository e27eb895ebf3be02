#!/usr/bin/env node
// bench.js: latency of one ONNX model in ONNX Runtime (onnxruntime-node,
// CPU execution provider), the peer of `edge bench --model`.
//
//   node bench.js MODEL.onnx [--threads 2] [--batch 1] [--iters 0] [--time 2]
//
// intraOpNumThreads = --threads, interOpNumThreads = 1,
// graphOptimizationLevel 'all', sequential execution. The input is seeded
// pseudo-random normal data of the model's input shape (symbolic
// dimensions: the batch). Two warm-up runs, then --iters timed runs (0: as
// many as fit in --time seconds, at least 10). Prints one JSON object:
// model, threads, batch, iters, min_ms, p50_ms, p90_ms, p99_ms, mean_ms,
// images_per_s.
'use strict';
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const o = { threads: 2, batch: 1, iters: 0, time: 2 };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const k = a.slice(2);
      if (!(k in o)) throw new Error(`unknown flag ${a}`);
      o[k] = Number(argv[++i]);
      if (!Number.isFinite(o[k]) || o[k] < 0) throw new Error(`bad value for ${a}`);
    } else {
      rest.push(a);
    }
  }
  if (rest.length !== 1) throw new Error('usage: node bench.js MODEL.onnx [--threads 2] [--batch 1] [--iters 0] [--time 2]');
  o.model = rest[0];
  return o;
}

// mulberry32 + Box-Muller: deterministic normal numbers.
function rng(seed) {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

function pct(sorted, p) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i];
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const sess = await ort.InferenceSession.create(o.model, {
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const feeds = {};
  const normal = rng(1);
  for (const m of sess.inputMetadata) {
    const shape = m.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? o.batch : NaN));
    if (shape.some((d) => !Number.isFinite(d))) throw new Error(`input ${m.name} has unknown dimensions ${JSON.stringify(m.shape)}`);
    shape[0] = o.batch;
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = normal();
    feeds[m.name] = new ort.Tensor('float32', data, shape);
  }
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < 2; i++) await sess.run(feeds);
  const first = Number(process.hrtime.bigint() - t0) / 2e6;
  let iters = o.iters;
  if (iters === 0) iters = Math.max(10, Math.min(2000, Math.floor((o.time * 1000) / Math.max(first, 0.001))));
  const lat = [];
  for (let i = 0; i < iters; i++) {
    t0 = process.hrtime.bigint();
    await sess.run(feeds);
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const s = [...lat].sort((a, b) => a - b);
  const mean = lat.reduce((a, b) => a + b, 0) / lat.length;
  console.log(JSON.stringify({
    model: o.model, runtime: `onnxruntime-node ${require('onnxruntime-node/package.json').version}`,
    threads: o.threads, batch: o.batch, iters,
    min_ms: s[0], p50_ms: pct(s, 0.5), p90_ms: pct(s, 0.9), p99_ms: pct(s, 0.99), mean_ms: mean,
    images_per_s: (o.batch * 1000) / mean,
  }));
}

main().catch((e) => {
  console.error(`bench.js: ${e.message || e}`);
  process.exit(1);
});
