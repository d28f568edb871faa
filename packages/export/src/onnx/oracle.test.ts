// Oracle tests: every mapped op exported, checked by onnx.checker (full_check) and run in onnxruntime-node
// against runGraph on the CPU backend.
import { fromBinary } from '@bufbuild/protobuf';
import { cpu } from '@tinyvision/backend-cpu';
import {
  abs,
  add,
  argMax,
  argMin,
  avgPool2d,
  batchNorm,
  cast,
  clip,
  concat,
  contiguous,
  conv2d,
  convTranspose2d,
  div,
  equal,
  erf,
  exp,
  expand,
  flatten,
  flip,
  floor,
  fusedConv2d,
  gather,
  gelu,
  globalAvgPool,
  globalMaxPool,
  greater,
  greaterEqual,
  groupNorm,
  hardSigmoid,
  hardSwish,
  layerNorm,
  leakyRelu,
  less,
  lessEqual,
  linear,
  log,
  logSoftmax,
  logSumExp,
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
  notEqual,
  optimizeGraph,
  pad,
  pow,
  prod,
  randn,
  reciprocal,
  registerBackend,
  relu,
  relu6,
  reshape,
  resize,
  round,
  rsqrt,
  sigmoid,
  sign,
  silu,
  slice,
  softmax,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  takeAlongAxis,
  tanh,
  tensor,
  tile,
  topk,
  trace,
  transpose,
  variance,
  where,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyOnnx } from '../test/onnx-oracle.js';
import { ModelProtoSchema } from './generated/onnx/onnx_pb.js';
import { exportOnnx, onnxSupportedOps } from './writer.js';

beforeAll(() => {
  registerBackend(cpu());
  manualSeed(7);
});

const TOL = 1e-4;
const w = (shape: number[], name: string, scale = 0.3): Tensor => {
  const t = randn(shape).mul(scale);
  t.name = name;
  return t;
};
const pos = (shape: number[]): Tensor => abs(randn(shape)).add(0.5);
const seen = new Set<string>();

/**
 * Traces `fn`, exports it at each opset (default 13 and 17) and compares onnxruntime with runGraph on `inputs`
 * and every extra input set; returns the report of the last opset.
 */
async function check(
  fn: (...xs: Tensor[]) => Tensor | Record<string, Tensor>,
  inputs: Tensor[],
  more: Tensor[][] = [],
  opts: { opsets?: number[]; dynamicBatch?: boolean; optimize?: boolean } = {},
) {
  let g = trace(fn as never, inputs, { dynamicBatch: opts.dynamicBatch ?? false });
  if (opts.optimize) g = optimizeGraph(g);
  for (const n of g.nodes) seen.add(n.op);
  let last: Awaited<ReturnType<typeof verifyOnnx>> | undefined;
  for (const opset of opts.opsets ?? [13, 17]) {
    last = await verifyOnnx(g, [inputs, ...more], { opset });
    expect(last.worst, `opset ${opset}`).toBeLessThanOrEqual(TOL);
  }
  return { graph: g, ...last! };
}

