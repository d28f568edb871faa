import { cpu } from '@tinyvision/backend-cpu';
import { createModel, traceModule } from '@tinyvision/models';
import {
  type Graph,
  GraphError,
  InvalidArgumentError,
  type Node,
  optimizeGraph,
  type QuantParams,
  Rng,
  randn,
  registerBackend,
  runGraph,
  slice,
  type Tensor,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { type FashionFixture, fashionFixture, graphAccuracy } from '../__fixtures__/fashion-net.js';
import { lowerQdq, lowerQdqWithReport } from './lower.js';
import type { ObserverKind } from './observers.js';
import { quantizeStatic } from './static.js';

let f: FashionFixture;
let cal: Tensor[];
let qdq: Graph;
let fp32Acc: number;

beforeAll(async () => {
  registerBackend(cpu());
  f = await fashionFixture();
  cal = [0, 1, 2, 3].map((i) => slice(f.trainX, [i * 32, 0, 0, 0], [(i + 1) * 32, 1, 28, 28]));
  qdq = quantizeStatic(f.graph, cal);
  fp32Acc = graphAccuracy(f.graph, f.testX, f.testY);
}, 60_000);

const producerOf = (g: Graph) => new Map(g.nodes.flatMap((n) => n.outputs.map((v) => [v, n] as const)));
const readersOf = (g: Graph, v: string) => g.nodes.filter((n) => n.inputs.includes(v));

describe('quantizeStatic: the QDQ form of decision 0003', () => {
  it('keeps float32 graph inputs/outputs behind QuantizeLinear / DequantizeLinear', () => {
    const prod = producerOf(qdq);
    for (const v of qdq.inputs) {
      expect(qdq.values.get(v)!.dtype).toBe('float32');
      const users = readersOf(qdq, v);
      expect(users.map((n) => n.op)).toEqual(['QuantizeLinear']);
      expect(users[0]!.attrs.dtype).toBe('int8');
    }
    for (const v of qdq.outputs) {
      expect(qdq.values.get(v)!.dtype).toBe('float32');
      expect(prod.get(v)!.op).toBe('DequantizeLinear');
    }
    expect(qdq.metadata['tinyvision.quantization']).toBe('int8-qdq');
  });

  it('wraps every conv/linear in DQ inputs and exactly one Q output; activation params are per-tensor int8', () => {
    const prod = producerOf(qdq);
    const floatOps = qdq.nodes.filter((n) =>
      ['FusedConv2D', 'Linear', 'GlobalAvgPool', 'Reshape'].includes(n.op),
    );
    expect(floatOps.map((n) => n.op)).toEqual([
      'FusedConv2D',
      'FusedConv2D',
      'FusedConv2D',
      'GlobalAvgPool',
      'Reshape',
      'Linear',
    ]);
    for (const n of floatOps) {
      for (const v of n.inputs) if (v !== null) expect(prod.get(v)?.op).toBe('DequantizeLinear');
      const users = readersOf(qdq, n.outputs[0]!);
      expect(users).toHaveLength(1);
      expect(users[0]!.op).toBe('QuantizeLinear');
      const q = users[0]!.attrs.quant as QuantParams;
      expect(q.axis).toBeUndefined();
      expect(q.scale).toHaveLength(1);
      expect(q.scale[0]).toBeGreaterThan(0);
      expect(q.zeroPoint[0]).toBeGreaterThanOrEqual(-128);
      expect(q.zeroPoint[0]).toBeLessThanOrEqual(127);
      // fused ReLU: the range starts at 0, so the zero point is the lowest integer
      if (n.op === 'FusedConv2D') expect(q.zeroPoint[0]).toBe(-128);
    }
    // Reshape re-uses its input's parameters (no requantization)
    const reshape = floatOps[4]!;
    const inQ = prod.get(prod.get(reshape.inputs[0]!)!.inputs[0]!)!.attrs.quant;
    expect(readersOf(qdq, reshape.outputs[0]!)[0]!.attrs.quant).toEqual(inQ);
  });

  it('stores weights as symmetric per-output-channel int8 and biases as int32 with scale = in_scale × w_scale', () => {
    const prod = producerOf(qdq);
    const convs = qdq.nodes.filter((n) => n.op === 'FusedConv2D' || n.op === 'Linear');
    for (const n of convs) {
      const wq = qdq.initializers.get(prod.get(n.inputs[1]!)!.inputs[0]!)!;
      const bq = qdq.initializers.get(prod.get(n.inputs[2]!)!.inputs[0]!)!;
      const xq = qdq.values.get(prod.get(n.inputs[0]!)!.inputs[0]!)!.quant!;
      const orig = f.graph.initializers.get(wq.name.replace(/_quantized$/, ''))!;
      const o = wq.shape[0]!;
      expect(wq.dtype).toBe('int8');
      expect(wq.quant!.axis).toBe(0);
      expect(wq.quant!.scale).toHaveLength(o);
      expect(wq.quant!.zeroPoint.every((z) => z === 0)).toBe(true);
      const per = wq.data.length / o;
      for (let c = 0; c < o; c++) {
        let amax = 0;
        let qmax = 0;
        for (let i = 0; i < per; i++) {
          amax = Math.max(amax, Math.abs(Number(orig.data[c * per + i])));
          qmax = Math.max(qmax, Math.abs(Number(wq.data[c * per + i])));
        }
        expect(wq.quant!.scale[c]).toBeCloseTo(amax / 127, 9);
        expect(qmax).toBe(127); // the largest weight hits the end of [-127, 127]
      }
      expect(new Set(wq.quant!.scale).size).toBeGreaterThan(1); // really per channel
      expect(bq.dtype).toBe('int32');
      expect(bq.quant!.axis).toBe(0);
      bq.quant!.scale.forEach((s, c) => {
        const want = xq.scale[0]! * wq.quant!.scale[c]!;
        expect(Math.abs(s - want) / want).toBeLessThan(1e-6); // float32-rounded product
        expect(bq.quant!.zeroPoint[c]).toBe(0);
      });
    }
  });

  it('int8 accuracy on Fashion-MNIST stays within the stated margins of fp32, for every observer', () => {
    expect(fp32Acc).toBeGreaterThan(0.65);
    const margins: Record<ObserverKind, number> = {
      minmax: 0.02,
      'moving-average': 0.02,
      percentile: 0.02,
      mse: 0.02,
      kl: 0.05,
    };
    for (const kind of Object.keys(margins) as ObserverKind[]) {
      const g =
        kind === 'minmax' ? qdq : quantizeStatic(f.graph, cal, { activationObserver: { kind, bins: 1024 } });
      const acc = graphAccuracy(lowerQdq(g), f.testX, f.testY);
      expect(fp32Acc - acc, `${kind}: fp32 ${fp32Acc}, int8 ${acc}`).toBeLessThan(margins[kind]);
    }
  }, 60_000);

  it('leaves skipped nodes in float and rejects bad input with typed errors before any work', () => {
    const lin = f.graph.nodes.find((n) => n.op === 'Linear')!;
    const g = quantizeStatic(f.graph, cal, { skipNodes: [lin.name] });
    const l = g.nodes.find((n) => n.op === 'Linear')!;
    expect(g.initializers.get(l.inputs[1]!)!.dtype).toBe('float32');
    expect(() => quantizeStatic(f.graph, [])).toThrow(InvalidArgumentError);
    expect(() => quantizeStatic(f.graph, [])).toThrow(/calibration set is empty/);
    expect(() => quantizeStatic(qdq, cal)).toThrow(GraphError);
    expect(() => quantizeStatic(f.graph, cal, { activationObserver: 'bogus' as never })).toThrow(
      InvalidArgumentError,
    );
    expect(() => quantizeStatic(f.graph, cal, { activationObserver: { axis: 1 } })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('lowerQdq', () => {
  it('runs the convolutions and the linear layer as QConv2D / QMatMul int8 kernels', () => {
    const { graph: low, lowered } = lowerQdqWithReport(qdq);
    expect(lowered.map((l) => l.to)).toEqual(['QConv2D', 'QConv2D', 'QConv2D', 'QMatMul']);
    const ops = low.nodes.map((n) => n.op);
    expect(ops.filter((o) => o === 'QConv2D')).toHaveLength(3);
    expect(ops.filter((o) => o === 'QMatMul')).toHaveLength(1);
    expect(ops).not.toContain('FusedConv2D');
    expect(ops).not.toContain('Linear');
    for (const n of low.nodes.filter((m: Node) => m.op === 'QConv2D' || m.op === 'QMatMul')) {
      expect(n.inputs.slice(0, 2).map((v) => low.values.get(v!)!.dtype)).toEqual(['int8', 'int8']);
      expect(low.values.get(n.inputs[2]!)!.dtype).toBe('int32');
      expect(low.values.get(n.outputs[0]!)!.dtype).toBe('int8');
    }
    // Linear's [out, in] weight is stored as [in, out], per column
    const mm = low.nodes.find((n) => n.op === 'QMatMul')!;
    const w = low.initializers.get(mm.inputs[1]!)!;
    expect(w.shape).toEqual([32, 10]);
    expect(w.quant!.axis).toBe(1);
  });

  it('agrees with the QDQ float simulation within one quantization step of the output', () => {
    const low = lowerQdq(qdq);
    const x = f.testX;
    const a = runGraph(qdq, [x]).outputs[0]!.toFloat32();
    const b = runGraph(low, [x]).outputs[0]!.toFloat32();
    const outQ = qdq.nodes.find((n) => n.op === 'QuantizeLinear' && n.outputs[0] === 'output_0_quantized')!;
    const step = (outQ.attrs.quant as QuantParams).scale[0]!;
    let worst = 0;
    let differ = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!) / step;
      worst = Math.max(worst, d);
      if (d > 0.5) differ++;
    }
    expect(worst).toBeLessThanOrEqual(1 + 1e-4);
    expect(differ / a.length).toBeLessThan(0.05);
  });

  it('lowers depthwise, residual and SE models (MobileNetV2 / V3-small) and they still agree with the simulation', () => {
    for (const name of ['mobilenet_v2', 'mobilenet_v3_small'] as const) {
      const m = createModel(name, { width: 0.35, resolution: 32, numClasses: 10 });
      const g = optimizeGraph(
        traceModule(m, [randn([2, 3, 32, 32], { rng: new Rng(1) })], { dynamicBatch: true }),
      );
      const q = quantizeStatic(g, [randn([8, 3, 32, 32], { rng: new Rng(2) })]);
      const { graph: low, lowered } = lowerQdqWithReport(q);
      const convs = g.nodes.filter((n) => n.op === 'Conv2D' || n.op === 'FusedConv2D');
      expect(lowered.filter((l) => l.to === 'QConv2D')).toHaveLength(convs.length);
      const dw = low.nodes.filter((n) => n.op === 'QConv2D' && (n.attrs.groups as number) > 1);
      expect(dw.length).toBeGreaterThan(3);
      const x = randn([2, 3, 32, 32], { rng: new Rng(3) });
      const ref = runGraph(g, [x]).outputs[0]!.toFloat32();
      const sim = runGraph(q, [x]).outputs[0]!.toFloat32();
      const int8 = runGraph(low, [x]).outputs[0]!.toFloat32();
      const outQ = q.nodes.find((n) => n.op === 'QuantizeLinear' && n.outputs[0]!.startsWith(q.outputs[0]!))!;
      const step = (outQ.attrs.quant as QuantParams).scale[0]!;
      let worst = 0;
      let range = 0;
      let err = 0;
      for (let i = 0; i < sim.length; i++) {
        worst = Math.max(worst, Math.abs(sim[i]! - int8[i]!) / step);
        range = Math.max(range, Math.abs(ref[i]!));
        err = Math.max(err, Math.abs(ref[i]! - int8[i]!));
      }
      // residual adds and hard-swish requantize in float in the simulation: allow 2 steps through a deep net
      expect(worst, name).toBeLessThanOrEqual(2 + 1e-4);
      expect(err / range, name).toBeLessThan(0.25);
    }
  }, 60_000);
});
