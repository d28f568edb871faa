import { InvalidArgumentError, ShapeError } from '@tinyvision/tensor';

const f = Math.fround;

/** Float32 IoU of boxes `i` and `j` of a flat xyxy array, computed as torchvision's CPU `nms` kernel does. */
function iou32(b: ArrayLike<number>, areas: Float32Array, i: number, j: number): number {
  const xx1 = Math.max(b[4 * i]!, b[4 * j]!);
  const yy1 = Math.max(b[4 * i + 1]!, b[4 * j + 1]!);
  const xx2 = Math.min(b[4 * i + 2]!, b[4 * j + 2]!);
  const yy2 = Math.min(b[4 * i + 3]!, b[4 * j + 3]!);
  const w = Math.max(0, f(xx2 - xx1));
  const h = Math.max(0, f(yy2 - yy1));
  const inter = f(w * h);
  return f(inter / f(f(areas[i]! + areas[j]!) - inter));
}

function checkNmsArgs(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  iouThreshold: number,
  op: string,
): number {
  if (boxes.length % 4 !== 0) {
    throw new ShapeError(`${op}: 'boxes' must hold 4 numbers (x1, y1, x2, y2) per box, got ${boxes.length}`);
  }
  const n = boxes.length / 4;
  if (scores.length !== n) {
    throw new ShapeError(`${op}: 'scores' has ${scores.length} entries for ${n} boxes`);
  }
  if (typeof iouThreshold !== 'number' || Number.isNaN(iouThreshold)) {
    throw new InvalidArgumentError(`${op}: 'iouThreshold' must be a number, got ${String(iouThreshold)}`);
  }
  return n;
}

/** Indices sorted by decreasing score, ties by increasing index (a stable sort, as torch's CPU sort). */
function order(scores: ArrayLike<number>, idx: readonly number[]): number[] {
  return [...idx].sort((a, b) => scores[b]! - scores[a]! || a - b);
}

function nmsOn(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  idx: readonly number[],
  thr: number,
): number[] {
  const n = boxes.length / 4;
  const areas = new Float32Array(n);
  for (const i of idx)
    areas[i] = f(f(boxes[4 * i + 2]! - boxes[4 * i]!) * f(boxes[4 * i + 3]! - boxes[4 * i + 1]!));
  const sorted = order(scores, idx);
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let a = 0; a < sorted.length; a++) {
    const i = sorted[a]!;
    if (suppressed[i]) continue;
    keep.push(i);
    for (let b = a + 1; b < sorted.length; b++) {
      const j = sorted[b]!;
      if (!suppressed[j] && iou32(boxes, areas, i, j) > thr) suppressed[j] = 1;
    }
  }
  return keep;
}

/**
 * Non-maximum suppression (`torchvision.ops.nms`): greedily keeps the highest-scoring box and drops every
 * later box whose IoU with it is greater than `iouThreshold`. IoU is computed in float32 as torchvision's CPU
 * kernel; equal scores keep their input order.
 * @param boxes - flat `x1, y1, x2, y2` per box
 * @param scores - one score per box
 * @param iouThreshold - boxes with IoU > this are suppressed
 * @returns kept indices, by decreasing score
 * @throws {ShapeError} when the lengths do not match
 * @throws {InvalidArgumentError} on a NaN threshold
 * @example
 * ```ts
 * nms([0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30], [0.9, 0.8, 0.7], 0.5); // Int32Array [0, 2]
 * ```
 */
export function nms(boxes: ArrayLike<number>, scores: ArrayLike<number>, iouThreshold: number): Int32Array {
  const n = checkNmsArgs(boxes, scores, iouThreshold, 'nms');
  return Int32Array.from(
    nmsOn(
      boxes,
      scores,
      Array.from({ length: n }, (_, i) => i),
      iouThreshold,
    ),
  );
}

/**
 * Class-aware NMS (`torchvision.ops.batched_nms`): boxes of different categories never suppress each other.
 * @param boxes - flat `x1, y1, x2, y2` per box
 * @param scores - one score per box
 * @param categories - one category (class or image index) per box
 * @param iouThreshold - boxes of the same category with IoU > this are suppressed
 * @returns kept indices, by decreasing score (equal scores in input order)
 * @throws {ShapeError} when the lengths do not match
 * @throws {InvalidArgumentError} on a NaN threshold
 * @example
 * ```ts
 * batchedNms([0, 0, 10, 10, 1, 1, 11, 11], [0.9, 0.8], [0, 1], 0.5); // Int32Array [0, 1]
 * ```
 */
