// Quantized TFLite exports in the real interpreter: dynamic-range hybrid kernels (exact on inputs that lie on
// the int8 grid) and full-integer int8 models from the QDQ form of decision 0003 (compress's quantizeStatic),
// within one output quantization step of runGraph on the QDQ graph and of its lowered QConv2D/QMatMul form.
import { cpu } from '@tinyvision/backend-cpu';
import { lowerQdq, quantizeStatic } from '@tinyvision/compress';
import { createModel, traceModule } from '@tinyvision/models';
import {
  add,
  conv2d,
  flatten,
  fusedConv2d,
  type Graph,
  globalAvgPool,
  hardSwish,
  linear,
  manualSeed,
  noGrad,
  optimizeGraph,
  randn,
  registerBackend,
  runGraph,
  type Tensor,
  tensor,
  trace,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { TensorType } from './generated/schema_generated.js';
import { readTfliteModel } from './parse.js';
import { compareWithGraph, nchwToNhwc, runTflite } from './testing/oracle.js';
import { roundWeights } from './testing/round-weights.js';
import { exportTflite } from './writer.js';

beforeAll(() => {
  registerBackend(cpu());
  manualSeed(5);
});

const w = (shape: number[], name: string, scale = 0.3): Tensor => {
  const t = randn(shape).mul(scale);
  t.name = name;
  return t;
};

/** Inputs on the int8 grid with max |x| = 127·s. */
function onGrid(shape: number[], s = 0.02): Tensor {
  const r = randn(shape).dataSync() as Float32Array;
  const k = Float32Array.from(r, (v) => Math.max(-127, Math.min(127, Math.round(v * 40))));
  k[0] = 127;
  return tensor(
    Float32Array.from(k, (v) => v * s),
    shape,
  );
}

/** Output scale of the QDQ graph's first output (the scale of the value its DequantizeLinear reads). */
function outScale(g: Graph): number {
  const dq = g.nodes.find((n) => n.outputs[0] === g.outputs[0] && n.op === 'DequantizeLinear');
  return g.values.get(dq!.inputs[0]!)!.quant!.scale[0]!;
}

describe('dynamic-range (hybrid) export', () => {
  it('single conv / depthwise / fully-connected layers match the int8-weight graph up to input quantization', () => {
    const cw = w([6, 4, 3, 3], 'cw');
    const dw = w([4, 1, 3, 3], 'dw');
    const fc = w([5, 16], 'fc');
    const fb = w([5], 'fb');
    const graphs = [
      trace((x) => conv2d(x, cw, w([6], 'cb'), { padding: 1 }), [onGrid([1, 4, 6, 6])]),
      trace((x) => conv2d(x, dw, w([4], 'db'), { padding: 1, groups: 4 }), [onGrid([1, 4, 6, 6])]),
      trace((x) => linear(x, fc, fb), [onGrid([2, 16])]),
    ];
    const cases = graphs.map((g, i) => ({
      graph: roundWeights(optimizeGraph(g), 'int8'),
      model: exportTflite(g, { quantization: 'dynamic' }),
      inputs: [onGrid(i === 2 ? [2, 16] : [1, 4, 6, 6])],
    }));
    for (const c of cases) {
      const m = readTfliteModel(c.model).model;
      expect(m.tensors.filter((t) => t.type === TensorType.INT8).length).toBe(1);
    }
    const r = compareWithGraph(cases);
    // the hybrid kernels (XNNPACK qd8) requantize each input row asymmetrically: one input step of error
    for (const x of r) expect(x.worst).toBeLessThanOrEqual(1e-2);
  });
});

describe('full-integer int8 export from the QDQ graph', () => {
  let small: Graph;
  let zoo: Graph;
  let calib: Tensor[];
  let zooCalib: Tensor[];
  beforeAll(() => {
    const c1 = w([8, 3, 3, 3], 'c1.weight');
    const b1 = w([8], 'c1.bias', 0.1);
    const c2 = w([8, 1, 3, 3], 'c2.weight');
    const b2 = w([8], 'c2.bias', 0.1);
    const c3 = w([8, 8, 1, 1], 'c3.weight');
    const fc = w([5, 8], 'fc.weight');
    const fb = w([5], 'fc.bias', 0.1);
    const net = (x: Tensor) => {
      const h = fusedConv2d(x, c1, b1, { padding: 1, stride: 2, activation: 'relu6' });
      const d = fusedConv2d(h, c2, b2, { padding: 1, groups: 8, activation: 'relu' });
      const r = add(conv2d(d, c3), h);
      return linear(flatten(globalAvgPool(hardSwish(r)), 1), fc, fb);
    };
    calib = [randn([1, 3, 12, 12]), randn([1, 3, 12, 12])];
    small = quantizeStatic(
      optimizeGraph(trace(net, [randn([1, 3, 12, 12])])),
      calib.map((t) => [t]),
    );
    const m = createModel('mobilenet_v2', { width: 0.35, resolution: 32, numClasses: 10 });
    m.train();
    noGrad(() => m.forward(randn([2, 3, 32, 32])).dispose());
    m.eval();
    zooCalib = [randn([1, 3, 32, 32]), randn([1, 3, 32, 32])];
    zoo = quantizeStatic(
      optimizeGraph(traceModule(m, [randn([1, 3, 32, 32])])),
      zooCalib.map((t) => [t]),
    );
  }, 120_000);

  it('writes int8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED with per-channel weight scales and int32 biases', () => {
    const m = readTfliteModel(exportTflite(small)).model;
    const conv = m.operators.find(
      (o) => o.inputs.length === 3 && m.tensors[o.inputs[1]!]!.shape.length === 4,
    )!;
    const [x, wt, b] = conv.inputs.map((i) => m.tensors[i]!);
    expect(x!.type).toBe(TensorType.INT8);
    expect(wt!.type).toBe(TensorType.INT8);
    expect(wt!.quant!.scale.length).toBe(8);
    expect(b!.type).toBe(TensorType.INT32);
    expect(m.tensors[m.inputs[0]!]!.type).toBe(TensorType.FLOAT32);
  });

  it('matches runGraph on the QDQ graph and on the lowered int8 graph within one output step', () => {
    const inputs = [randn([1, 3, 12, 12])];
    const zin = [randn([1, 3, 32, 32])];
    const cases = [
      { graph: small, model: exportTflite(small), inputs },
      { graph: lowerQdq(small), model: exportTflite(small), inputs },
      { graph: zoo, model: exportTflite(zoo), inputs: zin },
      { graph: lowerQdq(zoo), model: exportTflite(zoo), inputs: zin },
    ];
    const r = compareWithGraph(cases);
    const steps = r.map((x, i) => x.maxAbs / outScale(i < 2 ? small : zoo));
    console.log('int8 error in output steps (small QDQ, small lowered, mobilenet_v2 QDQ, lowered):', steps);
    for (const s of steps) expect(s).toBeLessThanOrEqual(1.001);
    // the outputs are not degenerate: they span several quantization steps
    for (const [g, x] of [
      [small, inputs],
      [zoo, zin],
    ] as const) {
      const y = runGraph(g, [...x]).outputs[0]!.dataSync() as Float32Array;
      expect((Math.max(...y) - Math.min(...y)) / outScale(g)).toBeGreaterThan(3);
    }
  });

  it('int8 inputs and outputs (int8Io): the interpreter reads and writes the graph boundary integers', () => {
    const model = exportTflite(small, { int8Io: true });
    const m = readTfliteModel(model).model;
    const inT = m.tensors[m.inputs[0]!]!;
    const outT = m.tensors[m.outputs[0]!]!;
    expect(inT.type).toBe(TensorType.INT8);
    expect(inT.shape).toEqual([1, 12, 12, 3]);
    expect(outT.type).toBe(TensorType.INT8);
    const x = randn([1, 3, 12, 12]);
    const qin = small.nodes.find((n) => n.op === 'QuantizeLinear' && n.inputs[0] === small.inputs[0])!;
    const {
      scale: [sx],
      zeroPoint: [zx],
    } = small.values.get(qin.outputs[0]!)!.quant!;
    const xq = nchwToNhwc(x.dataSync() as Float32Array, x.shape).map((v) =>
      Math.max(-128, Math.min(127, Math.round(v / sx!) + zx!)),
    );
    const [r] = runTflite([{ model, inputs: [{ data: xq, shape: [1, 12, 12, 3], dtype: 'int32' }] }]);
    expect(r!.error).toBeUndefined();
    const ours = runGraph(small, [x]).outputs[0]!.dataSync() as Float32Array;
    const {
      scale: [so],
      zeroPoint: [zo],
    } = outT.quant!;
    const theirs = r!.outputs![0]!.data.map((q) => (q - zo!) * so!);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(theirs[i]! - ours[i]!) / so!);
    expect(worst).toBeLessThanOrEqual(1.001);
    expect(() =>
      exportTflite(optimizeGraph(trace((t) => t.mul(2), [randn([2, 2])])), { int8Io: true }),
    ).toThrow(/needs a QDQ/);
  });
});
