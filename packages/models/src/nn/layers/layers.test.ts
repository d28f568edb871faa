import { cpu } from '@tinyvision/backend-cpu';
import {
  avgPool2d,
  conv2d,
  convTranspose2d,
  gelu,
  InvalidArgumentError,
  maxPool2d,
  Rng,
  randn,
  registerBackend,
  tensor,
  UnsupportedOpError,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  Conv2d,
  ConvTranspose2d,
  Flatten,
  GELU,
  GroupNorm,
  Hardsigmoid,
  Identity,
  LayerNorm,
  Linear,
  MaxPool2d,
  Sigmoid,
  SiLU,
  Tanh,
} from '../index.js';

beforeAll(() => registerBackend(cpu()));

const arr = (t: { toFloat32(): Float32Array }) => Array.from(t.toFloat32());

describe('layer construction (torch names, shapes and init)', () => {
  it('Conv2d: kaiming_uniform(a=√5) bounds ±1/√fanIn, torch shapes, options', () => {
    const conv = new Conv2d(8, 16, 3, { groups: 2, stride: 2, padding: 1, rng: new Rng(1) });
    expect(conv.weight.shape).toEqual([16, 4, 3, 3]);
    expect(conv.bias!.shape).toEqual([16]);
    const bound = 1 / Math.sqrt(4 * 9);
    const w = arr(conv.weight);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.95 * bound);
    expect(Math.max(...arr(conv.bias!).map(Math.abs))).toBeLessThanOrEqual(bound);
    // seeded rng reproduces weights
    expect(arr(new Conv2d(8, 16, 3, { groups: 2, rng: new Rng(1) }).weight)).toEqual(w);
    const x = randn([1, 8, 9, 9]);
    expect(arr(conv.call(x))).toEqual(
      arr(conv2d(x, conv.weight, conv.bias, { stride: 2, padding: 1, groups: 2 })),
    );
    expect(new Conv2d(3, 4, [1, 3], { padding: 'same' }).call(randn([1, 3, 5, 5])).shape).toEqual([
      1, 4, 5, 5,
    ]);
    expect(() => new Conv2d(3, 4, 3, { padding: 'same', stride: 2 })).toThrow(InvalidArgumentError);
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(/divisible by groups/);
    expect(() => new Conv2d(3, 4, 0)).toThrow(InvalidArgumentError);
  });

  it('ConvTranspose2d: weight [in, out/groups, kH, kW], forward = convTranspose2d', () => {
    const up = new ConvTranspose2d(4, 6, 3, { stride: 2, padding: 1, outputPadding: 1, groups: 2 });
    expect(up.weight.shape).toEqual([4, 3, 3, 3]);
    expect([...up.stateDict().keys()]).toEqual(['weight', 'bias']);
    const bound = 1 / Math.sqrt(3 * 9);
    expect(Math.max(...arr(up.weight).map(Math.abs))).toBeLessThanOrEqual(bound);
    const x = randn([1, 4, 5, 5]);
    const y = up.call(x);
    expect(y.shape).toEqual([1, 6, 10, 10]);
    const ref = convTranspose2d(x, up.weight, up.bias, {
      stride: 2,
      padding: 1,
      outputPadding: 1,
      groups: 2,
    });
    expect(arr(y)).toEqual(arr(ref));
  });

  it('Linear: weight [out, in], bias [out], bound 1/√in', () => {
    const lin = new Linear(16, 4, { bias: false });
    expect(lin.weight.shape).toEqual([4, 16]);
    expect(lin.bias).toBeNull();
    expect(Math.max(...arr(lin.weight).map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(lin.call(randn([2, 3, 16])).shape).toEqual([2, 3, 4]);
    expect(() => new Linear(0, 2)).toThrow(InvalidArgumentError);
  });

  it('LayerNorm and GroupNorm normalise with weight 1 / bias 0 parameters', () => {
    const ln = new LayerNorm([2, 3]);
    expect(ln.weight!.shape).toEqual([2, 3]);
    const y = arr(ln.call(randn([4, 2, 3], { mean: 3, std: 2 })));
    const m = y.slice(0, 6).reduce((a, b) => a + b, 0) / 6;
    expect(Math.abs(m)).toBeLessThan(1e-5);
    expect(new LayerNorm(3, { elementwiseAffine: false }).parameters()).toEqual([]);
    const gn = new GroupNorm(2, 4);
    expect([...gn.stateDict().keys()]).toEqual(['weight', 'bias']);
    const z = arr(gn.call(randn([1, 4, 2, 2], { mean: -4 })));
    expect(Math.abs(z.slice(0, 8).reduce((a, b) => a + b, 0))).toBeLessThan(1e-4);
    expect(() => new GroupNorm(3, 4)).toThrow(InvalidArgumentError);
    expect(() => new LayerNorm([])).toThrow(InvalidArgumentError);
  });

  it('pooling, flatten and activations delegate to the ops', () => {
    const x = randn([2, 3, 7, 7]);
    expect(arr(new MaxPool2d(3, { stride: 2, padding: 1 }).call(x))).toEqual(
      arr(maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 })),
    );
    expect(arr(new AvgPool2d(2, { ceilMode: true }).call(x))).toEqual(
      arr(avgPool2d(x, { kernelSize: 2, ceilMode: true })),
    );
    expect(new AdaptiveAvgPool2d([1, 1]).call(x).shape).toEqual([2, 3, 1, 1]);
    expect(() => new AdaptiveAvgPool2d(7)).toThrow(UnsupportedOpError);
    expect(new Flatten().call(x).shape).toEqual([2, 147]);
    expect(new Flatten(0, 1).call(x).shape).toEqual([6, 7, 7]);
    const v = tensor([-4, -1, 0, 0.5, 4]);
    expect(arr(new GELU({ approximate: 'tanh' }).call(v))).toEqual(arr(gelu(v, { approximate: 'tanh' })));
    expect(arr(new Hardsigmoid().call(v))).toEqual([0, 2 / 6, 0.5, 3.5 / 6, 1].map(Math.fround));
    expect(new Sigmoid().call(tensor([0])).item()).toBe(0.5);
    expect(new Tanh().call(tensor([0])).item()).toBe(0);
    expect(new SiLU().call(tensor([0])).item()).toBe(0);
    expect(new Identity().call(v)).toBe(v);
  });
});
