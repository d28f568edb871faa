import { InvalidArgumentError, type Rng } from '@tinyvision/tensor';
import { type AugmentSample, checkBoxes, checkImage, shiftClip } from './augment.js';

/** Options of {@link mosaic}. */
export interface MosaicOptions {
  /** Output `[height, width]`. */
  readonly size: readonly [number, number];
  /** Value of pixels no input covers (default 0.5, mid grey for [0, 1] images). */
  readonly fill?: number;
  /** Boxes narrower or shorter than this after clipping are dropped with their labels (default 2 pixels). */
  readonly minBoxSide?: number;
}

/**
 * Combines four detection samples into one (YOLO-style mosaic): a centre point is drawn uniformly in the
 * middle half of the output, and sample 0, 1, 2, 3 fill the top-left, top-right, bottom-left and
 * bottom-right quadrants with their corner touching the centre. Each sample's boxes are shifted with its
 * pixels, clipped to its quadrant, and dropped (with their labels) when less than `minBoxSide` remains.
 * @param samples - four samples with the same channel count, each with `boxes` and `labels`
 * @param rng - the generator that picks the centre
 * @param opts - output size, fill value, minimum box side
 * @returns one sample with the combined image, boxes and labels
 * @throws {InvalidArgumentError} when there are not four samples, a sample lacks boxes/labels, channel
 *   counts differ, or an option is invalid
 * @throws {ShapeError} on malformed images or boxes
 * @example
 * ```ts
 * const m = mosaic([s0, s1, s2, s3], new Rng(0), { size: [64, 64] });
 * m.boxes; m.labels; // from all four samples, in output pixels
 * ```
 */
export function mosaic(samples: readonly AugmentSample[], rng: Rng, opts: MosaicOptions): AugmentSample {
  const op = 'mosaic';
  if (samples.length !== 4) throw new InvalidArgumentError(`${op}: needs 4 samples, got ${samples.length}`);
  const [oh, ow] = opts.size ?? [];
  if (!Number.isInteger(oh) || !Number.isInteger(ow) || oh! < 2 || ow! < 2) {
    throw new InvalidArgumentError(
      `${op}: 'size' must be [height, width] of integers >= 2, got ${JSON.stringify(opts.size)}`,
    );
  }
  const H = oh!;
  const W = ow!;
  const fill = opts.fill ?? 0.5;
  const minSide = opts.minBoxSide ?? 2;
  const channels = samples[0]!.image?.channels;
  samples.forEach((s, i) => {
    checkImage(s.image, op);
    checkBoxes(s, op);
    if (!s.boxes || !s.labels)
      throw new InvalidArgumentError(`${op}: sample ${i} needs 'boxes' and 'labels'`);
    if (s.image.channels !== channels) {
      throw new InvalidArgumentError(
        `${op}: sample ${i} has ${s.image.channels} channels, sample 0 has ${channels}`,
      );
    }
  });
  const cx = Math.floor(W / 4 + rng.next() * (W / 2));
  const cy = Math.floor(H / 4 + rng.next() * (H / 2));
  const c = channels!;
  const out = new Float32Array(c * H * W).fill(fill);
  const boxes: number[] = [];
  const labels: number[] = [];
  // quadrant regions [x0, y0, x1, y1] and where each sample's top-left pixel lands
  const regions: [number, number, number, number][] = [
    [0, 0, cx, cy],
    [cx, 0, W, cy],
    [0, cy, cx, H],
    [cx, cy, W, H],
  ];
  samples.forEach((s, q) => {
    const { data, height: h, width: w } = s.image;
    const [rx0, ry0, rx1, ry1] = regions[q]!;
    const ox = q % 2 === 0 ? cx - w : cx; // left column: right edge at the centre
    const oy = q < 2 ? cy - h : cy; // top row: bottom edge at the centre
    const xs = Math.max(rx0, ox);
    const xe = Math.min(rx1, ox + w);
    const ys = Math.max(ry0, oy);
    const ye = Math.min(ry1, oy + h);
    for (let ch = 0; ch < c; ch++) {
      for (let y = ys; y < ye; y++) {
        const src = (ch * h + (y - oy)) * w - ox;
        const dst = (ch * H + y) * W;
        for (let x = xs; x < xe; x++) out[dst + x] = data[src + x]!;
      }
    }
    const t = shiftClip(s.boxes!, s.labels, ox, oy, [rx0, ry0, rx1, ry1], minSide);
    boxes.push(...t.boxes);
    labels.push(...t.labels!);
  });
  return {
    image: { data: out, channels: c, height: H, width: W },
    boxes: Float32Array.from(boxes),
    labels: Int32Array.from(labels),
  };
}