describe('exportOnnx oracle (onnxruntime-node + onnx.checker)', () => {
  it('binary elementwise ops with broadcasting', async () => {
    await check(
      (x, y) => ({
        add: add(x, y),
        sub: sub(x, y),
        mul: mul(x, y),
        div: div(x, y),
        pow: pow(abs(x).add(0.5), y),
        max: maximum(x, y),
        min: minimum(x, y),
      }),
      [randn([2, 3, 4]), pos([3, 4])],
    );
  });

  it('unary ops and activations', async () => {
    const r = await check(
      (x, p) => ({
        neg: neg(x),
        abs: abs(x),
        exp: exp(x),
        log: log(p),
        sqrt: sqrt(p),
        rsqrt: rsqrt(p),
        sq: square(x),
        rec: reciprocal(p),
        floor: floor(x.mul(3)),
        round: round(x.mul(3)),
        sign: sign(x),
        erf: erf(x),
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
        clipLo: clip(x, { min: 0.1 }),
        cast: cast(cast(x.mul(4), 'int32'), 'float32'),
      }),
      [randn([2, 3, 5]), pos([2, 3, 5])],
    );
    expect(r.opTypes).toEqual(expect.arrayContaining(['HardSigmoid', 'Erf', 'Clip', 'Cast']));
    // HardSwish only exists from opset 14: there it is one node
    const r14 = await check((x) => hardSwish(x.mul(4)), [randn([2, 6])], [], { opsets: [14] });
    expect(r14.opTypes).toContain('HardSwish');
  });

  it('comparisons and where (bool outputs, exact)', async () => {
    await check(
      (x, y) => ({
        eq: equal(floor(x), floor(y)),
        gt: greater(x, y),
        lt: less(x, y),
        ge: greaterEqual(floor(x), floor(y)),
        le: lessEqual(floor(x), floor(y)),
        ne: notEqual(floor(x), floor(y)),
        where: where(greater(x, y), x, y),
      }),
      [randn([3, 4]).mul(2), randn([4]).mul(2)],
    );
  });

  it('reductions, arg reductions and softmax', async () => {
    await check(
      (x) => ({
        sum: sum(x, { axes: [1, 2] }),
        sumK: sum(x, { axes: 0, keepDims: true }),
        mean: mean(x, { axes: -1 }),
        max: max(x, { axes: 1, keepDims: true }),
        min: min(x, { axes: [0, 2] }),
        prod: prod(x, { axes: 2 }),
        amax: argMax(x, { axis: 2 }),
        amin: argMin(x, { axis: 1, keepDims: true }),
        sm: softmax(x, 1),
        lsm: logSoftmax(x, -1),
        lse: logSumExp(x, { axes: [1, 2] }),
        var: variance(x, { axes: 2 }),
        varPop: variance(x, { axes: [0, 1], keepDims: true, correction: 0 }),
        topV: topk(x, { k: 2, axis: 2 })[0],
        topI: topk(x, { k: 2, axis: 2 })[1],
        lowV: topk(x, { k: 3, axis: 1, largest: false })[0],
      }),
      [randn([2, 3, 4])],
    );
  });

  it('small conv net (BN + ReLU6 + residual + GAP + Linear + Softmax), unoptimised and optimised, batch 1 and 3', async () => {
    const c1 = w([8, 3, 3, 3], 'c1.weight');
    const c2 = w([8, 8, 3, 3], 'c2.weight', 0.1);
    const bn = (i: number) => ({
      runningMean: w([8], `bn${i}.mean`, 0.1),
      runningVar: pos([8]),
      weight: pos([8]),
      bias: w([8], `bn${i}.bias`, 0.1),
    });
    const bn1 = bn(1);
    const bn2 = bn(2);
    const fc = w([5, 8], 'fc.weight');
    const fcb = w([5], 'fc.bias');
    const net = (x: Tensor) => {
      const h = relu6(batchNorm(conv2d(x, c1, null, { padding: 1 }), bn1));
      const r = relu(add(batchNorm(conv2d(h, c2, null, { padding: 1 }), bn2), h));
      return softmax(linear(flatten(globalAvgPool(r), 1), fc, fcb), -1);
    };
    const x2 = randn([2, 3, 8, 8]);
    const x1 = randn([1, 3, 8, 8]);
    const x3 = randn([3, 3, 8, 8]);
    for (const optimize of [false, true]) {
      const r = await check(net, [x2], [[x1], [x3]], { dynamicBatch: true, optimize });
      const model = fromBinary(ModelProtoSchema, exportOnnx(r.graph));
      const dim0 = model.graph!.input[0]!.type!.value.value as {
        shape?: { dim: { value: { value: unknown } }[] };
      };
      expect(dim0.shape!.dim[0]!.value.value).toBe('N');
      if (optimize) expect(r.graph.nodes.some((n) => n.op === 'FusedConv2D')).toBe(true);
    }
  });

  it('depthwise conv with same padding, strided/dilated conv, fused activations, conv transpose', async () => {
    const dw = w([6, 1, 3, 3], 'dw.weight');
    const pw = w([4, 6, 1, 1], 'pw.weight');
    const b4 = w([4], 'pw.bias');
    const ct = w([4, 3, 3, 3], 'ct.weight');
    const ctg = w([4, 2, 2, 2], 'ctg.weight');
    const acts = ['none', 'relu', 'relu6', 'hardSwish', 'hardSigmoid', 'sigmoid', 'silu', 'tanh'] as const;
    await check(
      (x) => {
        const out: Record<string, Tensor> = {
          dw: conv2d(x, dw, null, { padding: 'same', groups: 6 }),
          dws2: conv2d(x, dw, null, { padding: 'same', groups: 6, stride: 2 }),
          dil: conv2d(x, dw, null, { padding: 2, dilation: 2, groups: 6 }),
          ct: convTranspose2d(slice(x, [0, 0], [2, 4]), ct, null, {
            stride: 2,
            padding: 1,
            outputPadding: 1,
          }),
          ctg: convTranspose2d(slice(x, [0, 0], [2, 4]), ctg, null, { stride: 2, groups: 2 }),
        };
        for (const a of acts) out[a] = fusedConv2d(x, pw, b4, { activation: a });
        return out;
      },
      [randn([2, 6, 7, 7])],
      [],
      { opsets: [13, 14] },
    );
  });

  it('matmul (transposes, batched), linear (Gemm and MatMul+Add)', async () => {
    const lw = w([5, 4], 'l.weight');
    const lb = w([5], 'l.bias');
    await check(
      (a, b, x2, x3) => ({
        mm: matmul(a, b),
        mmT: matmul(a, a, { transposeB: true }),
        mmTA: matmul(b, b, { transposeA: true }),
        gemm: linear(x2, lw, lb),
        gemmNoBias: linear(x2, lw),
        lin3: linear(x3, lw, lb),
        lin3NoBias: linear(x3, lw),
      }),
      [randn([2, 3, 4]), randn([2, 4, 5]), randn([3, 4]), randn([2, 3, 4])],
    );
  });

  it('layer norm (decomposed at opset 13, LayerNormalization at 17), group norm, batch norm without affine', async () => {
    const g = w([4, 5], 'ln.weight');
    const b = w([4, 5], 'ln.bias');
    const gw = w([6], 'gn.weight');
    const gb = w([6], 'gn.bias');
    const fn = (x: Tensor) => ({
      ln: layerNorm(x, [4, 5], { weight: g, bias: b }),
      lnPlain: layerNorm(x, 5),
      bn: batchNorm(x, { runningMean: w([3], 'm'), runningVar: pos([3]) }),
      gn: groupNorm(x.reshape([2, 6, 2, 5]), 3, { weight: gw, bias: gb }),
      gnPlain: groupNorm(x.reshape([2, 6, 2, 5]), 2),
      gnScale: groupNorm(x.reshape([2, 6, 2, 5]), 6, { weight: gw }),
    });
    const x = randn([2, 3, 4, 5]);
    const r13 = await check(fn, [x], [], { opsets: [13] });
    expect(r13.opTypes).toContain('ReduceMean');
    const r17 = await check(fn, [x], [], { opsets: [17] });
    expect(r17.opTypes).toContain('LayerNormalization');
  });

  it('pooling: max/avg with pads, ceil mode, count_include_pad, dilation; global pools', async () => {
    await check(
      (x) => ({
        mp: maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }),
        mpCeil: maxPool2d(x, { kernelSize: 2, stride: 2, ceilMode: true }),
        mpDil: maxPool2d(x, { kernelSize: 2, dilation: 2 }),
        ap: avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }),
        apNoPad: avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false }),
        apCeil: avgPool2d(x, { kernelSize: 2, stride: 2, ceilMode: true }),
        gap: globalAvgPool(x),
        gmp: globalMaxPool(x),
      }),
      [randn([2, 3, 7, 7])],
    );
  });

  it('resize: nearest (size and scale), bilinear half-pixel and align-corners, dynamic batch', async () => {
    await check(
      (x) => ({
        near: resize(x, { size: [9, 12] }),
        nearScale: resize(x, { scaleFactor: 2 }),
        bil: resize(x, { size: [7, 5], mode: 'bilinear' }),
        bilScale: resize(x, { scaleFactor: [2, 3], mode: 'bilinear' }),
        ac: resize(x, { size: [8, 11], mode: 'bilinear', coordinateMode: 'align_corners' }),
      }),
      [randn([2, 2, 4, 6])],
      [[randn([1, 2, 4, 6])], [randn([3, 2, 4, 6])]],
      { dynamicBatch: true },
    );
  });

  it('movement: reshape, transpose, slice with steps, expand, concat, pad (constant/reflect/edge), gather, tile, copies', async () => {
    const idx = tensor([2, 0, 1, 2], [4], 'int32');
    idx.name = 'idx';
    const along = tensor([0, 2, 1, 3, 0, 2], [1, 1, 6, 1], 'int32');
    along.name = 'along';
    await check(
      (x, y) => ({
        reshape: reshape(x, [-1, 12, 5]),
        flat: flatten(x, 1),
        tr: contiguous(transpose(x, [0, 2, 3, 1])).add(1),
        slice: slice(x, [0, 1, 0, 1], [2, 3, 4, 5], [1, 1, 2, 2]).add(0),
        expand: expand(y, [2, 3, 4, 5]).add(0),
        concat: concat([x, x.mul(2)], 1),
        padC: pad(x, [1, 2, 0, 1], { value: 0.5 }),
        padR: pad(x, [2, 1, 1, 2], { mode: 'reflect' }),
        padE: pad(x, [1, 1, 2, 0], { mode: 'edge' }),
        gather: gather(x, idx, 2),
        tile: tile(y, [2, 1, 2, 1]),
        along: takeAlongAxis(x, along, 2),
        flip: flip(x, [1, 3]).add(0),
      }),
      [randn([2, 3, 4, 5]), randn([1, 3, 1, 5])],
      [],
    );
  });

  it('dynamic batch through reshape, slice, expand and copies (batch 1 and 3)', async () => {
    const y = w([1, 1, 4], 'y');
    await check(
      (x) => ({
        merged: reshape(x, [2, 12]).add(1),
        sliced: slice(x, [0, 1], [2, 3]).mul(2),
        expanded: add(expand(slice(x, [0, 0], [2, 1]), [2, 3, 4]), y),
        copied: contiguous(transpose(x, [0, 2, 1])),
      }),
      [randn([2, 3, 4])],
      [[randn([1, 3, 4])], [randn([3, 3, 4])]],
      { dynamicBatch: true },
    );
  });

  it('covers every op of the conversion table', () => {
    // QuantizeLinear/DequantizeLinear: oracle-int8.test.ts
    const elsewhere = new Set(['QuantizeLinear', 'DequantizeLinear']);
    const untested = onnxSupportedOps().filter((op) => !seen.has(op) && !elsewhere.has(op));
    expect(untested).toEqual([]);
  });
});
