import { fromStorage, InvalidArgumentError, type Rng, ShapeError, type Tensor } from '@tinyvision/tensor';

/** One image on the host: planar float32 `C × H × W` (the layout of one item of an NCHW batch). */
export interface ChwImage {
  /** `channels × height × width` values, channel planes one after another. */
  readonly data: Float32Array;
  /** Number of channels (3 for RGB). */
  readonly channels: number;
  /** Height in pixels. */
  readonly height: number;
  /** Width in pixels. */
  readonly width: number;
}

/**
 * What augmentations transform: an image plus, for detection, its boxes (`4·k` floats `x1, y1, x2, y2` in
 * pixels) and their labels (`k` class ids). Boxes and labels travel together so that dropping a box (cropped
 * away) drops its label too.
 */
export interface AugmentSample {
  /** The image. */
  readonly image: ChwImage;
  /** Boxes `xyxy` in pixels, `4·k` floats (detection only). */
  readonly boxes?: Float32Array;
  /** Class ids, `k` ints (detection only; required when `boxes` may be dropped). */
  readonly labels?: Int32Array;
}

/** A seeded augmentation: maps a sample to a new one (inputs are never modified). */
export type Transform = (sample: AugmentSample, rng: Rng) => AugmentSample;

/** @internal Validates a host image. */
export function checkImage(img: ChwImage, op: string): void {
  const { data, channels: c, height: h, width: w } = img ?? ({} as ChwImage);
  if (!(data instanceof Float32Array) || ![c, h, w].every((d) => Number.isInteger(d) && d > 0)) {
    throw new InvalidArgumentError(
      `${op}: 'image' must be {data: Float32Array, channels, height, width} > 0`,
    );
  }
  if (data.length !== c * h * w) {
    throw new ShapeError(
      `${op}: image data has ${data.length} values, expected ${c}×${h}×${w} = ${c * h * w}`,
    );
  }
}

/** @internal Validates boxes against labels. */
export function checkBoxes(s: AugmentSample, op: string): void {
  if (s.boxes && s.boxes.length % 4 !== 0) {
    throw new ShapeError(`${op}: 'boxes' length ${s.boxes.length} is not a multiple of 4`);
  }
  if (s.boxes && s.labels && s.labels.length * 4 !== s.boxes.length) {
    throw new ShapeError(`${op}: ${s.boxes.length / 4} boxes but ${s.labels.length} labels`);
  }
}

/** @internal Expands a scalar or list to one finite value per channel. */
export function perChannel(
  v: number | readonly number[],
  channels: number,
  name: string,
  op: string,
): number[] {
  const arr = typeof v === 'number' ? new Array<number>(channels).fill(v) : [...v];
  if (arr.length !== channels || arr.some((x) => !Number.isFinite(x))) {
    throw new InvalidArgumentError(
      `${op}: '${name}' must be a finite number or ${channels} finite numbers, got ${JSON.stringify(v)}`,
    );
  }
  return arr;
}

/**
 * Shifts boxes by `(dx, dy)`, clips them to `region` (`x0, y0, x1, y1`) and drops boxes narrower or shorter
 * than `minSide` after clipping, together with their labels.
 * @param boxes - `4·k` floats
 * @param labels - `k` ids, or undefined
 * @param dx - horizontal shift
 * @param dy - vertical shift
 * @param region - clip rectangle
 * @param minSide - smallest side kept
 * @returns kept boxes (and labels)
 * @internal
 */
export function shiftClip(
  boxes: Float32Array,
  labels: Int32Array | undefined,
  dx: number,
  dy: number,
  region: readonly [number, number, number, number],
  minSide: number,
): { boxes: Float32Array; labels?: Int32Array } {
  const [rx0, ry0, rx1, ry1] = region;
  const out: number[] = [];
  const kept: number[] = [];
  for (let j = 0; j < boxes.length / 4; j++) {
    const x1 = Math.max(rx0, Math.min(rx1, boxes[4 * j]! + dx));
    const y1 = Math.max(ry0, Math.min(ry1, boxes[4 * j + 1]! + dy));
    const x2 = Math.max(rx0, Math.min(rx1, boxes[4 * j + 2]! + dx));
    const y2 = Math.max(ry0, Math.min(ry1, boxes[4 * j + 3]! + dy));
    if (x2 - x1 >= minSide && y2 - y1 >= minSide) {
      out.push(x1, y1, x2, y2);
      if (labels) kept.push(labels[j]!);
    }
  }
  return { boxes: Float32Array.from(out), ...(labels ? { labels: Int32Array.from(kept) } : {}) };
}