export function batchedNms(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  categories: ArrayLike<number>,
  iouThreshold: number,
): Int32Array {
  const n = checkNmsArgs(boxes, scores, iouThreshold, 'batchedNms');
  if (categories.length !== n) {
    throw new ShapeError(`batchedNms: 'categories' has ${categories.length} entries for ${n} boxes`);
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = categories[i]!;
    const g = groups.get(c);
    if (g) g.push(i);
    else groups.set(c, [i]);
  }
  const keep: number[] = [];
  for (const idx of groups.values()) keep.push(...nmsOn(boxes, scores, idx, iouThreshold));
  return Int32Array.from(
    order(
      scores,
      keep.sort((a, b) => a - b),
    ),
  );
}

/** One image's detections. */
export interface Detections {
  /** Flat `x1, y1, x2, y2` per detection, pixels. */
  readonly boxes: Float32Array;
  /** Confidence per detection. */
  readonly scores: Float32Array;
  /** Class per detection. */
  readonly labels: Int32Array;
}

/** Options of {@link yoloPostprocess}. */
export interface PostprocessOptions {
  /** Minimum `objectness · class probability` (default 0.25, YOLOv5 `detect.py`; use 0.001 for mAP). */
  readonly scoreThreshold?: number;
  /** NMS IoU threshold (default 0.45). */
  readonly iouThreshold?: number;
  /** Most detections kept per image (default 300). */
  readonly maxDetections?: number;
}

/**
 * YOLOv5 `non_max_suppression` (single label per box): from decoded predictions, keeps boxes with
 * objectness and `objectness · best class probability` above the threshold, converts `cxcywh` to `xyxy`, runs
 * class-aware NMS and keeps the best `maxDetections`.
 * @param decoded - `[N, rows, 5 + nc]` host values of {@link decodeYolo}'s output, with its shape
 * @param shape - `[N, rows, 5 + nc]`
 * @param opts - score and IoU thresholds, maximum detections
 * @returns one {@link Detections} per image
 * @throws {ShapeError} when the data length does not match the shape
 * @throws {InvalidArgumentError} on bad thresholds
 * @example
 * ```ts
 * const dec = decodeYolo(raw, { imageSize: 128 });
 * const dets = yoloPostprocess(dec.dataSync(), dec.shape, { scoreThreshold: 0.001 });
 * ```
 */
export function yoloPostprocess(
  decoded: ArrayLike<number>,
  shape: readonly number[],
  opts: PostprocessOptions = {},
): Detections[] {
  const op = 'yoloPostprocess';
  const conf = opts.scoreThreshold ?? 0.25;
  const iouThr = opts.iouThreshold ?? 0.45;
  const maxDet = opts.maxDetections ?? 300;
  if (shape.length !== 3 || shape[2]! < 6 || decoded.length !== shape[0]! * shape[1]! * shape[2]!) {
    throw new ShapeError(
      `${op}: ${decoded.length} values do not fit shape [${shape.join(', ')}] (need [N, rows, 5 + nc])`,
    );
  }
  if (!(conf >= 0 && conf <= 1) || !(iouThr >= 0 && iouThr <= 1) || !Number.isInteger(maxDet) || maxDet < 1) {
    throw new InvalidArgumentError(
      `${op}: thresholds must be in [0, 1] and 'maxDetections' a positive integer, got ${conf}, ${iouThr}, ${maxDet}`,
    );
  }
  const [n, rows, no] = shape as [number, number, number];
  const out: Detections[] = [];
  for (let b = 0; b < n; b++) {
    const boxes: number[] = [];
    const scores: number[] = [];
    const labels: number[] = [];
    for (let r = 0; r < rows; r++) {
      const o = (b * rows + r) * no;
      const obj = decoded[o + 4]!;
      if (!(obj > conf)) continue;
      let best = 0;
      let bc = 0;
      for (let c = 5; c < no; c++) {
        if (decoded[o + c]! > best) {
          best = decoded[o + c]!;
          bc = c - 5;
        }
      }
      const s = obj * best;
      if (!(s > conf)) continue;
      const cx = decoded[o]!;
      const cy = decoded[o + 1]!;
      const hw = decoded[o + 2]! / 2;
      const hh = decoded[o + 3]! / 2;
      boxes.push(cx - hw, cy - hh, cx + hw, cy + hh);
      scores.push(s);
      labels.push(bc);
    }
    const keep = batchedNms(boxes, scores, labels, iouThr).subarray(0, maxDet);
    out.push({
      boxes: Float32Array.from(Array.from(keep).flatMap((i) => boxes.slice(4 * i, 4 * i + 4))),
      scores: Float32Array.from(keep, (i) => scores[i]!),
      labels: Int32Array.from(keep, (i) => labels[i]!),
    });
  }
  return out;
}
