import { cpu } from '@tinyvision/backend-cpu';
import { fromStorage, registerBackend, ShapeError } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { yoloLoss } from './loss.js';
import { decodeDetectionTargets, encodeDetectionTargets, yoloLossFn, yoloMapMetric } from './metric.js';

beforeAll(() => registerBackend(cpu()));

const logit = (p: number) => Math.log(p / (1 - p));
const targets = [
  { boxes: Float32Array.from([8, 8, 24, 20]), labels: Int32Array.from([1]) },
  { boxes: Float32Array.from([]), labels: Int32Array.from([]) },
];

/** Raw output (32×32 input, 2 classes) whose only confident row decodes exactly to image 0's box. */
function perfectRaw() {
  const rows = 3 * (16 + 4 + 1);
  const v = new Float32Array(2 * rows * 7).fill(-10);
  // Level 0 (stride 8), anchor 0 (10×13), cell (gi 2, gj 1): centre (16, 14) → σx = (16/8 − 2 + 0.5)/2,
  // σy = (14/8 − 1 + 0.5)/2; size 16×12 → σw = √(16/10)/2, σh = √(12/13)/2.
  const o = (0 * 16 + 1 * 4 + 2) * 7;
  v.set(
    [logit(0.25), logit(0.625), logit(Math.sqrt(1.6) / 2), logit(Math.sqrt(12 / 13) / 2), 10, -10, 10],
    o,
  );
  return fromStorage(v, [2, rows, 7], 'float32');
}

describe('detection targets as a tensor', () => {
  it('round-trips through encode/decode with class −1 padding', () => {
    const y = encodeDetectionTargets(targets);
    expect(y.shape).toEqual([2, 1, 5]);
    expect(y.toArray()).toEqual([[[1, 8, 8, 24, 20]], [[-1, 0, 0, 0, 0]]]);
    const back = decodeDetectionTargets(y);
    expect(Array.from(back[0]!.boxes)).toEqual([8, 8, 24, 20]);
    expect(back[1]!.labels.length).toBe(0);
    expect(() => encodeDetectionTargets([{ boxes: [1, 2, 3], labels: [0] }])).toThrow(ShapeError);
    expect(() => decodeDetectionTargets(y.reshape([2, 5]))).toThrow(ShapeError);
  });
});

describe('Trainer adapters', () => {
  it('yoloMapMetric is 1 for a prediction equal to the target and 0 for a wrong class', () => {
    const metric = yoloMapMetric({ imageSize: 32, numClasses: 2 });
    expect(metric(perfectRaw(), encodeDetectionTargets(targets))).toBeCloseTo(1, 6);
    const wrong = [{ boxes: targets[0]!.boxes, labels: Int32Array.from([0]) }, targets[1]!];
    expect(metric(perfectRaw(), encodeDetectionTargets(wrong))).toBe(0);
    expect(
      yoloMapMetric({ imageSize: 32, numClasses: 2, value: 'map' })(
        perfectRaw(),
        encodeDetectionTargets(targets),
      ),
    ).toBeGreaterThan(0.9);
  });

  it('yoloLossFn equals yoloLoss on the decoded targets', () => {
    const opts = { imageSize: 32, numClasses: 2 };
    const a = yoloLossFn(opts)(perfectRaw(), encodeDetectionTargets(targets)).item();
    expect(a).toBeCloseTo(yoloLoss(perfectRaw(), targets, opts).loss.item(), 6);
  });
});
