import { InvalidArgumentError, type Rng } from '@tinyvision/tensor';
import { type AugmentSample, type ChwImage, checkImage, perChannel, type Transform } from './augment.js';

/** Options of {@link colorJitter}; each strength `s` draws a factor uniformly from `[max(0, 1 - s), 1 + s]`. */
export interface ColorJitterOptions {
  /** Brightness strength: pixels are multiplied by the factor (default 0, off). */
  readonly brightness?: number;
  /** Contrast strength: pixels are blended with the image's mean grey level (default 0, off). */
  readonly contrast?: number;
  /** Saturation strength: pixels are blended with their own grey level (default 0, off; needs 3 channels). */
  readonly saturation?: number;
}

/** ITU-R 601 luma, as torchvision's `rgb_to_grayscale`. */
function grey(d: Float32Array, plane: number, p: number): number {
  return 0.299 * d[p]! + 0.587 * d[plane + p]! + 0.114 * d[2 * plane + p]!;
}

function blend(img: ChwImage, factor: number, other: (c: number, p: number) => number): Float32Array {
  const plane = img.height * img.width;
  const out = new Float32Array(img.data.length);
  for (let c = 0; c < img.channels; c++) {
    for (let p = 0; p < plane; p++) {
      const v = factor * img.data[c * plane + p]! + (1 - factor) * other(c, p);
      out[c * plane + p] = Math.min(1, Math.max(0, v));
    }
  }
  return out;
}

/**
 * A transform that randomly changes brightness, contrast and saturation of an image with values in [0, 1]
 * (torchvision `ColorJitter` without hue): the three adjustments run in a random order, each with a factor
 * drawn from `[max(0, 1 - s), 1 + s]`, and results are clipped to [0, 1]. Boxes are unchanged.
 * @param opts - the three strengths (non-negative)
 * @returns the transform
 * @throws {InvalidArgumentError} on a negative or non-finite strength, or (when applied) contrast/saturation
 *   on an image without 3 channels
 * @example
 * ```ts
 * const jitter = colorJitter({ brightness: 0.3, contrast: 0.3, saturation: 0.3 });
 * const out = jitter({ image }, new Rng(0));
 * ```
 */
export function colorJitter(opts: ColorJitterOptions): Transform {
  const op = 'colorJitter';
  const strengths = {
    brightness: opts.brightness ?? 0,
    contrast: opts.contrast ?? 0,
    saturation: opts.saturation ?? 0,
  };
  for (const [k, v] of Object.entries(strengths)) {
    if (!(Number.isFinite(v) && v >= 0)) {
      throw new InvalidArgumentError(`${op}: '${k}' must be a finite number >= 0, got ${v}`);
    }
  }
  return (sample: AugmentSample, rng: Rng) => {
    checkImage(sample.image, op);
    const needsRgb = strengths.contrast > 0 || strengths.saturation > 0;
    if (needsRgb && sample.image.channels !== 3) {
      throw new InvalidArgumentError(
        `${op}: contrast and saturation need 3 channels, got ${sample.image.channels}`,
      );
    }
    let img = sample.image;
    const plane = img.height * img.width;
    const order = rng.shuffle(['brightness', 'contrast', 'saturation'] as const);
    for (const kind of order) {
      const s = strengths[kind];
      if (s === 0) continue;
      const lo = Math.max(0, 1 - s);
      const factor = lo + (1 + s - lo) * rng.next();
      const cur = img;
      let data: Float32Array;
      if (kind === 'brightness') {
        data = blend(cur, factor, () => 0);
      } else if (kind === 'contrast') {
        let sum = 0;
        for (let p = 0; p < plane; p++) sum += grey(cur.data, plane, p);
        const mean = sum / plane;
        data = blend(cur, factor, () => mean);
      } else {
        data = blend(cur, factor, (_c, p) => grey(cur.data, plane, p));
      }
      img = { ...cur, data };
    }
    return { ...sample, image: img };
  };
}

/**
 * Normalises an image per channel as `(x - mean[c]) / std[c]` (torchvision `Normalize`).
 * @param image - the image
 * @param mean - one value per channel, or one for all
 * @param std - one value per channel, or one for all (each > 0)
 * @returns a new normalised image
 * @throws {InvalidArgumentError} on a malformed image or bad mean/std
 * @example
 * ```ts
 * normalize(image, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
 * ```
 */
export function normalize(
  image: ChwImage,
  mean: number | readonly number[],
  std: number | readonly number[],
): ChwImage {
  const op = 'normalize';
  checkImage(image, op);
  const m = perChannel(mean, image.channels, 'mean', op);
  const s = perChannel(std, image.channels, 'std', op);
  if (s.some((v) => v <= 0))
    throw new InvalidArgumentError(`${op}: 'std' values must be > 0, got [${s.join(', ')}]`);
  const plane = image.height * image.width;
  const out = new Float32Array(image.data.length);
  for (let c = 0; c < image.channels; c++) {
    const inv = 1 / s[c]!;
    for (let p = c * plane; p < (c + 1) * plane; p++) out[p] = (image.data[p]! - m[c]!) * inv;
  }
  return { ...image, data: out };
}

/**
 * A transform form of {@link normalize} (boxes unchanged), for use in {@link compose}.
 * @param mean - per-channel mean
 * @param std - per-channel standard deviation
 * @returns the transform
 * @throws {InvalidArgumentError} (when applied) on bad mean/std
 * @example
 * ```ts
 * const t = compose([randomHorizontalFlip(), normalizeTransform(0.5, 0.5)]);
 * ```
 */
export function normalizeTransform(
  mean: number | readonly number[],
  std: number | readonly number[],
): Transform {
  return (sample) => ({ ...sample, image: normalize(sample.image, mean, std) });
}

/**
 * Chains transforms left to right; they share the generator, so the chain is deterministic for a seed.
 * @param transforms - the transforms to apply in order
 * @returns one transform
 * @example
 * ```ts
 * const aug = compose([randomCrop({ size: [32, 32], padding: 4 }), randomHorizontalFlip()]);
 * const out = aug({ image }, new Rng(42));
 * ```
 */
export function compose(transforms: readonly Transform[]): Transform {
  return (sample, rng) => transforms.reduce((s, t) => t(s, rng), sample);
}
