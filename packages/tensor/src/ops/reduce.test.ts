import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerBackend, useBackend } from '../backend/registry.js';
import { randn, tensor, zeros } from '../creation.js';
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors/index.js';
import { gelu, leakyRelu } from './activation.js';
import { clip, greaterEqual, notEqual, pow, where } from './elementwise.js';
import { transpose } from './movement.js';
import { argMax, logSumExp, max, prod, softmax, sum, topk, variance } from './reduce.js';

beforeAll(async () => {
  registerBackend(cpu());
  await useBackend('cpu');
});

describe('elementwise, activation and reduce argument checks', () => {
  it('rejects bad dtypes with the op and argument named', () => {
    const i = tensor([1, 2], [2], 'int32');
    expect(() => pow(i, 2)).toThrow(DTypeError);
    expect(() => pow(i, 2)).toThrow(/pow: 'a' has dtype int32/);
    expect(() => softmax(i)).toThrow(DTypeError);
    expect(() => gelu(i)).toThrow(DTypeError);
    expect(() => where(tensor([1, 0]), 1, 2)).toThrow(/where: 'cond' has dtype float32, expected bool/);
    expect(() => greaterEqual(tensor([1]), i)).toThrow(DTypeError);
  });

  it('rejects bad shapes, axes and options', () => {
    expect(() => where(zeros([2], 'bool'), zeros([3]), 0)).toThrow(ShapeError);
    expect(() => softmax(zeros([2, 3]), 2)).toThrow(ShapeError);
    expect(() => topk(zeros([2, 3]), { k: 4 })).toThrow(/topk: 'k' must be an integer in \[0, 3\]/);
    expect(() => max(zeros([3, 0]), { axes: 1 })).toThrow(InvalidArgumentError);
    expect(() => argMax(zeros([0]))).toThrow(InvalidArgumentError);
    expect(() => clip(zeros([2]), { min: Number.NaN })).toThrow(InvalidArgumentError);
    expect(() => leakyRelu(zeros([2]), { alpha: Number.POSITIVE_INFINITY })).toThrow(InvalidArgumentError);
    expect(() => gelu(zeros([2]), { approximate: 'erf' as 'none' })).toThrow(InvalidArgumentError);
    expect(() => variance(zeros([2]), { correction: Number.NaN })).toThrow(InvalidArgumentError);
    expect(() => sum(zeros([2, 2]), { axes: [0, -2] })).toThrow(ShapeError);
  });
});

describe('reductions: properties', () => {
  it('softmax rows sum to one along any axis, also for strided inputs', () => {
    const x = randn([4, 5, 6]);
    for (const axis of [0, 1, 2]) {
      const s = sum(softmax(x, axis), { axes: axis }).toFloat32();
      for (const v of s) expect(v).toBeCloseTo(1, 5);
    }
    const t = sum(softmax(transpose(x), 0), { axes: 0 }).toFloat32();
    for (const v of t) expect(v).toBeCloseTo(1, 5);
  });

  it('topk indices point at the returned values; unsorted keeps index order', () => {
    const x = randn([3, 10]);
    const [v, i] = topk(x, { k: 4, sorted: false });
    const xs = x.toArray() as number[][];
    const vs = v.toArray() as number[][];
    (i.toArray() as number[][]).forEach((row, r) => {
      expect([...row].sort((a, b) => a - b)).toEqual(row);
      row.forEach((c, j) => expect(vs[r]![j]).toBe(xs[r]![c]));
    });
    expect(i.dtype).toBe('int32');
  });

  it('logSumExp is finite for huge inputs and matches the naive form for small ones', () => {
    expect(logSumExp(tensor([1000, 1000])).item()).toBeCloseTo(1000 + Math.log(2), 3);
    expect(logSumExp(tensor([0.5, -1])).item()).toBeCloseTo(Math.log(Math.exp(0.5) + Math.exp(-1)), 6);
  });

  it('gradients: max splits ties, prod handles a single zero, notEqual is NaN-aware', () => {
    const x = tensor([2, 1, 2]).requiresGrad_();
    max(x).backward();
    expect(x.grad!.toArray()).toEqual([0.5, 0, 0.5]);
    const y = tensor([3, 0, 4]).requiresGrad_();
    prod(y).backward();
    expect(y.grad!.toArray()).toEqual([0, 12, 0]);
    expect(notEqual(tensor([Number.NaN, 1]), tensor([Number.NaN, 1])).toArray()).toEqual([1, 0]);
  });
});
