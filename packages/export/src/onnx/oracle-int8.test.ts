// int8 export oracle: a hand-built QDQ graph (decision 0003: per-tensor int8 activations, per-channel symmetric
// int8 weights, int32 biases) written as QDQ and as QOperator, checked by onnx.checker and onnxruntime-node
// against runGraph on the QDQ graph (within one quantization step of the output).
import { fromBinary } from '@bufbuild/protobuf';
import { cpu } from '@tinyvision/backend-cpu';
import {
  conv2d,
  fromStorage,
  type Graph,
  globalAvgPool,
  type Initializer,
  inferShapes,
  makeGraph,
  manualSeed,
  matmul,
  type Node,
  type QuantParams,
  quantParams,
  randn,
  registerBackend,
  relu,
  runGraph,
  type Tensor,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyOnnx } from '../test/onnx-oracle.js';
import { ModelProtoSchema } from './generated/onnx/onnx_pb.js';
import { importOnnx } from './import.js';
import { exportOnnx } from './writer.js';

beforeAll(() => {
  registerBackend(cpu());
  manualSeed(21);
});

const round = (v: number) => Math.round(v);
const maxAbs = (t: Tensor) => t.toFloat32().reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const range = (t: Tensor): [number, number] => {
  const d = t.toFloat32();
  return [Math.min(0, ...d), Math.max(0, ...d)];
};

/** Asymmetric per-tensor int8 params covering [lo, hi]. */
function asym(lo: number, hi: number): QuantParams {
  const s = (hi - lo) / 255;
  return quantParams(s, Math.max(-128, Math.min(127, round(-128 - lo / s))));
}

/** Symmetric per-channel int8 weights along `axis`: [data, params]. */
function perChannel(w: Tensor, axis: number): [Int8Array, QuantParams, Float32Array] {
  const d = w.toFloat32();
  const n = w.shape[axis]!;
  const inner = w.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const scale = new Array<number>(n).fill(0);
  d.forEach((v, i) => {
    const c = Math.floor(i / inner) % n;
    scale[c] = Math.max(scale[c]!, Math.abs(v) / 127);
  });
  const q = new Int8Array(d.length);
  const deq = new Float32Array(d.length);
  d.forEach((v, i) => {
    const c = Math.floor(i / inner) % n;
    q[i] = round(v / scale[c]!);
    deq[i] = q[i]! * scale[c]!;
  });
  return [q, quantParams(scale, 0, axis), deq];
}

const node = (name: string, op: string, inputs: (string | null)[], outputs: string[], attrs = {}): Node => ({
  name,
  op,
  inputs,
  outputs,
  attrs,
});
const Q = (name: string, x: string, y: string, quant: QuantParams) =>
  node(name, 'QuantizeLinear', [x], [y], { quant, dtype: 'int8' });
const DQ = (name: string, x: string, y: string) => node(name, 'DequantizeLinear', [x], [y]);

/** x → Q → DQ → FusedConv2D(relu, DQ(w), DQ(b)) → Q → DQ → Add(self) → Q → DQ → GAP → Reshape → Q → DQ → MatMul(DQ(wm)) → Q → DQ. */
function qdqGraph(calib: Tensor): Graph {
  const wf = randn([8, 3, 3, 3]).mul(0.3);
  const bf = randn([8]).mul(0.1);
  const wmf = randn([8, 5]).mul(0.5);
  const xq = asym(-4, 4);
  const [wq, wQuant, wDeq] = perChannel(wf, 0);
  const bScale = wQuant.scale.map((s) => s * xq.scale[0]!);
  const bq = Int32Array.from(bf.toFloat32(), (v, i) => round(v / bScale[i]!));
  const bDeq = Float32Array.from(bq, (v, i) => v * bScale[i]!);
  const [wmq, wmQuant, wmDeq] = perChannel(wmf, 1);
  // calibrate the activation ranges on the float model with the dequantized weights
  const y = relu(
    conv2d(calib, fromStorage(wDeq, [8, 3, 3, 3], 'float32'), fromStorage(bDeq, [8], 'float32'), {
      padding: 1,
    }),
  );
  const yq = asym(0, maxAbs(y));
  const zq = asym(0, 2 * maxAbs(y));
  const m = globalAvgPool(y.mul(2)).reshape([-1, 8]);
  const mq = asym(0, maxAbs(m));
  const o = matmul(m, fromStorage(wmDeq, [8, 5], 'float32'));
  const [lo, hi] = range(o);
  const oq = asym(1.2 * lo, 1.2 * hi);
  const inits: Initializer[] = [
    { name: 'w', dtype: 'int8', shape: [8, 3, 3, 3], data: wq, quant: wQuant },
    { name: 'b', dtype: 'int32', shape: [8], data: bq, quant: quantParams(bScale, 0, 0) },
    { name: 'wm', dtype: 'int8', shape: [8, 5], data: wmq, quant: wmQuant },
  ];
  const conv = { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 1, activation: 'relu' };
  return inferShapes(
    makeGraph({
      name: 'qdq',
      inputs: ['x'],
      outputs: ['out'],
      values: [{ name: 'x', shape: ['N', 3, 8, 8], dtype: 'float32' }],
      initializers: inits,
      nodes: [
        Q('q_x', 'x', 'x_q', xq),
        DQ('dq_x', 'x_q', 'x_dq'),
        DQ('dq_w', 'w', 'w_dq'),
        DQ('dq_b', 'b', 'b_dq'),
        node('conv', 'FusedConv2D', ['x_dq', 'w_dq', 'b_dq'], ['y'], conv),
        Q('q_y', 'y', 'y_q', yq),
        DQ('dq_y', 'y_q', 'y_dq'),
        node('add', 'Add', ['y_dq', 'y_dq'], ['z']),
        Q('q_z', 'z', 'z_q', zq),
        DQ('dq_z', 'z_q', 'z_dq'),
        node('gap', 'GlobalAvgPool', ['z_dq'], ['g']),
        node('flat', 'Reshape', ['g'], ['m'], { shape: [-1, 8] }),
        Q('q_m', 'm', 'm_q', mq),
        DQ('dq_m', 'm_q', 'm_dq'),
        DQ('dq_wm', 'wm', 'wm_dq'),
        node('fc', 'MatMul', ['m_dq', 'wm_dq'], ['o'], { transposeA: false, transposeB: false }),
        Q('q_o', 'o', 'o_q', oq),
        DQ('dq_o', 'o_q', 'out'),
      ],
    }),
  );
}

