// Oracle tests of the float TFLite writer: one small hand graph per op mapping, exported and run in the real
// TFLite interpreter (tfjs-tflite WASM, XNNPACK), compared with runGraph on the CPU backend.
import { cpu } from '@tinyvision/backend-cpu';
import {
  abs,
  add,
  avgPool2d,
  batchNorm,
  cast,
  clip,
  concat,
  conv2d,
  div,
  exp,
  FormatError,
  flatten,
  floor,
  fusedConv2d,
  type Graph,
  gelu,
  globalAvgPool,
  globalMaxPool,
  hardSigmoid,
  hardSwish,
  layerNorm,
  leakyRelu,
  linear,
  log,
  manualSeed,
  matmul,
  max,
  maximum,
  maxPool2d,
  mean,
  min,
  minimum,
  mul,
  neg,
  pad,
  pow,
  randn,
  registerBackend,
  relu,
  relu6,
  reshape,
  resize,
  rsqrt,
  sigmoid,
  silu,
  slice,
  softmax,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  tanh,
  trace,
  transpose,
  UnsupportedOpError,
  unfold,
  withGraph,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { BuiltinOperator } from './generated/schema_generated.js';
import { readTfliteModel } from './parse.js';
import { compareWithGraph } from './testing/oracle.js';
import { type ExportTfliteOptions, exportTflite, tfliteSupportedOps } from './writer.js';

beforeAll(() => {
  registerBackend(cpu());
  manualSeed(11);
});

const TOL = 1e-4;
const w = (shape: number[], name: string, scale = 0.3): Tensor => {
  const t = randn(shape).mul(scale);
  t.name = name;
  return t;
};
const pos = (shape: number[]): Tensor => abs(randn(shape)).add(0.5);

interface Case {
  readonly name: string;
  readonly graph: Graph;
  readonly inputs: Tensor[];
  readonly opts?: ExportTfliteOptions;
}
const cases: Case[] = [];
const seen = new Set<string>();
function hand(
  name: string,
  fn: (...xs: Tensor[]) => Tensor | Record<string, Tensor>,
  inputs: Tensor[],
  opts: ExportTfliteOptions = {},
): void {
  const graph = trace(fn as never, inputs);
  cases.push({ name, graph, inputs, opts });
}

describe('exportTflite (float32) against the TFLite interpreter', () => {
  beforeAll(() => {
    const dw = w([6, 1, 3, 3], 'dw.weight');
    const dwm = w([12, 1, 3, 3], 'dwm.weight');
    const pw = w([4, 6, 1, 1], 'pw.weight');
    const b4 = w([4], 'pw.bias');
    const c3 = w([5, 6, 3, 3], 'c3.weight');
    const acts = ['none', 'relu', 'relu6', 'hardSwish', 'hardSigmoid', 'sigmoid', 'silu', 'tanh'] as const;
    hand(
      'conv: same/explicit/strided/dilated pads, depthwise (multiplier 1 and 2), fused activations',
      (x) => {
        const out: Record<string, Tensor> = {
          same: conv2d(x, c3, null, { padding: 'same' }),
          s2: conv2d(x, c3, null, { padding: 1, stride: 2 }),
          s2same: conv2d(x, c3, null, { padding: 'same', stride: 2 }),
          valid: conv2d(x, c3),
          dil: conv2d(x, c3, null, { padding: 2, dilation: 2 }),
          asym: conv2d(x, c3, null, { padding: [0, 2], stride: [1, 2] }),
          dw: conv2d(x, dw, null, { padding: 1, groups: 6 }),
          dws2: conv2d(x, dw, null, { padding: 1, groups: 6, stride: 2 }),
          dwm: conv2d(x, dwm, null, { padding: 1, groups: 6 }),
        };
        for (const a of acts) out[a] = fusedConv2d(x, pw, b4, { activation: a });
        return out;
      },
      [randn([1, 6, 9, 9])],
    );
    const bn = {
      runningMean: w([6], 'bn.mean', 0.1),
      runningVar: pos([6]),
      weight: pos([6]),
      bias: w([6], 'bn.bias', 0.1),
    };
    const bn5 = { runningMean: w([5], 'm5'), runningVar: pos([5]), weight: pos([5]), bias: w([5], 'b5') };
    hand(
      'unoptimised graph: conv + batch norm + relu6, batch norm on a rank-2 value',
      (x, v) => ({ y: relu6(batchNorm(conv2d(x, c3, null, { padding: 1 }), bn5)), v: batchNorm(v, bn) }),
      [randn([1, 6, 5, 5]), randn([3, 6])],
      { optimize: false },
    );
    hand(
      'pooling: max/avg, same-like and explicit pads, ceil mode, global pools',
      (x) => ({
        mp: maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }),
        mpValid: maxPool2d(x, { kernelSize: 2, stride: 2 }),
        mpCeil: maxPool2d(x, { kernelSize: 2, stride: 2, ceilMode: true }),
        ap: avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }),
        apNoPad: avgPool2d(x, { kernelSize: 3, stride: 1, padding: 1, countIncludePad: false }),
        apValid: avgPool2d(x, { kernelSize: 2, stride: 2 }),
        gap: globalAvgPool(x),
        gmp: globalMaxPool(x),
      }),
      [randn([1, 3, 7, 7])],
    );
    hand(
      'elementwise binary on NHWC values with constants of lower rank, and on plain values',
      (x, y) => {
        const c = w([3, 1, 1], 'c');
        const row = w([5], 'row');
        return {
          add: add(x, y),
          sub: sub(x, c),
          mul: mul(x, y),
          div: div(x, pos([1, 3, 1, 1])),
          max: maximum(x, c),
          min: minimum(x, y),
          rowAdd: add(x, row),
          flat: mul(flatten(x, 1), 2),
        };
      },
      [randn([1, 3, 4, 5]), randn([1, 3, 4, 5])],
    );
    hand(
      'unary ops and activations',
      (x, p) => ({
        neg: neg(x),
        abs: abs(x),
        exp: exp(x),
        sqrt: sqrt(p),
        rsqrt: rsqrt(p),
        tanh: tanh(x),
        sig: sigmoid(x),
        relu: relu(x),
        relu6: relu6(x.mul(5)),
        leaky: leakyRelu(x, { alpha: 0.1 }),
        hswish: hardSwish(x.mul(4)),
        hsig: hardSigmoid(x.mul(4)),
        silu: silu(x),
        gelu: gelu(x),
        geluT: gelu(x, { approximate: 'tanh' }),
        clip: clip(x, { min: -0.5, max: 0.7 }),
        clip6: clip(x.mul(5), { min: 0, max: 6 }),
        log: log(p),
        floor: floor(x.mul(3)),
        square: square(x),
        pow: pow(p, x),
        cast: cast(cast(x.mul(4), 'int32'), 'float32'),
      }),
      [randn([1, 3, 4, 5]), pos([1, 3, 4, 5])],
    );
    hand(
      'reductions and softmax on NHWC values (kept and dropped dims) and plain values',
      (x, v) => ({
        meanHW: mean(x, { axes: [2, 3] }),
        meanC: mean(x, { axes: 1, keepDims: true }),
        sumW: sum(x, { axes: 3 }),
        maxC: max(x, { axes: 1 }),
        minW: min(x, { axes: [3], keepDims: true }),
        smC: softmax(x, 1),
        smW: softmax(x, -1),
        smH: softmax(x, 2),
        smV: softmax(v, -1),
        meanV: mean(v, { axes: 1 }),
      }),
      [randn([1, 3, 4, 5]), randn([2, 7])],
    );
    const lw = w([5, 4], 'l.weight');
    const lb = w([5], 'l.bias');
    hand(
      'linear (rank 2 and 3, with and without bias) and batch matmul (transposes)',
      (x2, x3, a, b) => ({
        fc: linear(x2, lw, lb),
        fcNoBias: linear(x2, lw),
        fc3: linear(x3, lw, lb),
        mm: matmul(a, b),
        mmT: matmul(a, a, { transposeB: true }),
        mmTA: matmul(b, b, { transposeA: true }),
      }),
      [randn([3, 4]), randn([2, 3, 4]), randn([2, 3, 4]), randn([2, 4, 5])],
    );
    const g = w([8], 'ln.weight');
    const bb = w([8], 'ln.bias');
    hand(
      'layer norm (affine and plain), decomposed',
      (x) => ({ ln: layerNorm(x, 8, { weight: g, bias: bb }), plain: layerNorm(x, 8) }),
      [randn([2, 3, 8])],
    );
    hand(
      'movement: reshape / transpose of NHWC values, slice with steps, concat, pad (constant, value, reflect, edge)',
      (x, y) => ({
        reshape: reshape(x, [1, 12, 5]),
        tr: transpose(x, [0, 2, 3, 1]).add(1),
        tr2: transpose(x, [0, 1, 3, 2]).mul(2),
        slice: slice(x, [0, 1, 0, 1], [1, 3, 4, 5], [1, 1, 2, 2]),
        concat: concat([x, y.mul(2)], 1),
        concatW: concat([x, y], 3),
        padC: pad(x, [1, 2, 0, 1]),
        padV: pad(x, [1, 2, 0, 1], { value: 0.5 }),
        padR: pad(x, [2, 1, 1, 2], { mode: 'reflect' }),
        padE: pad(x, [1, 1, 1, 0], { mode: 'edge' }),
      }),
      [randn([1, 3, 4, 5]), randn([1, 3, 4, 5])],
    );
    hand(
      'resize: nearest (size and integer scale), bilinear half-pixel and align-corners',
      (x) => ({
        near: resize(x, { size: [8, 12] }),
        nearScale: resize(x, { scaleFactor: 2 }),
        bil: resize(x, { size: [7, 5], mode: 'bilinear' }),
        bilScale: resize(x, { scaleFactor: 2, mode: 'bilinear' }),
        ac: resize(x, { size: [8, 11], mode: 'bilinear', coordinateMode: 'align_corners' }),
      }),
      [randn([1, 2, 4, 6])],
    );
    const fc = w([5, 8], 'fc.weight');
    hand(
      'NCHW interface (layout nchw) and batch 2',
      (x) => ({
        feat: relu(conv2d(x, c3.mul(1), null, { padding: 1 })),
        logits: softmax(linear(flatten(globalAvgPool(x), 1), w([5, 6], 'f6')), -1),
      }),
      [randn([2, 6, 5, 5])],
      { layout: 'nchw' },
    );
    hand('dynamic batch fixed to the input batch', (x) => linear(flatten(x, 1), fc), [randn([3, 2, 2, 2])], {
      batchSize: 3,
    });
    for (const c of cases) for (const n of c.graph.nodes) seen.add(n.op);
  });

  it('every hand graph matches runGraph within 1e-4 of the output range', () => {
    const models = cases.map((c) => {
      // dynamic batch: re-trace so the graph input is symbolic
      const graph =
        c.opts?.batchSize !== undefined
          ? trace((x) => linear(flatten(x, 1), w([5, 8], 'fcN')), c.inputs, { dynamicBatch: true })
          : c.graph;
      return { graph, model: exportTflite(graph, c.opts), inputs: c.inputs, nchw: c.opts?.layout === 'nchw' };
    });
    // negative control: the graph with one bias changed must NOT match its export
    const lin = cases.find((c) => c.name.startsWith('linear'))!;
    const bias = lin.graph.initializers.get('l.bias')!;
    const shifted = withGraph(lin.graph, {
      initializers: [
        ...[...lin.graph.initializers.values()].filter((i) => i.name !== 'l.bias'),
        { ...bias, data: Float32Array.from(bias.data as Float32Array, (v, i) => (i === 0 ? v + 0.05 : v)) },
      ],
    });
    models.push({ graph: lin.graph, model: exportTflite(shifted), inputs: lin.inputs, nchw: false });
    const nhwc = models.filter((m) => !m.nchw);
    const nchw = models.filter((m) => m.nchw);
    const rn = compareWithGraph(nhwc);
    const control = rn.pop()!;
    expect(control.worst, 'a wrong bias is detected').toBeGreaterThan(1e-3);
    const r = [...rn, ...compareWithGraph(nchw, true)];
    const names = [
      ...cases.filter((c) => c.opts?.layout !== 'nchw'),
      ...cases.filter((c) => c.opts?.layout === 'nchw'),
    ].map((c) => c.name);
    const report = Object.fromEntries(names.map((n, i) => [n, r[i]!.worst]));
    for (const [n, worst] of Object.entries(report)) expect(worst, n).toBeLessThanOrEqual(TOL);
  });

  it('writes TFL3, schema version 3, an empty buffer 0, 16-byte aligned weights and both op codes', () => {
    const bytes = exportTflite(cases[0]!.graph);
    expect(new TextDecoder().decode(bytes.subarray(4, 8))).toBe('TFL3');
    const m = readTfliteModel(bytes);
    expect(m.version).toBe(3);
    expect(m.buffers[0]!.length).toBe(0);
    for (const b of m.bufferOffsets) expect(b % 16).toBe(0);
    expect(m.opcodes.every((o) => o.deprecated === Math.min(o.builtin, 127))).toBe(true);
    expect(m.opcodes.map((o) => o.builtin)).toContain(BuiltinOperator.DEPTHWISE_CONV_2D);
    // NHWC input
    expect(m.model.tensors[m.model.inputs[0]!]!.shape).toEqual([1, 9, 9, 6]);
  });

  it('rejects unsupported ops and attributes with UnsupportedOpError naming the node', () => {
    const g = trace((x) => unfold(x, { kernelSize: 2 }), [randn([1, 2, 4, 4])]);
    expect(() => exportTflite(g)).toThrow(UnsupportedOpError);
    expect(() => exportTflite(g)).toThrow(/op 'Unfold' \(node '.+'\) has no TFLite mapping/);
    const grouped = trace(
      (x) => conv2d(x, w([4, 2, 3, 3], 'gw'), null, { groups: 2 }),
      [randn([1, 4, 5, 5])],
    );
    expect(() => exportTflite(grouped)).toThrow(/groups 2/);
    expect(() => exportTflite(g, { batchSize: 0 })).toThrow(/batchSize/);
    expect(FormatError).toBeDefined();
  });

  it('covers every op of the conversion table (Q/DQ in quantize.test.ts)', () => {
    const qdq = new Set(['QuantizeLinear', 'DequantizeLinear']);
    const untested = tfliteSupportedOps().filter((op) => !seen.has(op) && !qdq.has(op));
    expect(untested).toEqual([]);
  });
});
