import { cpu } from '@tinyvision/backend-cpu';
import {
  type Graph,
  InvalidArgumentError,
  makeGraph,
  Rng,
  registerBackend,
  runGraph,
  tensor,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { type FashionFixture, fashionFixture, graphAccuracy } from '../__fixtures__/fashion-net.js';
import { quantizeDynamic } from './dynamic.js';
import { convertFloat } from './half.js';
import { INT4_METADATA_KEY, quantizeWeights, weightBytes } from './weight-only.js';
import { quantizeSymmetric } from './weights.js';

let f: FashionFixture;
let ref: Float32Array;
let fp32Acc: number;

beforeAll(async () => {
  registerBackend(cpu());
  f = await fashionFixture();
  ref = runGraph(f.graph, [f.testX]).outputs[0]!.toFloat32();
  fp32Acc = graphAccuracy(f.graph, f.testX, f.testY);
}, 60_000);

/** Max |out − fp32| relative to max |fp32|, on the 500 test images. */
function relError(g: Graph): number {
  const out = runGraph(g, [f.testX]).outputs[0]!.toFloat32();
  let m = 0;
  let r = 0;
  for (let i = 0; i < out.length; i++) {
    m = Math.max(m, Math.abs(out[i]! - ref[i]!));
    r = Math.max(r, Math.abs(ref[i]!));
  }
  return m / r;
}

describe('weight-only quantization', () => {
  it('int8 per-channel: weights int8 behind DequantizeLinear, ~4× smaller, accuracy within 1 point', () => {
    const { graph, layers } = quantizeWeights(f.graph);
    expect(layers).toHaveLength(4);
    for (const n of graph.nodes.filter((m) => m.op === 'FusedConv2D' || m.op === 'Linear')) {
      const dq = graph.nodes.find((m) => m.outputs[0] === n.inputs[1])!;
      expect(dq.op).toBe('DequantizeLinear');
      expect(graph.initializers.get(dq.inputs[0]!)!.dtype).toBe('int8');
      expect(graph.values.get(n.inputs[0]!)!.dtype).toBe('float32'); // activations stay float
    }
    expect(weightBytes(graph)).toBeLessThan(weightBytes(f.graph) * 0.3);
    expect(relError(graph)).toBeLessThan(0.01);
    expect(fp32Acc - graphAccuracy(graph, f.testX, f.testY)).toBeLessThan(0.01);
  });

  it('int4: values in [-7, 7], counted packed, accuracy within 8 points; group-wise scales lower the weight error', () => {
    const { graph } = quantizeWeights(f.graph, { bits: 4 });
    const int4 = graph.metadata[INT4_METADATA_KEY]!.split(',');
    expect(int4).toHaveLength(4);
    for (const name of int4) {
      const w = graph.initializers.get(name)!;
      expect(Math.max(...Array.from(w.data as Int8Array, Math.abs))).toBe(7);
    }
    const w8 = quantizeWeights(f.graph).graph;
    expect(weightBytes(graph)).toBeLessThan(weightBytes(w8) * 0.6);
    expect(fp32Acc - graphAccuracy(graph, f.testX, f.testY)).toBeLessThan(0.08);

    const { graph: grouped, layers } = quantizeWeights(f.graph, { bits: 4, groupSize: 8 });
    const conv2 = layers.find((l) => l.weight === '3.weight')!;
    expect(conv2.groupSize).toBe(8);
    expect(conv2.scales).toBe((16 * 72) / 8);
    expect(layers.find((l) => l.weight === '0.weight')!.groupSize).toBe(9); // 9 % 8 ≠ 0: per channel
    expect(grouped.nodes.some((n) => n.op === 'Reshape' && n.outputs[0]!.startsWith('3.weight'))).toBe(true);
    // reconstruction error of each grouped weight is below the per-channel one
    for (const name of ['3.weight', '6.weight']) {
      const w = f.graph.initializers.get(name)!;
      const o = w.shape[0]!;
      const k = w.data.length / o;
      const recon = (q: Int8Array, s: number[], per: number) =>
        Array.from(q, (v, i) => v * s[Math.floor(i / per)]!).reduce(
          (acc, v, i) => acc + (v - Number(w.data[i])) ** 2,
          0,
        );
      const pc = quantizeSymmetric(w.data as Float32Array, [o, k], 0, { qmax: 7 });
      const gw = quantizeSymmetric(w.data as Float32Array, [(o * k) / 8, 8], 0, { qmax: 7 });
      expect(recon(gw.q, gw.scale, 8)).toBeLessThan(recon(pc.q, pc.scale, k) * 0.8);
    }
    expect(relError(grouped)).toBeLessThan(0.3);
  });

  it('rejects bad options', () => {
    expect(() => quantizeWeights(f.graph, { bits: 2 as never })).toThrow(InvalidArgumentError);
    expect(() => quantizeWeights(f.graph, { groupSize: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('dynamic quantization', () => {
  it('quantizes activations from each batch’s own range: error within half a step, accuracy within 1 point', () => {
    const dyn = quantizeDynamic(f.graph);
    expect(dyn.metadata['tinyvision.quantization']).toBe('int8-dynamic');
    expect(dyn.nodes.filter((n) => n.op === 'Round').length).toBe(8); // zero point + values, 4 layers
    expect(relError(dyn)).toBeLessThan(0.02);
    expect(fp32Acc - graphAccuracy(dyn, f.testX, f.testY)).toBeLessThan(0.01);

    // a one-node graph: Linear with an identity weight shows the activation fake-quant directly
    const rng = new Rng(4);
    const xs = Array.from({ length: 24 }, () => rng.next() * 3 - 1);
    const eye = new Float32Array(16).map((_, i) => (i % 5 === 0 ? 1 : 0));
    const g = makeGraph({
      inputs: ['x'],
      outputs: ['y'],
      nodes: [{ name: 'fc', op: 'Linear', inputs: ['x', 'w'], outputs: ['y'], attrs: {} }],
      values: [{ name: 'x', shape: [6, 4], dtype: 'float32' }],
      initializers: [{ name: 'w', dtype: 'float32', shape: [4, 4], data: eye }],
    });
    const y = runGraph(quantizeDynamic(g), [tensor(xs, [6, 4])]).outputs[0]!.toFloat32();
    const lo = Math.min(0, ...xs);
    const hi = Math.max(0, ...xs);
    const step = (hi - lo) / 255;
    xs.forEach((v, i) => expect(Math.abs(y[i]! - v)).toBeLessThanOrEqual(step / 2 + 1e-6));
  });
});

describe('fp16 / bf16 conversion', () => {
  it('converts initializers, computes in 16 bits, keeps float32 I/O, with a measured error', () => {
    const h = convertFloat(f.graph, 'float16');
    const b = convertFloat(f.graph, 'bfloat16');
    for (const [g, dt] of [
      [h, 'float16'],
      [b, 'bfloat16'],
    ] as const) {
      expect([...g.initializers.values()].every((i) => i.dtype === dt)).toBe(true);
      expect(g.values.get(g.inputs[0]!)!.dtype).toBe('float32');
      expect(g.values.get(g.outputs[0]!)!.dtype).toBe('float32');
      expect(g.values.get(g.nodes.find((n) => n.op === 'FusedConv2D')!.outputs[0]!)!.dtype).toBe(dt);
      expect(weightBytes(g)).toBe(weightBytes(f.graph) / 2);
    }
    const eh = relError(h);
    const eb = relError(b);
    expect(eh).toBeLessThan(3e-3);
    expect(eb).toBeLessThan(3e-2);
    expect(eh).toBeLessThan(eb); // 11-bit vs 8-bit significand
    expect(Math.abs(fp32Acc - graphAccuracy(h, f.testX, f.testY))).toBeLessThan(0.005);
    expect(() => convertFloat(f.graph, 'int8' as never)).toThrow(InvalidArgumentError);
  });
});
