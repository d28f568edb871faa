import { cpu } from '@tinyvision/backend-cpu';
import { InvalidArgumentError, registerBackend, tensor } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { confusionMatrix, countCorrect, perClassAccuracy, predictClasses, top1Accuracy } from './metrics.js';

beforeAll(() => registerBackend(cpu()));

describe('metrics', () => {
  it('top1Accuracy / countCorrect / predictClasses on hand-checked logits', () => {
    const logits = tensor([
      [0.1, 2, -1],
      [3, 1, 0],
      [0, 0, 5],
      [1, 1, 0], // tie: first index wins
    ]);
    expect(Array.from(predictClasses(logits))).toEqual([1, 0, 2, 0]);
    const labels = tensor([1, 1, 2, 0], [4], 'int32');
    expect(countCorrect(logits, labels)).toBe(3);
    expect(top1Accuracy(logits, labels)).toBe(0.75);
    expect(top1Accuracy(logits, [2, 2, 2, 2])).toBe(0.25);
    expect(() => top1Accuracy(logits, [1, 2])).toThrow(InvalidArgumentError);
  });

  it('confusionMatrix puts true classes in rows, perClassAccuracy divides the diagonal by row sums', () => {
    const m = confusionMatrix([0, 1, 1, 2, 0], [0, 0, 1, 2, 2], 3);
    expect(m.map((r) => Array.from(r))).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 1],
    ]);
    expect(perClassAccuracy(m)).toEqual([0.5, 1, 0.5]);
    expect(perClassAccuracy(confusionMatrix([0], [0], 2))[1]).toBeNaN();
    const fromTensors = confusionMatrix(tensor([1, 0], [2], 'int32'), tensor([1, 1], [2], 'int32'), 2);
    expect(fromTensors.map((r) => Array.from(r))).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });

  it('rejects out-of-range indices and length mismatches', () => {
    expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow(/entry 1/);
    expect(() => confusionMatrix([0], [0, 1], 3)).toThrow(InvalidArgumentError);
    expect(() => confusionMatrix([0], [0], 0)).toThrow(/numClasses/);
  });
});
