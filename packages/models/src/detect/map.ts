import { InvalidArgumentError, ShapeError } from '@tinyvision/tensor';
import type { Detections } from './nms.js';

/** Ground truth of one image. */
export interface GroundTruth {
  /** Flat `x1, y1, x2, y2` per object. */
  readonly boxes: ArrayLike<number>;
  /** Class per object. */
  readonly labels: ArrayLike<number>;
}

/** Options of {@link meanAveragePrecision}. */
export interface MapOptions {
  /** Number of classes; classes without ground truth are left out of the mean (COCO). */
  readonly numClasses: number;
  /** IoU thresholds (default COCO's 0.50:0.05:0.95). */
  readonly iouThresholds?: readonly number[];
  /** Detections kept per image and class, by score (default 100, COCO `maxDets`). */
  readonly maxDetections?: number;
}

/** What {@link meanAveragePrecision} reports. */
export interface MapResult {
  /** mAP averaged over the IoU thresholds (COCO AP@[.50:.95] with the default thresholds). */
  readonly map: number;
  /** mAP at IoU 0.5 (NaN when 0.5 is not one of the thresholds). */
  readonly map50: number;
  /** mAP at IoU 0.75 (NaN when 0.75 is not one of the thresholds). */
  readonly map75: number;
  /** Per class AP averaged over the thresholds (NaN for classes without ground truth). */
  readonly perClass: number[];
  /** Per class AP at IoU 0.5 (NaN for classes without ground truth). */
  readonly perClass50: number[];
  /** Per threshold, mAP over classes. */
  readonly perThreshold: number[];
}

/** COCO's IoU thresholds 0.50, 0.55, …, 0.95 (as `np.linspace(.5, 0.95, 10)`). */
export const COCO_IOU_THRESHOLDS: readonly number[] = Object.freeze(
  Array.from({ length: 10 }, (_, i) => i * (0.45 / 9) + 0.5),
);

/** COCO bbox IoU (`maskUtils.iou`, no +1) of two xyxy boxes. */
function iou(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const w = Math.min(a[4 * i + 2]!, b[4 * j + 2]!) - Math.max(a[4 * i]!, b[4 * j]!);
  const h = Math.min(a[4 * i + 3]!, b[4 * j + 3]!) - Math.max(a[4 * i + 1]!, b[4 * j + 1]!);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const areaA = (a[4 * i + 2]! - a[4 * i]!) * (a[4 * i + 3]! - a[4 * i + 1]!);
  const areaB = (b[4 * j + 2]! - b[4 * j]!) * (b[4 * j + 3]! - b[4 * j + 1]!);
  return inter / (areaA + areaB - inter);
}

