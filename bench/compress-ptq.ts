/**
 * Post-training compression on the embedded Fashion-MNIST subset: int8 PTQ per observer (QDQ simulation and
 * lowered int8 kernels), weight-only int8/int4, dynamic int8, fp16/bf16, CLE + bias correction on a skewed
 * MobileNetV2, and structured pruning sizes. Writes bench/results/compress-ptq.json and prints markdown.
 * Run: `nice npx tsx --conditions=@tinyvision/source bench/compress-ptq.ts`.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { cpu } from '@tinyvision/backend-cpu';
import {
  convertFloat,
  correctBias,
  equalizeCrossLayer,
  lowerQdq,
  type ObserverKind,
  pruneChannels,
  quantizeDynamic,
  quantizeStatic,
  quantizeWeights,
  weightBytes,
} from '@tinyvision/compress';
import { countMacs } from '@tinyvision/models';
import {
  encodeTvm,
  type Graph,
  Rng,
  randn,
  registerBackend,
  runGraph,
  slice,
  tidy,
} from '@tinyvision/tensor';
import { fashionFixture, graphAccuracy } from '../packages/compress/src/__fixtures__/fashion-net.js';
import { skewedMobileNetV2Graph } from '../packages/compress/src/__fixtures__/mobilenet-graph.js';

registerBackend(cpu());
const load0 = loadavg()[0]!;
const f = await fashionFixture();
const cal = [0, 1, 2, 3].map((i) => slice(f.trainX, [i * 32, 0, 0, 0], [(i + 1) * 32, 1, 28, 28]));
const ref = runGraph(f.graph, [f.testX]).outputs[0]!.toFloat32();
const relErr = (g: Graph) => {
  const o = runGraph(g, [f.testX]).outputs[0]!.toFloat32();
  let m = 0;
  let r = 0;
  for (let i = 0; i < o.length; i++) {
    m = Math.max(m, Math.abs(o[i]! - ref[i]!));
    r = Math.max(r, Math.abs(ref[i]!));
  }
  return m / r;
};
const latency = (g: Graph) => {
  const x = slice(f.testX, [0, 0, 0, 0], [1, 1, 28, 28]);
  const t: number[] = [];
  for (let i = 0; i < 25; i++) {
    const t0 = performance.now();
    tidy(() => {
      runGraph(g, [x]).outputs[0]!.dataSync();
    });
    if (i >= 5) t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[10]!;
};
const fp32 = graphAccuracy(f.graph, f.testX, f.testY);
const rows: Record<string, unknown>[] = [];
rows.push({
  method: 'fp32',
  accuracy: fp32,
  relError: 0,
  weightBytes: weightBytes(f.graph),
  latencyMs: latency(f.graph),
});
for (const kind of ['minmax', 'moving-average', 'percentile', 'mse', 'kl'] as ObserverKind[]) {
  const t0 = performance.now();
  const q = quantizeStatic(f.graph, cal, { activationObserver: kind });
  const ms = performance.now() - t0;
  const low = lowerQdq(q);
  rows.push({
    method: `int8 PTQ (${kind})`,
    accuracy: graphAccuracy(low, f.testX, f.testY),
    qdqAccuracy: graphAccuracy(q, f.testX, f.testY),
    relError: relErr(low),
    weightBytes: weightBytes(low),
    latencyMs: latency(low),
    calibrationMs: ms,
  });
}
for (const [method, g] of [
  ['weight-only int8', quantizeWeights(f.graph).graph],
  ['weight-only int4', quantizeWeights(f.graph, { bits: 4 }).graph],
  ['weight-only int4 (group 8)', quantizeWeights(f.graph, { bits: 4, groupSize: 8 }).graph],
  ['dynamic int8', quantizeDynamic(f.graph)],
  ['fp16', convertFloat(f.graph, 'float16')],
  ['bf16', convertFloat(f.graph, 'bfloat16')],
] as const) {
  rows.push({
    method,
    accuracy: graphAccuracy(g, f.testX, f.testY),
    relError: relErr(g),
    weightBytes: weightBytes(g),
    latencyMs: latency(g),
  });
}

// CLE + bias correction on a MobileNetV2 with skewed BN (relative RMS output error vs its own float model)
const mg = skewedMobileNetV2Graph();
const eq = equalizeCrossLayer(mg);
const replaced = new Set(eq.relu6Replaced);
const reluG = {
  ...mg,
  nodes: mg.nodes.map((n) =>
    replaced.has(n.name) ? { ...n, attrs: { ...n.attrs, activation: 'relu' } } : n,
  ),
};
const mx = randn([8, 3, 32, 32], { rng: new Rng(7) });
const mcal = [randn([16, 3, 32, 32], { rng: new Rng(8) })];
const out = (g: Graph) => runGraph(g, [mx]).outputs[0]!.toFloat32();
const rms = (p: Float32Array, q: Float32Array) => {
  let s = 0;
  let r = 0;
  for (let i = 0; i < p.length; i++) {
    s += (p[i]! - q[i]!) ** 2;
    r += q[i]! ** 2;
  }
  return Math.sqrt(s / r);
};
const cle: Record<string, number> = {};
for (const perChannel of [false, true]) {
  const k = perChannel ? 'perChannel' : 'perTensor';
  const q0 = quantizeStatic(reluG, mcal, { perChannel });
  const q1 = quantizeStatic(eq.graph, mcal, { perChannel });
  cle[`${k}/plain`] = rms(out(q0), out(reluG));
  cle[`${k}/biasCorrection`] = rms(out(correctBias(q0, reluG, mcal).graph), out(reluG));
  cle[`${k}/cle`] = rms(out(q1), out(eq.graph));
  cle[`${k}/cle+biasCorrection`] = rms(out(correctBias(q1, eq.graph, mcal).graph), out(eq.graph));
}

// structured pruning of the same MobileNetV2
const prune: Record<string, unknown>[] = [];
for (const amount of [0.25, 0.5, 0.75]) {
  const p = pruneChannels(mg, { amount }).graph;
  prune.push({
    amount,
    params: [...p.initializers.values()].reduce((a, i) => a + i.data.length, 0),
    macs: countMacs(p, { symbols: { N: 1 } }).total,
    bytes: encodeTvm(p).byteLength,
  });
}
const base = {
  params: [...mg.initializers.values()].reduce((a, i) => a + i.data.length, 0),
  macs: countMacs(mg, { symbols: { N: 1 } }).total,
  bytes: encodeTvm(mg).byteLength,
};
const env = {
  date: new Date().toISOString(),
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  node: process.version,
  loadavgBeforeAfter: [load0, loadavg()[0]],
  testImages: f.testX.shape[0],
};
writeFileSync(
  new URL('./results/compress-ptq.json', import.meta.url),
  `${JSON.stringify({ env, fashion: rows, cle, pruning: { base, prune } }, null, 2)}\n`,
);
const pct = (v: unknown) => `${((v as number) * 100).toFixed(1)}%`;
console.log('| method | int8/final accuracy | max rel. error vs fp32 | weight bytes | latency (batch 1) |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.method} | ${pct(r.accuracy)} | ${(r.relError as number).toFixed(4)} | ${r.weightBytes} | ${(r.latencyMs as number).toFixed(2)} ms |`,
  );
}
console.log(
  '\nCLE / bias correction (relative RMS error of int8 vs float, MobileNetV2 ×0.35 @32, skewed BN):',
);
console.log(JSON.stringify(cle, null, 1));
console.log('\npruning:', JSON.stringify({ base, prune }));
