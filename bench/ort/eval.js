#!/usr/bin/env node
// eval.js: run a Fashion-MNIST model over the IDX test set in ONNX Runtime
// and write its raw outputs, the peer of `edge eval --save-outputs`.
//
//   node eval.js MODEL.onnx OUT.f32 [--dir /usr/share/datasets/fashion-mnist]
//                [--split test|train] [--limit N] [--batch 64] [--threads 2]
//
// Preprocessing follows the model's convention (MODELS.md): pixel bytes x
// become (x/255 − mean)/std with mean and std from the model's
// metadata_props (preprocess.mean / preprocess.std), computed in float64
// and rounded once to float32, as edge does. OUT.f32 is N×classes float32
// little-endian, row-major. Prints one JSON object: model, n, top1,
// outputs.
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const path = require('path');
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const o = { dir: '/usr/share/datasets/fashion-mnist', split: 'test', limit: 0, batch: 64, threads: 2 };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const k = a.slice(2);
      if (!(k in o)) throw new Error(`unknown flag ${a}`);
      const v = argv[++i];
      o[k] = typeof o[k] === 'number' ? Number(v) : v;
    } else {
      rest.push(a);
    }
  }
  if (rest.length !== 2) throw new Error('usage: node eval.js MODEL.onnx OUT.f32 [--dir D] [--split test|train] [--limit N] [--batch 64] [--threads 2]');
  [o.model, o.out] = rest;
  return o;
}

function readIDX(file) {
  let b = fs.readFileSync(file);
  if (b[0] === 0x1f && b[1] === 0x8b) b = zlib.gunzipSync(b);
  if (b[0] !== 0 || b[1] !== 0 || b[2] !== 8) throw new Error(`${file}: not an unsigned-byte IDX file`);
  const nd = b[3];
  const dims = [];
  for (let i = 0; i < nd; i++) dims.push(b.readUInt32BE(4 + 4 * i));
  return { dims, data: b.subarray(4 + 4 * nd) };
}

function idxPath(dir, base) {
  for (const name of [base + '.gz', base]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`${base}(.gz) not found in ${dir}`);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const prefix = o.split === 'train' ? 'train' : 't10k';
  const images = readIDX(idxPath(o.dir, `${prefix}-images-idx3-ubyte`));
  const labels = readIDX(idxPath(o.dir, `${prefix}-labels-idx1-ubyte`));
  let n = images.dims[0];
  if (o.limit > 0) n = Math.min(n, o.limit);
  const [h, w] = [images.dims[1], images.dims[2]];
  const sess = await ort.InferenceSession.create(o.model, {
    intraOpNumThreads: o.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  });
  // metadata_props are not exposed by onnxruntime-node: read them from the
  // file (keys and values are short strings in the ModelProto).
  const meta = readMetadata(o.model);
  const mean = Number(meta['preprocess.mean'] ?? 0);
  const std = Number(meta['preprocess.std'] ?? 1);
  const scale = Number(meta['preprocess.scale'] ?? 1 / 255);
  const lut = new Float32Array(256);
  for (let x = 0; x < 256; x++) lut[x] = (x * scale - mean) / std;
  const input = sess.inputNames[0];
  const output = sess.outputNames[0];
  let outAll = null;
  let classes = 0;
  let correct = 0;
  for (let start = 0; start < n; start += o.batch) {
    const b = Math.min(o.batch, n - start);
    const x = new Float32Array(b * h * w);
    for (let i = 0; i < b * h * w; i++) x[i] = lut[images.data[start * h * w + i]];
    const res = await sess.run({ [input]: new ort.Tensor('float32', x, [b, 1, h, w]) });
    const y = res[output].data;
    if (!outAll) {
      classes = y.length / b;
      outAll = new Float32Array(n * classes);
    }
    outAll.set(y, start * classes);
    for (let i = 0; i < b; i++) {
      let best = 0;
      for (let k = 1; k < classes; k++) if (y[i * classes + k] > y[i * classes + best]) best = k;
      if (best === labels.data[start + i]) correct++;
    }
  }
  fs.writeFileSync(o.out, Buffer.from(outAll.buffer, outAll.byteOffset, outAll.byteLength));
  console.log(JSON.stringify({ model: o.model, n, classes, top1: correct / n, outputs: o.out }));
}

// readMetadata extracts metadata_props (ModelProto field 14: StringStringEntryProto
// {1: key, 2: value}) with a minimal protobuf walk of the top-level message.
function readMetadata(file) {
  const b = fs.readFileSync(file);
  const out = {};
  let i = 0;
  const varint = () => {
    let v = 0, s = 0, c;
    do {
      c = b[i++];
      v += (c & 0x7f) * 2 ** s;
      s += 7;
    } while (c & 0x80);
    return v;
  };
  while (i < b.length) {
    const key = varint();
    const field = Math.floor(key / 8), wt = key & 7;
    if (wt === 0) varint();
    else if (wt === 1) i += 8;
    else if (wt === 5) i += 4;
    else if (wt === 2) {
      const len = varint();
      if (field === 14) {
        const end = i + len;
        let k = '', v = '';
        while (i < end) {
          const kk = varint();
          const l = varint();
          const s = b.toString('utf8', i, i + l);
          i += l;
          if (kk >> 3 === 1) k = s;
          else if (kk >> 3 === 2) v = s;
        }
        out[k] = v;
      } else {
        i += len;
      }
    } else {
      throw new Error(`${file}: unexpected protobuf wire type ${wt}`);
    }
  }
  return out;
}

main().catch((e) => {
  console.error(`eval.js: ${e.message || e}`);
  process.exit(1);
});
