// COCO mAP against pycocotools' COCOeval (fixtures from __fixtures__/gen_map.py) plus hand-computed cases.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, ShapeError } from '@tinyvision/tensor';
import { describe, expect, it } from 'vitest';
import { COCO_IOU_THRESHOLDS, meanAveragePrecision } from './map.js';
import type { Detections } from './nms.js';

interface Raw {
  boxes: number[];
  scores: number[];
  labels: number[];
}
interface MapCase {
  name: string;
  numClasses: number;
  groundTruth: { boxes: number[]; labels: number[] }[];
  detections: Raw[];
  coco: {
    map: number;
    map50: number;
    map75: number;
    perClass: (number | null)[];
    perClass50: (number | null)[];
  };
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('./__fixtures__/map.json', import.meta.url)), 'utf8'),
) as { cases: MapCase[] };

const dets = (d: Raw): Detections => ({
  boxes: Float32Array.from(d.boxes),
  scores: Float32Array.from(d.scores),
  labels: Int32Array.from(d.labels),
});
const one = (boxes: number[], scores: number[], labels: number[]): Detections =>
  dets({ boxes, scores, labels });

describe('meanAveragePrecision vs pycocotools COCOeval', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    // Float64 boxes as COCO reads them: score ties and IoUs at a threshold must resolve identically.
    const r = meanAveragePrecision(
      c.detections.map((d) => ({
        ...dets(d),
        boxes: Float64Array.from(d.boxes) as unknown as Float32Array,
        scores: Float64Array.from(d.scores) as unknown as Float32Array,
      })),
      c.groundTruth,
      { numClasses: c.numClasses },
    );
    expect(r.map).toBeCloseTo(c.coco.map, 10);
    expect(r.map50).toBeCloseTo(c.coco.map50, 10);
    expect(r.map75).toBeCloseTo(c.coco.map75, 10);
    r.perClass.forEach((v, k) => {
      if (c.coco.perClass[k] === null) expect(v).toBeNaN();
      else expect(v).toBeCloseTo(c.coco.perClass[k]!, 10);
    });
    r.perClass50.forEach((v, k) => {
      if (c.coco.perClass50[k] === null) expect(v).toBeNaN();
      else expect(v).toBeCloseTo(c.coco.perClass50[k]!, 10);
    });
  });
});

describe('meanAveragePrecision, hand-computed', () => {
  const gt = [{ boxes: [0, 0, 10, 10, 20, 20, 30, 30], labels: [0, 0] }];

  it('is 1 for perfect detections and 0 without any', () => {
    const r = meanAveragePrecision([one([0, 0, 10, 10, 20, 20, 30, 30], [0.9, 0.8], [0, 0])], gt, {
      numClasses: 1,
    });
    expect(r.map).toBeCloseTo(1, 12);
    expect(r.map50).toBeCloseTo(1, 12);
    expect(meanAveragePrecision([one([], [], [])], gt, { numClasses: 1 }).map).toBe(0);
  });

  it('interpolates precision at 101 recall points', () => {
    // Ranked: FP (score .9), TP (.8) for the first box; second box missed. Recall after rank 2 is 0.5 with
    // precision 0.5. Recall points 0, 0.01, …, 0.50 (51 of 101) take the interpolated precision 0.5; the
    // other 50 have no detection reaching them: AP = 51 · 0.5 / 101 = 0.252475…
    const r = meanAveragePrecision([one([50, 50, 60, 60, 0, 0, 10, 10], [0.9, 0.8], [0, 0])], gt, {
      numClasses: 1,
      iouThresholds: [0.5],
    });
    expect(r.map).toBeCloseTo((51 * 0.5) / 101, 12);
  });

  it('matches greedily by score, a duplicate is a false positive, a wrong class matches nothing', () => {
    // Scores: TP .9 (box 1), duplicate of box 1 at .8 = FP, TP .7 (box 2). Precision [1, .5, .667] is made
    // monotone [1, .667, .667]; recall [.5, .5, 1]: points 0…0.5 (51) → 1, 0.51…1 (50) → 2/3.
    const r = meanAveragePrecision(
      [
        one(
          [0, 0, 10, 10, 0, 0, 10, 10, 20, 20, 30, 30, 20, 20, 30, 30],
          [0.9, 0.8, 0.7, 0.95],
          [0, 0, 0, 1],
        ),
      ],
      gt,
      { numClasses: 2, iouThresholds: [0.5] },
    );
    expect(r.map).toBeCloseTo((51 * 1 + 50 * (2 / 3)) / 101, 12);
    expect(r.perClass[1]).toBeNaN(); // class 1 has no ground truth: left out of the mean
  });

  it('counts IoU exactly at the threshold as a match, and averages over COCO thresholds', () => {
    // Box [0,0,10,5] vs ground truth [0,0,10,10]: IoU = 50 / 100 = 0.5 → TP at 0.5 only.
    const r = meanAveragePrecision([one([0, 0, 10, 5], [1], [0])], [{ boxes: [0, 0, 10, 10], labels: [0] }], {
      numClasses: 1,
    });
    expect(r.map50).toBeCloseTo(1, 12); // precision tp / (tp + fp + eps) as COCO
    expect(r.perThreshold.slice(1).every((v) => v === 0)).toBe(true);
    expect(r.map).toBeCloseTo(0.1, 12);
    expect(COCO_IOU_THRESHOLDS).toHaveLength(10);
  });

  it('is invariant to the order of detections and monotone in their scores (property)', () => {
    const c = fixture.cases[1]!;
    // Distinct scores (ties broken by a tiny per-detection offset), then the detections of each image reversed.
    const unique = c.detections.map((d) => ({ ...d, scores: d.scores.map((v, i) => v + i * 1e-5) }));
    const base = meanAveragePrecision(unique.map(dets), c.groundTruth, { numClasses: c.numClasses });
    const reversed = unique.map((d) => {
      const idx = d.scores.map((_, i) => i).reverse();
      return dets({
        boxes: idx.flatMap((i) => d.boxes.slice(4 * i, 4 * i + 4)),
        scores: idx.map((i) => d.scores[i]!),
        labels: idx.map((i) => d.labels[i]!),
      });
    });
    const rev = meanAveragePrecision(reversed, c.groundTruth, { numClasses: c.numClasses });
    expect(rev.map).toBe(base.map);
    expect(rev.perClass50).toEqual(base.perClass50);
    // Adding a perfect detection for every ground-truth box with the top score never lowers AP@0.5.
    const boosted = c.detections.map((d, i) => {
      const g = c.groundTruth[i]!;
      return dets({
        boxes: [...g.boxes, ...d.boxes],
        scores: [...g.labels.map(() => 2), ...d.scores],
        labels: [...g.labels, ...d.labels],
      });
    });
    const b = meanAveragePrecision(boosted, c.groundTruth, { numClasses: c.numClasses });
    expect(b.map50).toBeCloseTo(1, 12);
    expect(b.map).toBeCloseTo(1, 12);
    expect(b.map).toBeGreaterThan(base.map);
  });

  it('rejects bad inputs with typed errors', () => {
    expect(() => meanAveragePrecision([], [], { numClasses: 0 })).toThrow(InvalidArgumentError);
    expect(() => meanAveragePrecision([one([], [], [])], [], { numClasses: 1 })).toThrow(ShapeError);
    expect(() => meanAveragePrecision([one([0, 0, 1, 1], [1], [3])], gt, { numClasses: 2 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => meanAveragePrecision([one([0, 0, 1], [1], [0])], gt, { numClasses: 1 })).toThrow(ShapeError);
  });
});