/** Stable order by decreasing score (numpy `argsort(-s, kind='mergesort')`). */
function byScore(scores: ArrayLike<number>, idx: number[]): number[] {
  return idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/**
 * COCO-style mean average precision of boxes (pycocotools `COCOeval` with `iouType='bbox'`, area range 'all',
 * no crowd boxes): per image and class the detections are sorted by score and greedily matched to the
 * still-unmatched ground truth box of highest IoU (≥ threshold); per class, precision is made monotone and
 * sampled at 101 recall points (0, 0.01, …, 1); AP is their mean, and mAP the mean over classes that have
 * ground truth.
 * @param detections - per image: boxes, scores, labels
 * @param groundTruth - per image: boxes and labels
 * @param opts - class count, IoU thresholds, detections per image
 * @returns mAP@[.5:.95], mAP@.5, mAP@.75, per-class and per-threshold values
 * @throws {ShapeError} when the image counts or per-image lengths do not match
 * @throws {InvalidArgumentError} on a bad class count, label or threshold
 * @example
 * ```ts
 * const { map, map50 } = meanAveragePrecision(dets, targets, { numClasses: 3 });
 * ```
 */
export function meanAveragePrecision(
  detections: readonly Detections[],
  groundTruth: readonly GroundTruth[],
  opts: MapOptions,
): MapResult {
  const op = 'meanAveragePrecision';
  const nc = opts?.numClasses;
  const thrs = opts.iouThresholds ?? COCO_IOU_THRESHOLDS;
  const maxDet = opts.maxDetections ?? 100;
  if (!Number.isInteger(nc) || nc < 1) {
    throw new InvalidArgumentError(`${op}: 'numClasses' must be a positive integer, got ${String(nc)}`);
  }
  if (thrs.length === 0 || thrs.some((t) => !(t >= 0 && t <= 1))) {
    throw new InvalidArgumentError(`${op}: 'iouThresholds' must be non-empty values in [0, 1]`);
  }
  if (!Number.isInteger(maxDet) || maxDet < 1) {
    throw new InvalidArgumentError(`${op}: 'maxDetections' must be a positive integer, got ${maxDet}`);
  }
  if (detections.length !== groundTruth.length) {
    throw new ShapeError(`${op}: ${detections.length} detection sets for ${groundTruth.length} images`);
  }
  const T = thrs.length;
  // Per class: concatenated (over images, in image order) scores and per-threshold match flags.
  const scores: number[][] = Array.from({ length: nc }, () => []);
  const matched: number[][][] = Array.from({ length: nc }, () => Array.from({ length: T }, () => []));
  const npos = new Array<number>(nc).fill(0);
  const checkLabel = (l: number, where: string) => {
    if (!Number.isInteger(l) || l < 0 || l >= nc) {
      throw new InvalidArgumentError(`${op}: ${where} label ${l} is not in [0, ${nc})`);
    }
  };
  for (let im = 0; im < detections.length; im++) {
    const d = detections[im]!;
    const g = groundTruth[im]!;
    const nd = d.scores.length;
    const ng = g.labels.length;
    if (d.boxes.length !== 4 * nd || d.labels.length !== nd || g.boxes.length !== 4 * ng) {
      throw new ShapeError(`${op}: image ${im} has boxes, scores and labels of different lengths`);
    }
    const dByClass = new Map<number, number[]>();
    const gByClass = new Map<number, number[]>();
    for (let i = 0; i < nd; i++) {
      checkLabel(d.labels[i]!, `image ${im} detection ${i}`);
      const l = d.labels[i]!;
      (dByClass.get(l) ?? dByClass.set(l, []).get(l)!).push(i);
    }
    for (let j = 0; j < ng; j++) {
      checkLabel(g.labels[j]!, `image ${im} ground truth ${j}`);
      const l = g.labels[j]!;
      (gByClass.get(l) ?? gByClass.set(l, []).get(l)!).push(j);
      npos[l]!++;
    }
    for (const [c, dIdx] of dByClass) {
      const dts = byScore(d.scores, dIdx).slice(0, maxDet);
      const gts = gByClass.get(c) ?? [];
      for (let t = 0; t < T; t++) {
        const taken = new Uint8Array(gts.length);
        for (const di of dts) {
          let best = Math.min(thrs[t]!, 1 - 1e-10);
          let m = -1;
          gts.forEach((gj, k) => {
            if (taken[k]) return;
            const v = iou(d.boxes, di, g.boxes, gj);
            if (v < best) return;
            best = v;
            m = k;
          });
          if (m >= 0) taken[m] = 1;
          matched[c]![t]!.push(m >= 0 ? 1 : 0);
        }
      }
      for (const di of dts) scores[c]!.push(d.scores[di]!);
    }
  }
  const R = 101;
  const apCT: number[][] = [];
  for (let c = 0; c < nc; c++) {
    const row: number[] = [];
    if (npos[c] === 0) {
      apCT.push(new Array<number>(T).fill(Number.NaN));
      continue;
    }
    const ord = byScore(
      scores[c]!,
      scores[c]!.map((_, i) => i),
    );
    for (let t = 0; t < T; t++) {
      const m = matched[c]![t]!;
      const nd = ord.length;
      const rc = new Float64Array(nd);
      const pr = new Float64Array(nd);
      let tp = 0;
      let fp = 0;
      for (let k = 0; k < nd; k++) {
        if (m[ord[k]!]) tp++;
        else fp++;
        rc[k] = tp / npos[c]!;
        pr[k] = tp / (tp + fp + Number.EPSILON);
      }
      for (let k = nd - 1; k > 0; k--) if (pr[k]! > pr[k - 1]!) pr[k - 1] = pr[k]!;
      let sum = 0;
      let k = 0;
      for (let r = 0; r < R; r++) {
        const thr = r * 0.01; // np.linspace(0, 1, 101)
        while (k < nd && rc[k]! < thr) k++; // searchsorted(rc, thr, side='left')
        if (k < nd) sum += pr[k]!;
      }
      row.push(sum / R);
    }
    apCT.push(row);
  }
  const meanOver = (vals: number[]) => {
    const v = vals.filter((x) => !Number.isNaN(x));
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN;
  };
  const perThreshold = thrs.map((_, t) => meanOver(apCT.map((r) => r[t]!)));
  const at = (x: number) => {
    const t = thrs.findIndex((v) => Math.abs(v - x) < 1e-9);
    return t < 0 ? Number.NaN : perThreshold[t]!;
  };
  return {
    map: meanOver(perThreshold),
    map50: at(0.5),
    map75: at(0.75),
    perClass: apCT.map((r) => meanOver(r)),
    perClass50: apCT.map((r) => {
      const t = thrs.findIndex((v) => Math.abs(v - 0.5) < 1e-9);
      return t < 0 ? Number.NaN : r[t]!;
    }),
    perThreshold,
  };
}
