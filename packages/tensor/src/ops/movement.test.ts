import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerBackend, useBackend } from '../backend/registry.js';
import { arange, tensor, zeros } from '../creation.js';
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors/index.js';
import { mul } from './elementwise.js';
import {
  chunk,
  concat,
  expand,
  flatten,
  flip,
  gather,
  narrow,
  pad,
  reshape,
  slice,
  split,
  squeeze,
  stack,
  takeAlongAxis,
  tile,
  transpose,
  unsqueeze,
  unstack,
} from './movement.js';

beforeAll(async () => {
  registerBackend(cpu());
  await useBackend('cpu');
});

const grid = () => reshape(arange(0, 12, 1, 'float32'), [3, 4]);

describe('movement views share storage', () => {
  it('slice, narrow, transpose, expand, flip, squeeze, unsqueeze and split are zero-copy', () => {
    const x = grid();
    const views = [
      slice(x, [1, 0], [3, 4], [1, 2]),
      narrow(x, 1, 1, 2),
      transpose(x),
      expand(reshape(x, [1, 3, 4]), [2, 3, 4]),
      flip(x, [0, 1]),
      squeeze(unsqueeze(x, 0)),
      ...split(x, 2, 1),
      ...unstack(x, 1),
    ];
    for (const v of views) expect(v.storage).toBe(x.storage);
  });

  it('slice follows Python index rules', () => {
    const x = grid();
    expect(slice(x, [-2, 1], [100, -1]).toArray()).toEqual([
      [5, 6],
      [9, 10],
    ]);
    expect(slice(x, [0, 0], [3, 4], [2, 3]).toArray()).toEqual([
      [0, 3],
      [8, 11],
    ]);
    expect(slice(x, [2], [1]).shape).toEqual([0, 4]);
    expect(slice(x, [-100], [Infinity]).shape).toEqual([3, 4]);
  });

  it('flip reverses with negative strides and composes with slicing', () => {
    const x = grid();
    const f = flip(x, -1);
    expect(f.strides[1]).toBeLessThan(0);
    expect(f.toArray()).toEqual([
      [3, 2, 1, 0],
      [7, 6, 5, 4],
      [11, 10, 9, 8],
    ]);
    expect(slice(f, [1, 1], [2, 4], [1, 2]).toArray()).toEqual([[6, 4]]);
    const both = reshape(flip(x, [0, 1]), [12]);
    expect(both.storage).toBe(x.storage);
    expect(both.toArray()).toEqual([11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(reshape(f, [12]).storage).not.toBe(x.storage);
  });

  it('reshape of a strided view stays a view when the layout allows, else copies', () => {
    const x = reshape(arange(0, 24, 1, 'float32'), [2, 3, 4]);
    const rows = slice(x, [0, 1], [2, 3]);
    expect(flatten(rows, 1).storage).toBe(x.storage);
    expect(flatten(rows).storage).not.toBe(x.storage);
    expect(flatten(rows).toArray()).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23]);
    const cols = slice(x, [1]);
    const f = flatten(cols);
    expect(f.storage).toBe(x.storage);
    expect(f.toArray()).toEqual(Array.from({ length: 12 }, (_, i) => 12 + i));
    const t = transpose(x, [1, 0, 2]);
    expect(reshape(t, [3, 2, 2, 2]).storage).toBe(x.storage);
    const merged = reshape(t, [6, 4]);
    expect(merged.storage).not.toBe(x.storage);
    expect(merged.toArray()).toEqual([0, 12, 4, 16, 8, 20].map((s) => [s, s + 1, s + 2, s + 3]));
  });
});

describe('movement copies and gradients', () => {
  it('concat/stack/tile/pad produce new storage with the expected values', () => {
    const a = tensor([1, 2], [1, 2]);
    const b = tensor([3, 4, 5, 6], [2, 2]);
    expect(concat([a, b]).toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(stack([a, a], -1).shape).toEqual([1, 2, 2]);
    expect(tile(tensor([1, 2]), [2, 2]).toArray()).toEqual([
      [1, 2, 1, 2],
      [1, 2, 1, 2],
    ]);
    expect(pad(tensor([1, 2, 3]), [2, 1], { mode: 'reflect' }).toArray()).toEqual([3, 2, 1, 2, 3, 2]);
    expect(pad(tensor([1, 2, 3]), [1, -1], { mode: 'constant', value: 9 }).toArray()).toEqual([9, 1, 2]);
    expect(chunk(zeros([5]), 2).map((t) => t.shape[0])).toEqual([3, 2]);
  });

  it('strided slice gradient scatters back with zeros in the gaps', () => {
    const x = arange(0, 7, 1, 'float32').requiresGrad_();
    slice(x, [1], [7], [3]).backward(tensor([10, 20]));
    expect(x.grad!.toArray()).toEqual([0, 10, 0, 0, 20, 0, 0]);
  });

  it('gather accumulates gradients of repeated indices', () => {
    const x = tensor([1, 2, 3]).requiresGrad_();
    const idx = tensor([2, 0, 2], [3], 'int32');
    mul(gather(x, idx), tensor([1, 10, 100])).backward(tensor([1, 1, 1]));
    expect(x.grad!.toArray()).toEqual([10, 0, 101]);
  });

  it('flip of a flipped view reads the original order', () => {
    const x = grid();
    expect(flip(flip(x, 0), 0).toArray()).toEqual(x.toArray());
  });
});

describe('movement errors are typed and name the op', () => {
  it('rejects bad axes, shapes and indices', () => {
    const x = zeros([2, 3]);
    expect(() => transpose(x, [0, 0])).toThrow(ShapeError);
    expect(() => slice(x, [0, 0, 0])).toThrow(/slice: 'begin'/);
    expect(() => slice(x, [0], [1], [0])).toThrow(InvalidArgumentError);
    expect(() => narrow(x, 1, 2, 2)).toThrow(ShapeError);
    expect(() => concat([x, zeros([3, 3])], 1)).toThrow(/concat: 'tensors\[1\]' shape \[3,3\]/);
    expect(() => concat([x, zeros([2, 3], 'int32')])).toThrow(DTypeError);
    expect(() => concat([])).toThrow(InvalidArgumentError);
    expect(() => split(x, 2, 1)).toThrow(ShapeError);
    expect(() => squeeze(x, 0)).toThrow(/squeeze: axis 0/);
    expect(() => unsqueeze(x, 3)).toThrow(ShapeError);
    expect(() => flatten(x, 1, 0)).toThrow(ShapeError);
    expect(() => pad(x, [3, 0], { mode: 'reflect' })).toThrow(/reflect/);
    expect(() => pad(x, [1])).toThrow(ShapeError);
    expect(() => gather(x, tensor([0], [1]))).toThrow(DTypeError);
    expect(() => gather(x, tensor([0, 5], [2], 'int32'), 1)).toThrow(/index 5 at position \[1\]/);
    expect(() => gather(x, tensor([0, -1], [2], 'int32'), 1)).toThrow(InvalidArgumentError);
    expect(() => takeAlongAxis(x, tensor([0], [1], 'int32'), 0)).toThrow(ShapeError);
    expect(() => tile(x, [-1])).toThrow(InvalidArgumentError);
    expect(() => flip(x, [5])).toThrow(ShapeError);
  });
});
