// Greedy generation in ONNX Runtime with the full decoder re-run per step.
// usage: node ort_generate.js ENCODE.onnx DECODE.onnx THREADS MAX_LEN "src tokens"
// Prints JSON {ms, out}: ms = median of 3 runs after one warm-up.
const ort = require('onnxruntime-node');

async function main() {
  const [encPath, decPath, threads, maxLen, srcText] = process.argv.slice(2);
  const opts = { intraOpNumThreads: Number(threads), interOpNumThreads: 1,
                 graphOptimizationLevel: 'all' };
  const enc = await ort.InferenceSession.create(encPath, opts);
  const dec = await ort.InferenceSession.create(decPath, opts);
  const src = srcText.split(' ').map((s) => BigInt(s));
  const EOS = 2n;
  async function generate(limit) {
    const e = await enc.run({ src_tokens: new ort.Tensor('int64', BigInt64Array.from(src), [1, src.length]) });
    const out = [];
    const prefix = [EOS];
    for (let t = 0; t <= limit; ++t) {
      const tokens = new ort.Tensor('int64', BigInt64Array.from(prefix), [1, prefix.length]);
      const r = await dec.run({ tokens, enc: e.enc, enc_pad: e.enc_pad });
      const V = r.logits.dims[2];
      const last = r.logits.data.subarray((prefix.length - 1) * V, prefix.length * V);
      let best = 0;
      for (let v = 1; v < V; ++v) if (v !== 1 && last[v] > last[best]) best = v;
      if (t === limit || BigInt(best) === EOS) break;
      out.push(best);
      prefix.push(BigInt(best));
    }
    return out;
  }
  await generate(4);
  const times = [];
  let out;
  for (let i = 0; i < 3; ++i) {
    const t0 = process.hrtime.bigint();
    out = await generate(Number(maxLen));
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ ms: times[1], out }));
}

main().catch((e) => { console.error(String(e)); process.exit(1); });
