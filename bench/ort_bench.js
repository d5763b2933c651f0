// Times an ONNX model in ONNX Runtime (CPU, onnxruntime-node).
// usage: node ort_bench.js MODEL.onnx THREADS WARMUP RUNS NAME:d0xd1x..:lo:hi ...
// Inputs are uniform random in [lo, hi). Prints median_ms= and p90_ms=.
const ort = require('onnxruntime-node');

async function main() {
  const [model, threads, warmup, runs, ...specs] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = {};
  for (const spec of specs) {
    const [name, dims, lo, hi] = spec.split(':');
    const shape = dims.split('x').map(Number);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const l = Number(lo), h = Number(hi);
    for (let i = 0; i < n; ++i) data[i] = l + (h - l) * Math.random();
    feeds[name] = new ort.Tensor('float32', data, shape);
  }
  const times = [];
  for (let i = 0; i < Number(warmup) + Number(runs); ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= Number(warmup)) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const pick = (p) => times[Math.min(times.length - 1, Math.round(p * (times.length - 1)))];
  console.log(`median_ms=${pick(0.5).toFixed(4)}`);
  console.log(`p90_ms=${pick(0.9).toFixed(4)}`);
}

main().catch((e) => { console.error(String(e)); process.exit(1); });
