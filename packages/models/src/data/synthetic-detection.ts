import { fromStorage, InvalidArgumentError, Rng, type Tensor } from '@tinyvision/tensor';

/** Shapes {@link syntheticDetection} can draw; a class name must be one of these. */
export const SYNTHETIC_SHAPES: readonly string[] = Object.freeze([
  'circle',
  'square',
  'triangle',
  'diamond',
  'cross',
]);

/** Options of {@link syntheticDetection}. */
export interface SyntheticDetectionOptions {
  /** Number of images (required). */
  readonly count: number;
  /** Image side in pixels (default 64, at least 16). */
  readonly size?: number;
  /** Seed; the same seed gives identical images and targets (default 0). */
  readonly seed?: number;
  /** Objects per image are drawn uniformly from `1..maxObjects` (default 4). */
  readonly maxObjects?: number;
  /** Class names, each one of {@link SYNTHETIC_SHAPES} (default `['circle', 'square', 'triangle']`). */
  readonly classes?: readonly string[];
  /** Also return per-image instance masks (default false). */
  readonly returnMasks?: boolean;
}

/** Per-image detection targets. */
export interface DetectionTargets {
  /** Per image, `4·k` floats: boxes `x1, y1, x2, y2` in pixels (pixel edges, `x2`/`y2` exclusive). */
  readonly boxes: Float32Array[];
  /** Per image, `k` class indices into `classNames`. */
  readonly labels: Int32Array[];
}

/** A synthetic detection dataset. */
export interface SyntheticDetection {
  /** float32 `[N, 3, S, S]`, RGB in [0, 1]. */
  readonly images: Tensor;
  /** Boxes and labels per image. */
  readonly targets: DetectionTargets;
  /** The class names, indexed by label. */
  readonly classNames: readonly string[];
  /** With `returnMasks`: per image `S·S` int32, 0 for background and `j + 1` for the pixels of object `j`. */
  readonly masks?: Int32Array[];
}

/** Whether a point of the unit cell `(u, v)` lies inside `shape`. */
function inShape(shape: string, u: number, v: number): boolean {
  // u, v: pixel centre relative to the cell, in [0, 1).
  const dx = u - 0.5;
  const dy = v - 0.5;
  switch (shape) {
    case 'circle':
      return dx * dx + dy * dy <= 0.25;
    case 'square':
      return true;
    case 'triangle':
      // apex at the top centre, base along the bottom edge
      return Math.abs(dx) <= v / 2;
    case 'diamond':
      return Math.abs(dx) + Math.abs(dy) <= 0.5;
    default:
      // cross
      return Math.abs(dx) <= 1 / 6 || Math.abs(dy) <= 1 / 6;
  }
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

interface Sample {
  boxes: number[];
  labels: number[];
}

/**
 * Renders image `index` into `px` (planar `3 × S × S`) and `mask`, from its own generator so that an image
 * depends only on `(seed, index)`.
 */
function renderSample(
  seed: number,
  index: number,
  S: number,
  maxObjects: number,
  classes: readonly string[],
  px: Float32Array,
  mask: Int32Array,
): Sample {
  const rng = new Rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const plane = S * S;
  // Background: a linear gradient between two muted colours in a random direction, plus pixel noise.
  const c0 = [0, 1, 2].map(() => 0.15 + 0.7 * rng.next());
  const c1 = [0, 1, 2].map(() => 0.15 + 0.7 * rng.next());
  const angle = rng.next() * 2 * Math.PI;
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const span = (Math.abs(ca) + Math.abs(sa)) * S;
  const off = (ca < 0 ? -ca : 0) * S + (sa < 0 ? -sa : 0) * S;
  const noiseAmp = 0.04 + 0.06 * rng.next();
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const t = (x * ca + y * sa + off) / span;
      const grain = (rng.next() - 0.5) * 2 * noiseAmp;
      for (let c = 0; c < 3; c++) {
        const v = c0[c]! + (c1[c]! - c0[c]!) * t + grain + (rng.next() - 0.5) * noiseAmp;
        px[c * plane + y * S + x] = Math.min(1, Math.max(0, v));
      }
    }
  }
  mask.fill(0);
  const k = 1 + rng.int(maxObjects);
  const boxes: number[] = [];
  const labels: number[] = [];
  const minSide = Math.max(6, Math.round(S / 8));
  const maxSide = Math.max(minSide + 1, Math.round(S / 2.5));
  for (let j = 0; j < k; j++) {
    const cls = rng.int(classes.length);
    const shape = classes[cls]!;
    const d = minSide + rng.int(maxSide - minSide + 1);
    // Place the cell so its 1-pixel margin overlaps no earlier box: pixels just outside every box are background.
    let placed: [number, number] | null = null;
    for (let attempt = 0; attempt < 30 && !placed; attempt++) {
      const x0 = rng.int(S - d + 1);
      const y0 = rng.int(S - d + 1);
      let free = true;
      for (let b = 0; b < boxes.length && free; b += 4) {
        if (
          x0 - 1 < boxes[b + 2]! &&
          x0 + d + 1 > boxes[b]! &&
          y0 - 1 < boxes[b + 3]! &&
          y0 + d + 1 > boxes[b + 1]!
        ) {
          free = false;
        }
      }
      if (free) placed = [x0, y0];
    }
    if (!placed) continue;
    const [x0, y0] = placed;
    // A saturated colour that stands out from the background under the object's centre.
    const centre = (y0 + (d >> 1)) * S + x0 + (d >> 1);
    let colour = hsvToRgb(rng.next(), 0.7 + 0.3 * rng.next(), 0.55 + 0.45 * rng.next());
    for (let tries = 0; tries < 8; tries++) {
      const diff = colour.reduce((acc, v, c) => acc + Math.abs(v - px[c * plane + centre]!), 0);
      if (diff >= 0.6) break;
      colour = hsvToRgb(rng.next(), 0.7 + 0.3 * rng.next(), 0.55 + 0.45 * rng.next());
    }
    let bx1 = S;
    let by1 = S;
    let bx2 = -1;
    let by2 = -1;
    for (let y = 0; y < d; y++) {
      for (let x = 0; x < d; x++) {
        if (!inShape(shape, (x + 0.5) / d, (y + 0.5) / d)) continue;
        const p = (y0 + y) * S + x0 + x;
        mask[p] = labels.length + 1;
        for (let c = 0; c < 3; c++) px[c * plane + p] = colour[c]!;
        bx1 = Math.min(bx1, x0 + x);
        by1 = Math.min(by1, y0 + y);
        bx2 = Math.max(bx2, x0 + x);
        by2 = Math.max(by2, y0 + y);
      }
    }
    boxes.push(bx1, by1, bx2 + 1, by2 + 1);
    labels.push(cls);
  }
  return { boxes, labels };
}