/**
 * Reads image `index` of an NCHW float32 tensor into a host {@link ChwImage} (a copy).
 * @param images - float32 `[N, C, H, W]`
 * @param index - which image
 * @returns the image
 * @throws {ShapeError} when `images` is not rank 4
 * @throws {InvalidArgumentError} when `index` is out of range or the dtype is not float32
 * @example
 * ```ts
 * const img = imageAt(syntheticDetection({ count: 4 }).images, 0); // 3×64×64
 * ```
 */
export function imageAt(images: Tensor, index: number): ChwImage {
  if (images.shape.length !== 4) {
    throw new ShapeError(`imageAt: 'images' shape [${images.shape.join(',')}] must have rank 4 (NCHW)`);
  }
  if (images.dtype !== 'float32') {
    throw new InvalidArgumentError(`imageAt: 'images' must be float32, got ${images.dtype}`);
  }
  const [n, c, h, w] = images.shape as [number, number, number, number];
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new InvalidArgumentError(`imageAt: 'index' ${index} is out of range [0, ${n})`);
  }
  const per = c * h * w;
  const data = (images.dataSync() as Float32Array).slice(index * per, (index + 1) * per);
  return { data, channels: c, height: h, width: w };
}

/**
 * Stacks host images of equal size into one float32 `[N, C, H, W]` tensor.
 * @param images - the images (at least one)
 * @returns the batch tensor
 * @throws {ShapeError} when the images differ in size or the list is empty
 * @example
 * ```ts
 * const batch = stackImages([a, b]); // [2, 3, H, W]
 * ```
 */
export function stackImages(images: readonly ChwImage[]): Tensor {
  const first = images[0];
  if (!first) throw new ShapeError('stackImages: no images to stack');
  const { channels: c, height: h, width: w } = first;
  const per = c * h * w;
  const out = new Float32Array(images.length * per);
  images.forEach((img, i) => {
    checkImage(img, 'stackImages');
    if (img.channels !== c || img.height !== h || img.width !== w) {
      throw new ShapeError(
        `stackImages: image ${i} is ${img.channels}×${img.height}×${img.width}, expected ${c}×${h}×${w} like image 0`,
      );
    }
    out.set(img.data, i * per);
  });
  return fromStorage(out, [images.length, c, h, w], 'float32');
}

/**
 * Mirrors a sample left–right; boxes follow (`x1' = W - x2`, `x2' = W - x1`).
 * @param sample - image and optional boxes/labels
 * @returns the flipped sample
 * @throws {InvalidArgumentError} on a malformed image
 * @throws {ShapeError} when boxes are not `4·k` long or do not match the labels
 * @example
 * ```ts
 * const { image, boxes } = horizontalFlip({ image, boxes: new Float32Array([0, 0, 10, 10]) });
 * ```
 */
export function horizontalFlip(sample: AugmentSample): AugmentSample {
  const op = 'horizontalFlip';
  checkImage(sample.image, op);
  checkBoxes(sample, op);
  const { data, channels, height, width } = sample.image;
  const out = new Float32Array(data.length);
  for (let row = 0; row < channels * height; row++) {
    const base = row * width;
    for (let x = 0; x < width; x++) out[base + x] = data[base + width - 1 - x]!;
  }
  let boxes: Float32Array | undefined;
  if (sample.boxes) {
    boxes = new Float32Array(sample.boxes.length);
    for (let j = 0; j < boxes.length; j += 4) {
      boxes[j] = width - sample.boxes[j + 2]!;
      boxes[j + 1] = sample.boxes[j + 1]!;
      boxes[j + 2] = width - sample.boxes[j]!;
      boxes[j + 3] = sample.boxes[j + 3]!;
    }
  }
  return { ...sample, image: { data: out, channels, height, width }, ...(boxes ? { boxes } : {}) };
}

