#!/usr/bin/env node
// compare.js: compare two raw float32 LE output files (N×classes) of the
// same model — edge's (`edge eval --save-outputs`) and ONNX Runtime's
// (eval.js). Prints one JSON object: n, classes, max_abs_diff, max_abs_ref,
// rel (max|Δ| / max|ref|), top1_agree (rows with the same argmax), ok
// (rel ≤ --tol, default 1e-4).
//
//   node compare.js EDGE.f32 REF.f32 CLASSES [--tol 1e-4]
'use strict';
const fs = require('fs');

const args = process.argv.slice(2);
if (args.length < 3) {
  console.error('usage: node compare.js EDGE.f32 REF.f32 CLASSES [--tol 1e-4]');
  process.exit(2);
}
const tolIdx = args.indexOf('--tol');
const tol = tolIdx >= 0 ? Number(args[tolIdx + 1]) : 1e-4;
const read = (f) => {
  const b = fs.readFileSync(f);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const a = read(args[0]);
const r = read(args[1]);
const k = Number(args[2]);
if (a.length !== r.length || a.length % k !== 0) {
  console.error(`compare.js: sizes differ or do not divide by ${k}: ${a.length} vs ${r.length}`);
  process.exit(1);
}
let maxDiff = 0, maxRef = 0, agree = 0;
const argmax = (v, o) => {
  let best = 0;
  for (let j = 1; j < k; j++) if (v[o + j] > v[o + best]) best = j;
  return best;
};
for (let i = 0; i < a.length; i++) {
  maxDiff = Math.max(maxDiff, Math.abs(a[i] - r[i]));
  maxRef = Math.max(maxRef, Math.abs(r[i]));
}
const n = a.length / k;
for (let i = 0; i < n; i++) if (argmax(a, i * k) === argmax(r, i * k)) agree++;
const rel = maxRef > 0 ? maxDiff / maxRef : maxDiff;
console.log(JSON.stringify({ n, classes: k, max_abs_diff: maxDiff, max_abs_ref: maxRef, rel, top1_agree: agree, ok: rel <= tol }));
