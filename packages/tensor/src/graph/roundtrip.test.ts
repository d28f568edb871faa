import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  batchNorm,
  conv2d,
  flatten,
  globalAvgPool,
  linear,
  mul,
  noGrad,
  randn,
  registerBackend,
  relu,
  softmax,
  type Tensor,
} from '../index.js';
import { runGraph } from './execute.js';
import { optimizeGraph } from './optimize.js';
import { trace } from './trace.js';
import { decodeTvm } from './tvm-decode.js';
import { encodeTvm } from './tvm-encode.js';

beforeAll(() => registerBackend(cpu()));

function param(t: Tensor, name: string): Tensor {
  t.name = name;
  return t;
}

function bn(c: number, prefix: string) {
  const v = randn([c]);
  return {
    runningMean: param(mul(randn([c]), 0.1), `${prefix}.running_mean`),
    runningVar: param(add(mul(v, v), 0.5), `${prefix}.running_var`),
    weight: param(randn([c]), `${prefix}.weight`),
    bias: param(randn([c]), `${prefix}.bias`),
  };
}

/** A small residual conv net: stem conv-bn-relu, one basic block with a residual add, pool, linear, softmax. */
function makeNet() {
  const stem = param(mul(randn([8, 3, 3, 3]), 0.3), 'stem.conv.weight');
  const bn0 = bn(8, 'stem.bn');
  const c1 = param(mul(randn([8, 8, 3, 3]), 0.2), 'block.conv1.weight');
  const bn1 = bn(8, 'block.bn1');
  const c2 = param(mul(randn([8, 8, 3, 3]), 0.2), 'block.conv2.weight');
  const bn2 = bn(8, 'block.bn2');
  const fcw = param(randn([10, 8]), 'fc.weight');
  const fcb = param(randn([10]), 'fc.bias');
  return (x: Tensor) => {
    const h = relu(batchNorm(conv2d(x, stem, null, { stride: 2, padding: 1 }), bn0));
    const r = relu(batchNorm(conv2d(h, c1, null, { padding: 1 }), bn1));
    const y = relu(add(batchNorm(conv2d(r, c2, null, { padding: 1 }), bn2), h));
    return softmax(linear(flatten(globalAvgPool(y), 1), fcw, fcb));
  };
}

describe('conv net round trip', () => {
  it('trace → encodeTvm → decodeTvm → runGraph matches the model bitwise; optimised within 1e-5', () => {
    const net = makeNet();
    const graph = trace(net, [randn([2, 3, 16, 16])], { dynamicBatch: true, name: 'resnet-mini' });
    expect(graph.nodes.map((n) => n.op)).toEqual([
      'Conv2D',
      'BatchNorm',
      'Relu',
      'Conv2D',
      'BatchNorm',
      'Relu',
      'Conv2D',
      'BatchNorm',
      'Add',
      'Relu',
      'GlobalAvgPool',
      'Reshape',
      'Linear',
      'Softmax',
    ]);
    const x = randn([3, 3, 16, 16]);
    const expected = noGrad(() => net(x)).dataSync();

    const plain = decodeTvm(encodeTvm(graph));
    expect(runGraph(plain, [x]).outputs[0]!.dataSync()).toEqual(expected);

    const optimised = optimizeGraph(graph);
    expect(optimised.nodes.map((n) => n.op)).toEqual([
      'FusedConv2D',
      'FusedConv2D',
      'Conv2D',
      'Add',
      'Relu',
      'GlobalAvgPool',
      'Reshape',
      'Linear',
      'Softmax',
    ]);
    expect([...optimised.initializers.keys()].sort()).toEqual([
      'block.conv1.bias',
      'block.conv1.weight',
      'block.conv2.bias',
      'block.conv2.weight',
      'fc.bias',
      'fc.weight',
      'stem.conv.bias',
      'stem.conv.weight',
    ]);
    const bytes = encodeTvm(optimised, { checksums: true });
    const back = decodeTvm(bytes);
    expect(back.name).toBe('resnet-mini');
    const got = runGraph(back, [x]).outputs[0]!;
    expect(got.shape).toEqual([3, 10]);
    const y = got.dataSync() as Float32Array;
    const worst = Math.max(
      ...Array.from(y, (v, i) => Math.abs(v - expected[i]!) / Math.max(1e-6, Math.abs(expected[i]!))),
    );
    expect(worst).toBeLessThan(1e-5);
  });
});
