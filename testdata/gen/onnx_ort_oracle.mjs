// onnx_ort_oracle.mjs runs every ONNX fixture in testdata/onnx/cases.json
// through ONNX Runtime (the npm package onnxruntime-node) on the fixture's
// committed input rows, and writes ONNX Runtime's answers beside it:
//
//   NAME.ort.pred.csv  the graph's prediction output (predictd's outputs)
//   NAME.ort.raw.csv   the tensor before the final Softmax / Sigmoid /
//                      Identity, or the ai.onnx.ml node's scores with
//                      post_transform NONE (predictd's margins)
//
// Headers are predictd's output names from cases.json; values are
// Number.prototype.toString of what ONNX Runtime returned (a float32 widened
// to a float64, or a float64), so a float64 parse gets ONNX Runtime's exact
// value. See testdata/README.md, "ONNX Runtime oracle", for how to run it.
//
// The models are run as committed, except for two edits made in memory
// (never written back): a graph output is added for a tensor the graph
// already computes (the margin, and sklearn_binary_logistic's
// probability_tensor, because onnxruntime-node cannot return ZipMap's
// sequence of maps), and for the margins of LinearClassifier /
// LinearRegressor the node's post_transform is set to NONE.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WANT_VERSION = '1.30.0';
// onnxruntime-node is resolved from the current folder (the scratch folder
// it was installed in), never from the repository.
const require = createRequire(join(process.cwd(), 'noop.js'));
const ort = require('onnxruntime-node');
if (ort.env.versions.common !== WANT_VERSION) {
  throw new Error(`onnxruntime-node ${ort.env.versions.common}, want ${WANT_VERSION}`);
}
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'onnx');

// --- a minimal protobuf codec: a message is a list of fields ---------------

function readVarint(b, p) {
  let v = 0n, s = 0n;
  for (;;) {
    const c = b[p++];
    v |= BigInt(c & 0x7f) << s;
    if (c < 0x80) return [v, p];
    s += 7n;
  }
}

function decode(b) {
  const fields = [];
  let p = 0;
  while (p < b.length) {
    let key;
    [key, p] = readVarint(b, p);
    const num = Number(key >> 3n), wt = Number(key & 7n);
    let val;
    if (wt === 0) { [val, p] = readVarint(b, p); }
    else if (wt === 1) { val = b.subarray(p, p + 8); p += 8; }
    else if (wt === 5) { val = b.subarray(p, p + 4); p += 4; }
    else if (wt === 2) {
      let n; [n, p] = readVarint(b, p); n = Number(n);
      val = b.subarray(p, p + n); p += n;
    } else throw new Error(`wire type ${wt}`);
    fields.push({ num, wt, val });
  }
  return fields;
}

function varint(v) {
  v = BigInt(v);
  const out = [];
  do {
    let c = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) c |= 0x80;
    out.push(c);
  } while (v > 0n);
  return Buffer.from(out);
}

function encode(fields) {
  const parts = [];
  for (const f of fields) {
    parts.push(varint((BigInt(f.num) << 3n) | BigInt(f.wt)));
    if (f.wt === 0) parts.push(varint(f.val));
    else if (f.wt === 2) { parts.push(varint(f.val.length)); parts.push(Buffer.from(f.val)); }
    else parts.push(Buffer.from(f.val));
  }
  return Buffer.concat(parts);
}

const str = (v) => Buffer.from(v).toString('utf8');
const strField = (num, s) => ({ num, wt: 2, val: Buffer.from(s, 'utf8') });
const msgField = (num, fields) => ({ num, wt: 2, val: encode(fields) });

// ModelProto.graph = 7; GraphProto.node = 1, output = 12;
// NodeProto input = 1, output = 2, op_type = 4, attribute = 5;
// AttributeProto name = 1, s = 4; ValueInfoProto name = 1.
function graphOf(model) {
  return decode(model.find((f) => f.num === 7).val);
}

function nodes(graph) {
  return graph.filter((f) => f.num === 1).map((f) => {
    const n = decode(f.val);
    return {
      field: f,
      fields: n,
      op: str(n.find((x) => x.num === 4).val),
      inputs: n.filter((x) => x.num === 1).map((x) => str(x.val)),
      outputs: n.filter((x) => x.num === 2).map((x) => str(x.val)),
    };
  });
}

