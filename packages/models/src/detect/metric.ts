import { fromStorage, InvalidArgumentError, noGrad, ShapeError, type Tensor } from '@tinyvision/tensor';
import { decodeYolo, type YoloHeadLayout } from './decode.js';
import { yoloLoss } from './loss.js';
import { type GroundTruth, meanAveragePrecision } from './map.js';
import { type PostprocessOptions, yoloPostprocess } from './nms.js';

/**
 * Packs per-image detection targets into one float32 tensor `[N, M, 5]` of rows `class, x1, y1, x2, y2`
 * (`M` = the most objects in an image; shorter images padded with class −1), so they can travel as the
 * `labels` of a batch (e.g. through the Trainer's `lossFn` and metrics).
 * @param targets - per image: boxes `x1, y1, x2, y2` and labels
 * @returns `[N, M, 5]`
 * @throws {ShapeError} when an image's boxes and labels differ in length
 * @example
 * ```ts
 * const y = encodeDetectionTargets(data.targets.boxes.map((b, i) => ({ boxes: b, labels: data.targets.labels[i]! })));
 * ```
 */
export function encodeDetectionTargets(targets: readonly GroundTruth[]): Tensor {
  const n = targets.length;
  let m = 0;
  targets.forEach((t, i) => {
    if (t.boxes.length !== 4 * t.labels.length) {
      throw new ShapeError(
        `encodeDetectionTargets: image ${i} has ${t.boxes.length} box values for ${t.labels.length} labels`,
      );
    }
    m = Math.max(m, t.labels.length);
  });
  const out = new Float32Array(n * m * 5);
  targets.forEach((t, i) => {
    for (let k = 0; k < m; k++) {
      const o = (i * m + k) * 5;
      if (k >= t.labels.length) {
        out[o] = -1;
        continue;
      }
      out[o] = t.labels[k]!;
      for (let c = 0; c < 4; c++) out[o + 1 + c] = t.boxes[4 * k + c]!;
    }
  });
  return fromStorage(out, [n, m, 5], 'float32');
}

/**
 * Unpacks {@link encodeDetectionTargets}' tensor.
 * @param t - `[N, M, 5]` rows `class, x1, y1, x2, y2`, class −1 for padding
 * @returns per-image boxes and labels
 * @throws {ShapeError} when `t` is not `[N, M, 5]`
 * @example
 * ```ts
 * const targets = decodeDetectionTargets(y);
 * ```
 */
export function decodeDetectionTargets(t: Tensor): GroundTruth[] {
  if (t.rank !== 3 || t.shape[2] !== 5) {
    throw new ShapeError(`decodeDetectionTargets: targets must be [N, M, 5], got [${t.shape.join(', ')}]`);
  }
  const [n, m] = t.shape as [number, number, number];
  const v = t.dataSync() as ArrayLike<number>;
  const out: GroundTruth[] = [];
  for (let i = 0; i < n; i++) {
    const boxes: number[] = [];
    const labels: number[] = [];
    for (let k = 0; k < m; k++) {
      const o = (i * m + k) * 5;
      if (v[o]! < 0) continue;
      labels.push(v[o]!);
      for (let c = 1; c < 5; c++) boxes.push(v[o + c]!);
    }
    out.push({ boxes: Float32Array.from(boxes), labels: Int32Array.from(labels) });
  }
  return out;
}

/** Options of {@link yoloMapMetric}. */
export interface YoloMapMetricOptions extends YoloHeadLayout, PostprocessOptions {
  /** Number of classes. */
  readonly numClasses: number;
  /** `'map50'` (default) or `'map'` (mAP@0.5:0.95). */
  readonly value?: 'map50' | 'map';
}

/**
 * A metric with the Trainer's `MetricFn` signature `(raw, labels) => number`: decodes the raw YOLO output,
 * runs {@link yoloPostprocess} (default score threshold 0.001, IoU 0.6, as YOLOv5 `val.py`) and returns the
 * batch's COCO mAP@0.5 (or mAP@0.5:0.95). Labels are {@link encodeDetectionTargets}' tensor. A mean of
 * per-batch mAPs is not the dataset mAP: for reporting, collect detections and call `meanAveragePrecision`
 * once.
 * @param opts - layout, class count, postprocessing, which value
 * @returns the metric function
 * @throws {InvalidArgumentError} on a bad class count
 * @example
 * ```ts
 * const metric = yoloMapMetric({ imageSize: 64, numClasses: 3 });
 * metric(model.call(images), encodeDetectionTargets(targets)); // e.g. 0.42
 * ```
 */
export function yoloMapMetric(opts: YoloMapMetricOptions): (raw: Tensor, labels: Tensor) => number {
  if (!Number.isInteger(opts?.numClasses) || opts.numClasses < 1) {
    throw new InvalidArgumentError(
      `yoloMapMetric: 'numClasses' must be a positive integer, got ${String(opts?.numClasses)}`,
    );
  }
  return (raw, labels) =>
    noGrad(() => {
      const dec = decodeYolo(raw, opts);
      try {
        const dets = yoloPostprocess(dec.dataSync() as Float32Array, dec.shape, {
          scoreThreshold: opts.scoreThreshold ?? 0.001,
          iouThreshold: opts.iouThreshold ?? 0.6,
          maxDetections: opts.maxDetections ?? 300,
        });
        const r = meanAveragePrecision(dets, decodeDetectionTargets(labels), { numClasses: opts.numClasses });
        const v = opts.value === 'map' ? r.map : r.map50;
        return Number.isNaN(v) ? 0 : v;
      } finally {
        dec.dispose();
      }
    });
}

/**
 * {@link yoloLoss} with the Trainer's `lossFn` signature `(raw, labels) => scalar`, labels being
 * {@link encodeDetectionTargets}' tensor.
 * @param opts - as {@link yoloLoss}
 * @returns the loss function
 * @example
 * ```ts
 * const lossFn = yoloLossFn({ imageSize: 64, numClasses: 3 });
 * lossFn(model.call(images), encodeDetectionTargets(targets)).backward();
 * ```
 */
export function yoloLossFn(opts: Parameters<typeof yoloLoss>[2]): (raw: Tensor, labels: Tensor) => Tensor {
  return (raw, labels) => yoloLoss(raw, decodeDetectionTargets(labels), opts).loss;
}