/**
 * A transform that applies {@link horizontalFlip} with probability `p` (torchvision `RandomHorizontalFlip`).
 * @param opts - `p`, the flip probability (default 0.5)
 * @returns the transform
 * @throws {InvalidArgumentError} when `p` is not in [0, 1]
 * @example
 * ```ts
 * const t = randomHorizontalFlip({ p: 0.5 });
 * const out = t({ image, boxes, labels }, new Rng(0));
 * ```
 */
export function randomHorizontalFlip(opts: { readonly p?: number } = {}): Transform {
  const p = opts.p ?? 0.5;
  if (!(p >= 0 && p <= 1))
    throw new InvalidArgumentError(`randomHorizontalFlip: 'p' must be in [0, 1], got ${p}`);
  return (sample, rng) => (rng.next() < p ? horizontalFlip(sample) : sample);
}

/** Options of {@link randomCrop}. */
export interface RandomCropOptions {
  /** Output `[height, width]`. */
  readonly size: readonly [number, number];
  /** Pixels of `fill` added on every side before cropping (default 0). */
  readonly padding?: number;
  /** Value of the padding pixels (default 0). */
  readonly fill?: number;
  /** Boxes narrower or shorter than this after clipping are dropped with their labels (default 1 pixel). */
  readonly minBoxSide?: number;
}

/**
 * A transform that pads the image by `padding` pixels of `fill` on each side and crops a random `size`
 * window (torchvision `RandomCrop(size, padding)`); boxes are shifted, clipped to the window, and dropped
 * (with their labels) when less than `minBoxSide` remains.
 * @param opts - output size, padding, fill value, minimum box side
 * @returns the transform
 * @throws {InvalidArgumentError} on a bad size/padding, or (when applied) when the padded image is smaller
 *   than `size`
 * @example
 * ```ts
 * const crop = randomCrop({ size: [32, 32], padding: 4 }); // CIFAR-style
 * const out = crop({ image }, new Rng(1));
 * ```
 */
export function randomCrop(opts: RandomCropOptions): Transform {
  const op = 'randomCrop';
  const [oh, ow] = opts.size ?? [];
  const padding = opts.padding ?? 0;
  const fill = opts.fill ?? 0;
  const minSide = opts.minBoxSide ?? 1;
  if (!Number.isInteger(oh) || !Number.isInteger(ow) || oh! <= 0 || ow! <= 0) {
    throw new InvalidArgumentError(
      `${op}: 'size' must be [height, width] of positive integers, got ${JSON.stringify(opts.size)}`,
    );
  }
  if (!Number.isInteger(padding) || padding < 0) {
    throw new InvalidArgumentError(`${op}: 'padding' must be a non-negative integer, got ${padding}`);
  }
  return (sample, rng) => {
    checkImage(sample.image, op);
    checkBoxes(sample, op);
    const { data, channels, height: h, width: w } = sample.image;
    const ph = h + 2 * padding;
    const pw = w + 2 * padding;
    if (ph < oh! || pw < ow!) {
      throw new InvalidArgumentError(`${op}: padded image ${ph}×${pw} is smaller than the crop ${oh}×${ow}`);
    }
    const top = rng.int(ph - oh! + 1);
    const left = rng.int(pw - ow! + 1);
    const out = new Float32Array(channels * oh! * ow!).fill(fill);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < oh!; y++) {
        const sy = y + top - padding;
        if (sy < 0 || sy >= h) continue;
        for (let x = 0; x < ow!; x++) {
          const sx = x + left - padding;
          if (sx >= 0 && sx < w) out[(c * oh! + y) * ow! + x] = data[(c * h + sy) * w + sx]!;
        }
      }
    }
    const image = { data: out, channels, height: oh!, width: ow! };
    if (!sample.boxes) return { ...sample, image };
    const t = shiftClip(
      sample.boxes,
      sample.labels,
      padding - left,
      padding - top,
      [0, 0, ow!, oh!],
      minSide,
    );
    return { ...sample, image, ...t };
  };
}