// withEdits returns the model bytes with extra graph outputs and with
// post_transform set to NONE on the node producing noTransform.
function withEdits(bytes, extraOutputs, noTransform) {
  const model = decode(bytes);
  const graph = graphOf(model);
  for (const n of nodes(graph)) {
    if (noTransform && n.outputs.includes(noTransform)) {
      const kept = n.fields.filter((x) => !(x.num === 5 && str(decode(x.val).find((a) => a.num === 1).val) === 'post_transform'));
      kept.push(msgField(5, [strField(1, 'post_transform'), { num: 20, wt: 0, val: 3n }, strField(4, 'NONE')]));
      n.field.val = encode(kept);
    }
  }
  for (const name of extraOutputs) graph.push(msgField(12, [strField(1, name)]));
  const gi = model.findIndex((f) => f.num === 7);
  model[gi] = msgField(7, graph);
  return encode(model);
}

// --- running the fixtures ---------------------------------------------------

function readCSV(path) {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',').map(Number)) };
}

function writeCSV(path, header, rows) {
  const out = [header.join(',')];
  for (const r of rows) out.push(r.map((v) => v.toString()).join(','));
  writeFileSync(path, out.join('\n') + '\n');
}

async function run(bytes, inputMeta, rows, fetch) {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const dims = [rows.length, ...inputMeta.shape.slice(1)];
  const flat = rows.flat();
  const data = inputMeta.type === 'float64' ? Float64Array.from(flat) : Float32Array.from(flat);
  const res = await s.run({ [inputMeta.name]: new ort.Tensor(inputMeta.type, data, dims) }, [fetch]);
  await s.release();
  return res[fetch];
}

// toRows splits a [N, K] tensor into rows of predictd's k outputs: a binary
// model with one output keeps column K-1 of a two-column tensor.
function toRows(t, n, k) {
  const width = t.data.length / n;
  const out = [];
  for (let r = 0; r < n; r++) {
    const row = Array.from(t.data.subarray(r * width, (r + 1) * width), Number);
    out.push(width === k ? row : row.slice(width - k));
  }
  return out;
}

const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')).cases;
for (const c of cases) {
  const bytes = readFileSync(join(dir, c.name + '.onnx'));
  const meta = (await ort.InferenceSession.create(bytes)).inputMetadata;
  if (meta.length !== 1 || meta[0].name !== c.input) throw new Error(`${c.name}: inputs ${JSON.stringify(meta)}`);
  const input = readCSV(join(dir, c.name + '.csv'));
  if (input.rows.length !== c.rows) throw new Error(`${c.name}: ${input.rows.length} rows, want ${c.rows}`);

  const graph = graphOf(decode(bytes));
  const ns = nodes(graph);
  const producer = (t) => ns.find((n) => n.outputs.includes(t));
  const tensorOutputs = graph.filter((f) => f.num === 12).map((f) => str(decode(f.val).find((x) => x.num === 1).val));
  // The prediction tensor: the graph's float output, or ZipMap's input.
  let pred = tensorOutputs.find((o) => producer(o).op !== 'LinearClassifier' || producer(o).outputs[1] === o);
  if (producer(pred).op === 'ZipMap') pred = producer(pred).inputs[0];
  const extra = tensorOutputs.includes(pred) ? [] : [pred];
  const p = producer(pred);
  let raw, noTransform = null;
  if (['Softmax', 'Sigmoid', 'Identity'].includes(p.op)) raw = p.inputs[0];
  else if (['LinearClassifier', 'LinearRegressor'].includes(p.op)) { raw = pred; noTransform = pred; }
  else throw new Error(`${c.name}: prediction ${pred} made by ${p.op}`);

  const predT = await run(withEdits(bytes, extra, null), meta[0], input.rows, pred);
  const rawExtra = tensorOutputs.includes(raw) ? [] : [raw];
  const rawT = await run(withEdits(bytes, rawExtra, noTransform), meta[0], input.rows, raw);
  writeCSV(join(dir, c.name + '.ort.pred.csv'), c.outputs, toRows(predT, c.rows, c.outputs.length));
  writeCSV(join(dir, c.name + '.ort.raw.csv'), c.raw_outputs, toRows(rawT, c.rows, c.raw_outputs.length));
  console.log(`${c.name}: pred ${pred} (${predT.type} ${predT.dims}) raw ${raw} (${rawT.type} ${rawT.dims})`);
}
