import { InvalidArgumentError, Rng } from '@tinyvision/tensor';
import { describe, expect, it } from 'vitest';
import type { AugmentSample } from './augment.js';
import { mosaic } from './augment-mosaic.js';

/** A 1-channel h×w sample filled with `id`, with one box covering the whole image. */
function sample(id: number, h: number, w: number, box = [0, 0, w, h]): AugmentSample {
  return {
    image: { data: new Float32Array(h * w).fill(id), channels: 1, height: h, width: w },
    boxes: Float32Array.from(box),
    labels: Int32Array.from([id]),
  };
}

describe('mosaic', () => {
  it('places the four samples around the centre and clips their boxes to the quadrants', () => {
    const rng = new Rng(3);
    for (let t = 0; t < 10; t++) {
      const out = mosaic([sample(1, 20, 20), sample(2, 20, 20), sample(3, 20, 20), sample(4, 20, 20)], rng, {
        size: [24, 24],
        fill: 0,
      });
      const { data, height, width } = out.image;
      expect([height, width]).toEqual([24, 24]);
      // the centre is where the quadrant ids change
      let cx = 0;
      while (data[cx] === 1) cx++;
      let cy = 0;
      while (data[cy * 24] === 1) cy++;
      expect(cx).toBeGreaterThanOrEqual(6);
      expect(cx).toBeLessThan(18);
      for (let y = 0; y < 24; y++) {
        for (let x = 0; x < 24; x++) {
          const q = (y < cy ? 0 : 2) + (x < cx ? 0 : 1);
          // 20-pixel images cover each quadrant (at most 18 wide) entirely
          expect(data[y * 24 + x]).toBe(q + 1);
        }
      }
      expect([...out.labels!]).toEqual([1, 2, 3, 4]);
      expect([...out.boxes!]).toEqual([0, 0, cx, cy, cx, 0, 24, cy, 0, cy, cx, 24, cx, cy, 24, 24]);
    }
  });

  it('shifts small boxes with their pixels and drops boxes cut away', () => {
    // sample 0 (top-left): 10×10, box [1,1,3,3] lands at [cx-9, cy-9, cx-7, cy-7] when it fits
    const s0 = sample(1, 10, 10, [1, 1, 3, 3]);
    const rng = new Rng(0);
    const out = mosaic([s0, sample(2, 4, 4), sample(3, 4, 4), sample(4, 4, 4)], rng, {
      size: [32, 32],
      fill: 0,
    });
    const { data } = out.image;
    const first = out.boxes!.subarray(0, 4);
    // the box covers pixels of sample 0 that were at (1..2, 1..2): check by position
    const [x1, y1, x2, y2] = [...first];
    expect(x2! - x1!).toBe(2);
    expect(y2! - y1!).toBe(2);
    for (let y = y1!; y < y2!; y++) for (let x = x1!; x < x2!; x++) expect(data[y * 32 + x]).toBe(1);
    // a box entirely outside the kept part of a sample is dropped with its label
    const big = sample(5, 40, 40, [0, 0, 3, 3]);
    const out2 = mosaic([big, sample(2, 4, 4), sample(3, 4, 4), sample(4, 4, 4)], new Rng(1), {
      size: [32, 32],
    });
    expect([...out2.labels!]).toEqual([2, 3, 4]);
    expect(out2.boxes!.length).toBe(12);
  });

  it('is deterministic per seed and validates its input', () => {
    const four = [sample(1, 8, 8), sample(2, 8, 8), sample(3, 8, 8), sample(4, 8, 8)];
    expect(mosaic(four, new Rng(4), { size: [16, 16] }).image.data).toEqual(
      mosaic(four, new Rng(4), { size: [16, 16] }).image.data,
    );
    expect(() => mosaic(four.slice(0, 3), new Rng(0), { size: [16, 16] })).toThrow(InvalidArgumentError);
    expect(() =>
      mosaic([...four.slice(0, 3), { image: four[3]!.image }], new Rng(0), { size: [16, 16] }),
    ).toThrow(/sample 3 needs 'boxes'/);
    expect(() => mosaic(four, new Rng(0), { size: [1, 16] })).toThrow(/'size'/);
  });
});
