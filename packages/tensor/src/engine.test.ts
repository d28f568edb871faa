import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  DTypeError,
  exp,
  expand,
  mean,
  mul,
  registerBackend,
  reshape,
  ShapeError,
  sum,
  tensor,
  tidy,
  transpose,
} from './index.js';

beforeAll(() => registerBackend(cpu()));

describe('engine', () => {
  it('adds with broadcasting', () => {
    const y = add(
      tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]),
      tensor([10, 20, 30]),
    );
    expect(y.toArray()).toEqual([
      [11, 22, 33],
      [14, 25, 36],
    ]);
  });
  it('rejects bad shapes and dtypes with typed errors', () => {
    expect(() => add(tensor([1, 2]), tensor([1, 2, 3]))).toThrow(ShapeError);
    expect(() => add(tensor([1, 2]), tensor([1, 2], [2], 'int32'))).toThrow(DTypeError);
    expect(() => add(tensor([1, 2]), tensor([1, 2, 3]))).toThrow(/add: shapes \[2\] and \[3\]/);
  });
  it('views share storage and materialise on use', () => {
    const x = reshape(tensor([1, 2, 3, 4, 5, 6]), [2, 3]);
    const t = transpose(x);
    expect(t.shape).toEqual([3, 2]);
    expect(t.storage).toBe(x.storage);
    expect(add(t, 0).toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(expand(tensor([1, 2]), [2, 2]).toArray()).toEqual([
      [1, 2],
      [1, 2],
    ]);
  });
  it('backprops through broadcast, reduce and views', () => {
    const a = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]).requiresGrad_();
    const b = tensor([1, 2, 3]).requiresGrad_();
    const y = sum(mul(transpose(transpose(add(a, b))), exp(b)));
    y.backward();
    const e = [1, 2, 3].map(Math.exp);
    expect(a.grad!.toArray()).toEqual([e, e].map((r) => r.map((v) => Math.fround(v))));
    const bg = b.grad!.toArray() as number[];
    // d/db sum((a+b)·e^b) = Σ_rows e^b + (a+b)·e^b
    [0, 1, 2].forEach((j) => {
      const rows = [
        [1, 2, 3],
        [4, 5, 6],
      ].map((r) => (r[j]! + j + 1) * e[j]!);
      expect(bg[j]).toBeCloseTo(2 * e[j]! + rows[0]! + rows[1]!, 3);
    });
  });
  it('mean grads and tidy', () => {
    const x = tensor([1, 2, 3, 4]).requiresGrad_();
    mean(x).backward();
    expect(x.grad!.toArray()).toEqual([0.25, 0.25, 0.25, 0.25]);
    let inner: ReturnType<typeof tensor> | undefined;
    const out = tidy(() => {
      inner = add(x, 1);
      return mul(inner, 2);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(out.isDisposed).toBe(false);
  });
  it('f16 storage with f32 compute', () => {
    const h = tensor([1, 2.5, 65504], [3], 'float16');
    expect(add(h, h).toArray()).toEqual([2, 5, Number.POSITIVE_INFINITY]);
  });
});

describe('tensor methods', () => {
  it('delegate to the op functions, including autograd', () => {
    const x = tensor([
      [1, -2],
      [3, -4],
    ]).requiresGrad_();
    const y = x.mul(2).relu().sum();
    y.backward();
    expect(y.item()).toBe(8);
    expect(x.grad!.toArray()).toEqual([
      [2, 0],
      [2, 0],
    ]);
    expect(x.reshape([4]).softmax().sum().item()).toBeCloseTo(1, 6);
    expect(x.transpose().matmul(x).shape).toEqual([2, 2]);
  });
});
