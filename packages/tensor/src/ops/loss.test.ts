import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerBackend } from '../backend/registry.js';
import { tensor } from '../creation.js';
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors/index.js';
import { bceWithLogits, boxIoU, ciouLoss, crossEntropy, diouLoss, klDiv, mse, smoothL1 } from './loss.js';

beforeAll(() => registerBackend(cpu()));

describe('loss argument checks', () => {
  const mk = () =>
    tensor([
      [1, 2, 3],
      [0, 0, 1],
    ]);
  it('crossEntropy validates target, weight and options', () => {
    const logits = mk();
    expect(() => crossEntropy(logits, tensor([0, 1, 2], [3], 'int32'))).toThrow(
      /crossEntropy: class-index 'target' shape \[3\] must be \[2\]/,
    );
    expect(() => crossEntropy(logits, tensor([0, 1], [2], 'int8'))).toThrow(DTypeError);
    expect(() => crossEntropy(logits, tensor([1, 0]))).toThrow(ShapeError);
    expect(() => crossEntropy(logits, tensor([0, 1], [2], 'int32'), { weight: tensor([1, 2]) })).toThrow(
      /'weight' shape \[2\] must be \[3\]/,
    );
    expect(() => crossEntropy(logits, tensor([0, 1], [2], 'int32'), { labelSmoothing: 1.5 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => crossEntropy(logits, tensor([0, 1], [2], 'int32'), { reduction: 'avg' as 'mean' })).toThrow(
      /'reduction' must be 'mean', 'sum', 'none'/,
    );
  });

  it('crossEntropy equals -log softmax at the target, and ignored targets drop out of the mean', () => {
    const logits = mk();
    const t = tensor([2, -100], [2], 'int32');
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    expect(crossEntropy(logits, t).item()).toBeCloseTo(lse - 3, 6);
    expect(crossEntropy(logits, t, { reduction: 'none' }).toArray()).toEqual([expect.closeTo(lse - 3, 6), 0]);
  });

  it('regression losses reject shape mismatches instead of broadcasting', () => {
    expect(() => mse(tensor([[1], [2]]), tensor([1, 2]))).toThrow(/mse: 'target' shape \[2\] must equal/);
    expect(() => smoothL1(tensor([1]), tensor([1]), { beta: -1 })).toThrow(/'beta' must be >= 0/);
    expect(() => bceWithLogits(tensor([1, 2]), tensor([1, 2], [2], 'int32'))).toThrow(DTypeError);
    expect(() => klDiv(tensor([1]), tensor([1]), { reduction: 'batch' as 'sum' })).toThrow(/'batchmean'/);
  });

  it('box losses check box shapes', () => {
    expect(() => boxIoU(tensor([[0, 0, 1]]), tensor([[0, 0, 1, 1]]))).toThrow(/must end in 4/);
    expect(() => diouLoss(tensor([[0, 0, 1, 1]]), tensor([0, 0, 1, 1]))).toThrow(ShapeError);
  });

  it('ciouLoss aspect term uses an accurate atan (square vs 1:3 box at the same centre)', () => {
    // Same centre; inner box [1,0,2,3] inside [0,0,3,3]: IoU 1/3, no centre distance, v = 4/π²(π/4 − atan(1/3))².
    const v = (4 / Math.PI ** 2) * (Math.PI / 4 - Math.atan(1 / 3)) ** 2;
    const iou = 3 / 9;
    const want = 1 - iou + (v * v) / (1 - iou + v);
    expect(ciouLoss(tensor([1, 0, 2, 3]), tensor([0, 0, 3, 3])).item()).toBeCloseTo(want, 6);
  });
});