describe('int8 ONNX export (QDQ and QOperator)', () => {
  let g: Graph;
  let inputs: Tensor[][];
  let step: number;
  let outRange: number;

  beforeAll(() => {
    const calib = randn([4, 3, 8, 8]);
    g = qdqGraph(calib);
    inputs = [[calib], [randn([2, 3, 8, 8])]];
    step = (g.nodes.find((n) => n.name === 'q_o')!.attrs as { quant: QuantParams }).quant.scale[0]!;
    const [lo, hi] = range(runGraph(g, [calib]).outputs[0]!);
    outRange = Math.max(hi - lo, 1e-3);
  });

  it('QDQ: QuantizeLinear/DequantizeLinear around float ops, per-channel weights with axis', async () => {
    const r = await verifyOnnx(g, inputs, { opset: 13 });
    expect(r.opTypes).toEqual(
      expect.arrayContaining(['QuantizeLinear', 'DequantizeLinear', 'Conv', 'MatMul', 'Add']),
    );
    const m = fromBinary(ModelProtoSchema, exportOnnx(g));
    const dqw = m.graph!.node.find((n) => n.opType === 'DequantizeLinear' && n.input[0] === 'w')!;
    expect(dqw.attribute.find((a) => a.name === 'axis')?.i).toBe(0n);
    const dqwm = m.graph!.node.find((n) => n.opType === 'DequantizeLinear' && n.input[0] === 'wm')!;
    expect(dqwm.attribute.find((a) => a.name === 'axis')?.i).toBe(1n);
    // within one quantization step of the output
    console.log(`QDQ: max |ort − ours| = ${((r.worst * outRange) / step).toFixed(3)} output steps`);
    expect(r.worst * outRange).toBeLessThanOrEqual(step * 1.0001);
  });

  it('QOperator: QLinearConv (+ int8 Clip for the fused relu) and QLinearMatMul; Add stays DQ → Add → Q', async () => {
    const r = await verifyOnnx(g, inputs, { opset: 13, quantFormat: 'qoperator' });
    expect(r.opTypes).toEqual(expect.arrayContaining(['QLinearConv', 'QLinearMatMul', 'Clip', 'Add']));
    expect(r.opTypes).not.toContain('Conv');
    expect(r.opTypes).not.toContain('MatMul');
    console.log(`QOperator: max |ort − ours| = ${((r.worst * outRange) / step).toFixed(3)} output steps`);
    expect(r.worst * outRange).toBeLessThanOrEqual(step * 1.0001);
  });

  it('the exported QDQ and QOperator models import back to graphs that match within one step', () => {
    const x = inputs[1]![0]!;
    const want = runGraph(g, [x]).outputs[0]!.toFloat32();
    for (const quantFormat of ['qdq', 'qoperator'] as const) {
      const back = importOnnx(exportOnnx(g, { quantFormat }));
      const got = runGraph(back, [x]).outputs[0]!.toFloat32();
      for (let i = 0; i < want.length; i++)
        expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(step * 1.0001);
    }
  });
});
