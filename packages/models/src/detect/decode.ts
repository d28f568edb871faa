import {
  add,
  concat,
  fromStorage,
  InvalidArgumentError,
  mul,
  narrow,
  ShapeError,
  sigmoid,
  square,
  type Tensor,
} from '@tinyvision/tensor';

/** Anchor and stride layout of a YOLO head: what {@link decodeYolo} and `yoloLoss` need besides the raw output. */
export interface YoloHeadLayout {
  /** Input image `[height, width]` in pixels (or one number for square inputs); multiples of the largest stride. */
  readonly imageSize: number | readonly [number, number];
  /** Anchors `[w, h]` in pixels per level (default: YOLOv5's, 3 per level at strides 8/16/32). */
  readonly anchors?: readonly (readonly (readonly [number, number])[])[];
  /** Stride per level (default `[8, 16, 32]`). */
  readonly strides?: readonly number[];
}

/** A resolved {@link YoloHeadLayout}. @internal */
export interface ResolvedLayout {
  /** Image height. */
  readonly h: number;
  /** Image width. */
  readonly w: number;
  /** Anchors per level in pixels. */
  readonly anchors: readonly (readonly (readonly [number, number])[])[];
  /** Strides. */
  readonly strides: readonly number[];
  /** Per level: grid height, grid width, anchor count, offset of its first row in the prediction tensor. */
  readonly levels: readonly { ny: number; nx: number; na: number; offset: number }[];
  /** Total number of prediction rows per image. */
  readonly rows: number;
}

const DEFAULT_ANCHORS: readonly (readonly (readonly [number, number])[])[] = [
  [
    [10, 13],
    [16, 30],
    [33, 23],
  ],
  [
    [30, 61],
    [62, 45],
    [59, 119],
  ],
  [
    [116, 90],
    [156, 198],
    [373, 326],
  ],
];

/**
 * Resolves and checks a head layout. @internal
 * @param layout - the layout
 * @param op - operation name for messages
 * @returns the resolved layout
 * @throws {InvalidArgumentError} on sizes that are not multiples of the strides or mismatched anchors/strides
 */
export function resolveLayout(layout: YoloHeadLayout, op: string): ResolvedLayout {
  const size = layout?.imageSize;
  const [h, w] = typeof size === 'number' ? [size, size] : (size ?? [Number.NaN, Number.NaN]);
  const anchors = layout.anchors ?? DEFAULT_ANCHORS;
  const strides = layout.strides ?? [8, 16, 32];
  if (anchors.length !== strides.length || strides.length === 0) {
    throw new InvalidArgumentError(
      `${op}: 'anchors' has ${anchors.length} levels but 'strides' has ${strides.length}`,
    );
  }
  const levels: { ny: number; nx: number; na: number; offset: number }[] = [];
  let rows = 0;
  for (let i = 0; i < strides.length; i++) {
    const s = strides[i]!;
    if (!Number.isInteger(s) || s < 1 || !Number.isInteger(h! / s) || !Number.isInteger(w! / s) || h! < s) {
      throw new InvalidArgumentError(
        `${op}: 'imageSize' [${h}, ${w}] must be positive multiples of every stride (${strides.join(', ')})`,
      );
    }
    const na = anchors[i]!.length;
    const ny = h! / s;
    const nx = w! / s;
    levels.push({ ny, nx, na, offset: rows });
    rows += na * ny * nx;
  }
  return { h: h!, w: w!, anchors, strides, levels, rows };
}

/**
 * Checks a raw prediction tensor against a layout. @internal
 * @param raw - `[N, rows, 5 + nc]`
 * @param L - the resolved layout
 * @param op - operation name for messages
 * @returns `[N, rows, no]`
 * @throws {ShapeError} when the shape does not match the layout
 */
export function checkRaw(raw: Tensor, L: ResolvedLayout, op: string): [number, number, number] {
  if (raw.rank !== 3 || raw.shape[1] !== L.rows || raw.shape[2]! < 6) {
    throw new ShapeError(
      `${op}: raw predictions [${raw.shape.join(', ')}] must be [N, ${L.rows}, 5 + numClasses] for image ${L.h}×${L.w}`,
    );
  }
  return raw.shape as [number, number, number];
}

/**
 * Decodes raw YOLOv5 head outputs into boxes: `xy = (2σ(t_xy) − 0.5 + grid) · stride`,
 * `wh = (2σ(t_wh))² · anchor`, and sigmoid objectness and class scores (YOLOv5 `Detect` in inference mode).
 * Built from tensor ops, so it traces to the graph IR.
 * @param raw - `[N, rows, 5 + nc]` as returned by `YoloNano`
 * @param layout - image size, anchors and strides
 * @returns `[N, rows, 5 + nc]`: `cx, cy, w, h` in pixels, objectness, class probabilities
 * @throws {ShapeError} when `raw` does not match the layout
 * @throws {InvalidArgumentError} on a bad layout
 * @example
 * ```ts
 * const dec = decodeYolo(model.eval().call(images), { imageSize: 128 });
 * ```
 */
export function decodeYolo(raw: Tensor, layout: YoloHeadLayout): Tensor {
  const op = 'decodeYolo';
  const L = resolveLayout(layout, op);
  const [, rows, no] = checkRaw(raw, L, op);
  const offs = new Float32Array(rows * 2);
  const scale = new Float32Array(rows);
  const anc = new Float32Array(rows * 2);
  L.levels.forEach(({ ny, nx, na, offset }, i) => {
    const s = L.strides[i]!;
    for (let a = 0; a < na; a++) {
      const [aw, ah] = L.anchors[i]![a]!;
      for (let y = 0; y < ny; y++) {
        for (let x = 0; x < nx; x++) {
          const r = offset + (a * ny + y) * nx + x;
          offs[2 * r] = (x - 0.5) * s;
          offs[2 * r + 1] = (y - 0.5) * s;
          scale[r] = 2 * s;
          anc[2 * r] = aw;
          anc[2 * r + 1] = ah;
        }
      }
    }
  });
  const p = sigmoid(raw);
  const xy = add(
    mul(narrow(p, 2, 0, 2), fromStorage(scale, [rows, 1], 'float32')),
    fromStorage(offs, [rows, 2], 'float32'),
  );
  const wh = mul(square(mul(narrow(p, 2, 2, 2), 2)), fromStorage(anc, [rows, 2], 'float32'));
  return concat([xy, wh, narrow(p, 2, 4, no - 4)], 2);
}
