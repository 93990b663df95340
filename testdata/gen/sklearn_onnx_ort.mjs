// sklearn_onnx_ort.mjs runs every case in testdata/onnx/sklearn/cases.json
// through ONNX Runtime (the npm package onnxruntime-node 1.30.0) on the
// case's committed input rows and writes ONNX Runtime's answers beside it as
// NAME.ort.csv, with the header of NAME.expected.csv:
//
//   classifiers  label (output_label), proba_0..proba_{K-1} (the float
//                tensor the ZipMap reads, cases.json "probability_tensor")
//   regressors   value (the graph's single float output)
//
// Values are Number.prototype.toString of what ONNX Runtime returned (a
// float32 widened to a float64), labels String() of the int64 or string.
// It prints, per case, the largest |ORT - scikit-learn| over the
// probabilities or values and the number of rows whose labels differ.
//
// onnxruntime-node cannot return ZipMap's sequence of maps, so the
// probability tensor is added as a graph output in memory (never written
// back): the model bytes get one more ModelProto.graph field (7) holding
// only GraphProto.output (12) = ValueInfoProto{name}. Protobuf merges a
// repeated embedded message field into the one already read, so the graph
// gains that output and is otherwise unchanged.
//
// Run (outside the repository, from the folder onnxruntime-node is in):
//   mkdir -p /tmp/ortsk && cd /tmp/ortsk && npm init -y >/dev/null
//   npm install onnxruntime-node@1.30.0 --ignore-scripts
//   node /path/to/predictd/testdata/gen/sklearn_onnx_ort.mjs
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WANT_VERSION = '1.30.0';
const require = createRequire(join(process.cwd(), 'noop.js'));
const ort = require('onnxruntime-node');
if (ort.env.versions.common !== WANT_VERSION) {
  throw new Error(`onnxruntime-node ${ort.env.versions.common}, want ${WANT_VERSION}`);
}
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'onnx', 'sklearn');

function varint(n) {
  const out = [];
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return Buffer.from(out);
}

function lenField(tag, payload) {
  return Buffer.concat([Buffer.from([tag]), varint(payload.length), payload]);
}

// withOutput returns the model bytes with one more graph output named name.
function withOutput(bytes, name) {
  const valueInfo = lenField(0x0a, Buffer.from(name, 'utf8')); // ValueInfoProto.name = 1
  const graph = lenField(0x62, valueInfo); // GraphProto.output = 12
  return Buffer.concat([bytes, lenField(0x3a, graph)]); // ModelProto.graph = 7
}

function readCSV(path) {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

const num = (s) => (s === '' ? NaN : Number(s));

function feeds(c, table) {
  const n = table.rows.length;
  const out = {};
  if (c.inputs.length === 1 && c.inputs[0].shape[1] > 1) {
    const inp = c.inputs[0];
    if (inp.type !== 'float') throw new Error(`${c.name}: input type ${inp.type}`);
    const data = Float32Array.from(table.rows.flat().map(num));
    out[inp.name] = new ort.Tensor('float32', data, [n, inp.shape[1]]);
    return out;
  }
  for (const inp of c.inputs) {
    const j = table.header.indexOf(inp.name);
    if (j < 0) throw new Error(`${c.name}: no column ${inp.name}`);
    const col = table.rows.map((r) => r[j]);
    out[inp.name] = inp.type === 'string'
      ? new ort.Tensor('string', col, [n, 1])
      : new ort.Tensor('float32', Float32Array.from(col.map(num)), [n, 1]);
  }
  return out;
}

function writeCSV(path, header, rows) {
  writeFileSync(path, [header.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n');
}

const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')).cases;
for (const c of cases) {
  let bytes = readFileSync(join(dir, c.name + '.onnx'));
  const table = readCSV(join(dir, c.name + '.csv'));
  if (table.header.join(',') !== c.columns.join(',')) throw new Error(`${c.name}: header ${table.header}`);
  const expected = readCSV(join(dir, c.name + '.expected.csv'));
  const n = table.rows.length;
  const classifier = c.task !== 'regression';
  let fetch;
  if (classifier) {
    bytes = withOutput(bytes, c.probability_tensor);
    fetch = ['output_label', c.probability_tensor];
  } else {
    fetch = [c.outputs[0]];
  }
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const res = await s.run(feeds(c, table), fetch);
  await s.release();
  const values = res[fetch[fetch.length - 1]];
  const width = values.data.length / n;
  if (width !== expected.header.length - (classifier ? 1 : 0)) {
    throw new Error(`${c.name}: ${fetch.at(-1)} has dims ${values.dims}, want ${expected.header.length} columns`);
  }
  const rows = [];
  let maxDiff = 0, labelDiffs = 0;
  for (let r = 0; r < n; r++) {
    const row = Array.from(values.data.subarray(r * width, (r + 1) * width), Number);
    const want = expected.rows[r];
    const off = classifier ? 1 : 0;
    row.forEach((v, k) => { maxDiff = Math.max(maxDiff, Math.abs(v - Number(want[k + off]))); });
    if (classifier) {
      const label = String(res.output_label.data[r]);
      if (label !== want[0]) labelDiffs++;
      rows.push([label, ...row.map((v) => v.toString())]);
    } else {
      rows.push(row.map((v) => v.toString()));
    }
  }
  writeCSV(join(dir, c.name + '.ort.csv'), expected.header, rows);
  console.log(`${c.name.padEnd(24)} max|ORT-sklearn| ${maxDiff.toExponential(3)}` +
    (classifier ? `  label mismatches ${labelDiffs}/${n}` : ''));
}
