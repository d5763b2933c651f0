// Runs an ONNX model once in ONNX Runtime (CPU, onnxruntime-node) on .npy
// inputs and writes each output as OUTDIR/NAME.npy (float32, int64, int32,
// float16, int8, uint8 or bool).
// usage: node ort_run.js MODEL.onnx OUTDIR NAME=FILE.npy ...
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

// .npy descriptors and the ONNX Runtime tensor types they map to.
const DTYPES = [
  { descr: '<f4', type: 'float32', Array: Float32Array },
  { descr: '<i8', type: 'int64', Array: BigInt64Array },
  { descr: '<i4', type: 'int32', Array: Int32Array },
  { descr: '<f2', type: 'float16', Array: Uint16Array },
  { descr: '|i1', type: 'int8', Array: Int8Array },
  { descr: '|u1', type: 'uint8', Array: Uint8Array },
  { descr: '|b1', type: 'bool', Array: Uint8Array },
];

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1]
    .split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: fortran order`);
  const body = buf.subarray(10 + headerLen);
  const copy = new Uint8Array(body).buffer; // aligned
  const kind = DTYPES.find((d) => d.descr === descr);
  if (!kind) throw new Error(`${file}: dtype ${descr} (${DTYPES.map((d) => d.descr).join(', ')} are read)`);
  if (kind.type === 'bool') return new ort.Tensor('bool', new Uint8Array(copy), shape);
  if (kind.type === 'float16') return new ort.Tensor('float16', new Uint16Array(copy), shape);
  return new ort.Tensor(kind.type, new kind.Array(copy), shape);
}

function writeNpy(file, tensor) {
  const kind = DTYPES.find((d) => d.type === tensor.type);
  if (!kind) throw new Error(`output type ${tensor.type}`);
  const descr = kind.descr;
  const dims = tensor.dims.join(', ') + (tensor.dims.length === 1 ? ',' : '');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), data]));
}

async function main() {
  const [model, outDir, ...specs] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const feeds = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    feeds[spec.slice(0, eq)] = readNpy(spec.slice(eq + 1));
  }
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, tensor] of Object.entries(results))
    writeNpy(path.join(outDir, `${name}.npy`), tensor);
}

main().catch((e) => { console.error(String(e)); process.exit(1); });