/**
 * Generates a deterministic synthetic object-detection dataset: flat-coloured shapes (one class per shape)
 * on textured backgrounds (a colour gradient in a random direction plus pixel noise), 1 to `maxObjects`
 * objects per image. Objects never overlap and keep at least one background pixel between them, and
 * boxes are tight around the drawn pixels, so it is a clean target for training and testing detectors
 * without downloading data. Image `i` depends only on `(seed, i)`, so a longer dataset extends a shorter
 * one with the same seed. Class frequencies are uniform in expectation.
 * @param opts - count, image size, seed, maximum objects per image, class names, masks
 * @returns images in [0, 1], per-image boxes (`xyxy`, pixels) and labels, class names, optional masks
 * @throws {InvalidArgumentError} when `count`, `size` or `maxObjects` are not valid integers, or a class
 *   name is not one of {@link SYNTHETIC_SHAPES} or is repeated
 * @example
 * ```ts
 * registerBackend(cpu());
 * const { images, targets } = syntheticDetection({ count: 100, size: 64, seed: 1 });
 * images.shape; // [100, 3, 64, 64]
 * targets.boxes[0]; // Float32Array [x1, y1, x2, y2, …]
 * ```
 */
export function syntheticDetection(opts: SyntheticDetectionOptions): SyntheticDetection {
  const op = 'syntheticDetection';
  const { count } = opts;
  const S = opts.size ?? 64;
  const seed = opts.seed ?? 0;
  const maxObjects = opts.maxObjects ?? 4;
  const classes = opts.classes ?? ['circle', 'square', 'triangle'];
  if (!Number.isInteger(count) || count < 0) {
    throw new InvalidArgumentError(`${op}: 'count' must be a non-negative integer, got ${count}`);
  }
  if (!Number.isInteger(S) || S < 16 || S > 4096) {
    throw new InvalidArgumentError(`${op}: 'size' must be an integer in [16, 4096], got ${S}`);
  }
  if (!Number.isInteger(maxObjects) || maxObjects < 1 || maxObjects > 64) {
    throw new InvalidArgumentError(`${op}: 'maxObjects' must be an integer in [1, 64], got ${maxObjects}`);
  }
  if (!Number.isFinite(seed)) throw new InvalidArgumentError(`${op}: 'seed' must be a number, got ${seed}`);
  if (classes.length === 0 || new Set(classes).size !== classes.length) {
    throw new InvalidArgumentError(
      `${op}: 'classes' must be non-empty and distinct, got [${classes.join(', ')}]`,
    );
  }
  for (const c of classes) {
    if (!SYNTHETIC_SHAPES.includes(c)) {
      throw new InvalidArgumentError(
        `${op}: class '${c}' is not a known shape, expected one of ${SYNTHETIC_SHAPES.join(', ')}`,
      );
    }
  }
  const plane = S * S;
  const px = new Float32Array(count * 3 * plane);
  const boxes: Float32Array[] = [];
  const labels: Int32Array[] = [];
  const masks: Int32Array[] = [];
  const scratch = new Int32Array(plane);
  for (let i = 0; i < count; i++) {
    const mask = opts.returnMasks ? new Int32Array(plane) : scratch;
    const s = renderSample(
      seed,
      i,
      S,
      maxObjects,
      classes,
      px.subarray(i * 3 * plane, (i + 1) * 3 * plane),
      mask,
    );
    boxes.push(Float32Array.from(s.boxes));
    labels.push(Int32Array.from(s.labels));
    if (opts.returnMasks) masks.push(mask);
  }
  return {
    images: fromStorage(px, [count, 3, S, S], 'float32'),
    targets: { boxes, labels },
    classNames: [...classes],
    ...(opts.returnMasks ? { masks } : {}),
  };
}
