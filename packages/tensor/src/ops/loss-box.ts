// Box overlap and box-regression losses of the 'loss' family (torchvision.ops semantics, xyxy boxes).
import { noGrad } from '../engine.js';
import { InvalidArgumentError, ShapeError } from '../errors/index.js';
import { fmtShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, clip, div, greater, maximum, minimum, mul, sqrt, sub, where } from './elementwise.js';
import { narrow, reshape, squeeze } from './movement.js';
import { mean, sum } from './reduce.js';
import { assertFloat, assertTensor } from './util.js';

/** Options of the box-regression losses. */
export interface BoxLossOptions {
  /** Default 'none' (per box pair), as torchvision. */
  readonly reduction?: 'mean' | 'sum' | 'none';
  /** Added to denominators (default 1e-7). */
  readonly eps?: number;
}

function col(t: Tensor, i: number): Tensor {
  return squeeze(narrow(t, -1, i, 1), -1);
}

function checkBoxes(b: Tensor, arg: string, op: string): void {
  assertTensor(b, arg, op);
  assertFloat(b, arg, op);
  if (b.rank === 0 || b.shape[b.rank - 1] !== 4) {
    throw new ShapeError(`${op}: '${arg}' shape ${fmtShape(b.shape)} must end in 4 (x1, y1, x2, y2)`);
  }
}

/**
 * Pairwise intersection-over-union of two sets of `(x1, y1, x2, y2)` boxes (`torchvision.ops.box_iou`).
 * @param boxes1 - `[N, 4]`
 * @param boxes2 - `[M, 4]`
 * @returns `[N, M]` IoU matrix
 * @throws {ShapeError} when a set is not `[K, 4]`
 * @throws {DTypeError} for non-float boxes
 * @example
 * ```ts
 * boxIoU(tensor([[0, 0, 2, 2]]), tensor([[1, 1, 3, 3], [0, 0, 2, 2]])).toArray(); // [[1/7, 1]]
 * ```
 */
export function boxIoU(boxes1: Tensor, boxes2: Tensor): Tensor {
  const op = 'boxIoU';
  checkBoxes(boxes1, 'boxes1', op);
  checkBoxes(boxes2, 'boxes2', op);
  if (boxes1.rank !== 2 || boxes2.rank !== 2) {
    throw new ShapeError(
      `${op}: boxes must be [N, 4] and [M, 4], got ${fmtShape(boxes1.shape)} and ${fmtShape(boxes2.shape)}`,
    );
  }
  const n = boxes1.shape[0]!;
  const area = (b: Tensor) => mul(sub(col(b, 2), col(b, 0)), sub(col(b, 3), col(b, 1)));
  const a1 = reshape(boxes1, [n, 1, 4]);
  const lt = maximum(narrow(a1, -1, 0, 2), narrow(boxes2, -1, 0, 2));
  const rb = minimum(narrow(a1, -1, 2, 2), narrow(boxes2, -1, 2, 2));
  const wh = clip(sub(rb, lt), { min: 0 });
  const inter = mul(col(wh, 0), col(wh, 1));
  const union = sub(add(reshape(area(boxes1), [n, 1]), area(boxes2)), inter);
  return div(inter, union);
}

interface PairTerms {
  iou: Tensor;
  union: Tensor;
  /** smallest enclosing box */
  enc: [Tensor, Tensor, Tensor, Tensor];
  b1: Tensor[];
  b2: Tensor[];
}

function pairTerms(boxes1: Tensor, boxes2: Tensor, eps: number, op: string): PairTerms {
  checkBoxes(boxes1, 'boxes1', op);
  checkBoxes(boxes2, 'boxes2', op);
  if (!shapesEqual(boxes1.shape, boxes2.shape) || boxes1.dtype !== boxes2.dtype) {
    throw new ShapeError(
      `${op}: 'boxes2' ${boxes2.dtype}${fmtShape(boxes2.shape)} must match 'boxes1' ${boxes1.dtype}${fmtShape(boxes1.shape)}`,
    );
  }
  if (!(eps >= 0)) throw new InvalidArgumentError(`${op}: 'eps' must be >= 0, got ${eps}`);
  const b1 = [0, 1, 2, 3].map((i) => col(boxes1, i));
  const b2 = [0, 1, 2, 3].map((i) => col(boxes2, i));
  const [x1, y1, x2, y2] = b1 as [Tensor, Tensor, Tensor, Tensor];
  const [x1g, y1g, x2g, y2g] = b2 as [Tensor, Tensor, Tensor, Tensor];
  const xk1 = maximum(x1, x1g);
  const yk1 = maximum(y1, y1g);
  const xk2 = minimum(x2, x2g);
  const yk2 = minimum(y2, y2g);
  // Zero (value and gradient) unless the boxes overlap in both axes, as torchvision's masked assignment.
  const inter = where(greater(yk2, yk1), where(greater(xk2, xk1), mul(sub(xk2, xk1), sub(yk2, yk1)), 0), 0);
  const union = sub(add(mul(sub(x2, x1), sub(y2, y1)), mul(sub(x2g, x1g), sub(y2g, y1g))), inter);
  const iou = div(inter, add(union, eps));
  const enc: PairTerms['enc'] = [minimum(x1, x1g), minimum(y1, y1g), maximum(x2, x2g), maximum(y2, y2g)];
  return { iou, union, enc, b1, b2 };
}

function reduceBox(loss: Tensor, reduction: BoxLossOptions['reduction'], op: string): Tensor {
  if (reduction === undefined || reduction === 'none') return loss;
  if (reduction === 'sum') return sum(loss);
  if (reduction === 'mean') return loss.size === 0 ? mul(sum(loss), 0) : mean(loss);
  throw new InvalidArgumentError(
    `${op}: 'reduction' must be 'mean', 'sum' or 'none', got ${String(reduction)}`,
  );
}

/**
 * IoU loss `1 − IoU` of paired `(x1, y1, x2, y2)` boxes, with `IoU = inter / (union + eps)` as torchvision's
 * box losses compute it.
 * @param boxes1 - `[..., 4]` predicted boxes
 * @param boxes2 - target boxes of the same shape
 * @param opts - reduction (default 'none') and eps (1e-7)
 * @returns per-pair losses `[...]`, or a scalar
 * @throws {ShapeError} when the shapes differ or do not end in 4
 * @throws {DTypeError} for non-float boxes
 * @example
 * ```ts
 * iouLoss(pred, target, { reduction: 'mean' }).backward();
 * ```
 */
export function iouLoss(boxes1: Tensor, boxes2: Tensor, opts: BoxLossOptions = {}): Tensor {
  const { iou } = pairTerms(boxes1, boxes2, opts.eps ?? 1e-7, 'iouLoss');
  return reduceBox(sub(1, iou), opts.reduction, 'iouLoss');
}

/**
 * Generalized-IoU loss (`torchvision.ops.generalized_box_iou_loss`): `1 − IoU + (C − union)/(C + eps)` with `C`
 * the area of the smallest enclosing box.
 * @param boxes1 - `[..., 4]` predicted boxes
 * @param boxes2 - target boxes of the same shape
 * @param opts - reduction (default 'none') and eps (1e-7)
 * @returns per-pair losses, or a scalar
 * @throws {ShapeError} when the shapes differ or do not end in 4
 * @throws {DTypeError} for non-float boxes
 * @example
 * ```ts
 * giouLoss(pred, target, { reduction: 'sum' });
 * ```
 */
export function giouLoss(boxes1: Tensor, boxes2: Tensor, opts: BoxLossOptions = {}): Tensor {
  const eps = opts.eps ?? 1e-7;
  const { iou, union, enc } = pairTerms(boxes1, boxes2, eps, 'giouLoss');
  const areaC = mul(sub(enc[2], enc[0]), sub(enc[3], enc[1]));
  const giou = sub(iou, div(sub(areaC, union), add(areaC, eps)));
  return reduceBox(sub(1, giou), opts.reduction, 'giouLoss');
}

function diouTerms(boxes1: Tensor, boxes2: Tensor, eps: number, op: string): { loss: Tensor; t: PairTerms } {
  const t = pairTerms(boxes1, boxes2, eps, op);
  const [xc1, yc1, xc2, yc2] = t.enc;
  const sq = (v: Tensor) => mul(v, v);
  const diag = add(add(sq(sub(xc2, xc1)), sq(sub(yc2, yc1))), eps);
  const [x1, y1, x2, y2] = t.b1 as [Tensor, Tensor, Tensor, Tensor];
  const [x1g, y1g, x2g, y2g] = t.b2 as [Tensor, Tensor, Tensor, Tensor];
  const dx = sub(div(add(x2, x1), 2), div(add(x1g, x2g), 2));
  const dy = sub(div(add(y2, y1), 2), div(add(y1g, y2g), 2));
  const centers = add(sq(dx), sq(dy));
  return { loss: add(sub(1, t.iou), div(centers, diag)), t };
}

/**
 * Distance-IoU loss (`torchvision.ops.distance_box_iou_loss`): `1 − IoU + ρ²/c²` with `ρ` the distance of the
 * box centres and `c` the diagonal of the smallest enclosing box.
 * @param boxes1 - `[..., 4]` predicted boxes
 * @param boxes2 - target boxes of the same shape
 * @param opts - reduction (default 'none') and eps (1e-7)
 * @returns per-pair losses, or a scalar
 * @throws {ShapeError} when the shapes differ or do not end in 4
 * @throws {DTypeError} for non-float boxes
 * @example
 * ```ts
 * diouLoss(pred, target, { reduction: 'mean' });
 * ```
 */
export function diouLoss(boxes1: Tensor, boxes2: Tensor, opts: BoxLossOptions = {}): Tensor {
  const { loss } = diouTerms(boxes1, boxes2, opts.eps ?? 1e-7, 'diouLoss');
  return reduceBox(loss, opts.reduction, 'diouLoss');
}

/** Cephes atanf coefficients, valid on |x| <= tan(π/8). */
const ATAN_P = [8.05374449538e-2, -1.38776856032e-1, 1.99777106478e-1, -3.33329491539e-1];

/** atan(w / h) for w, h >= 0 (not both 0), built from smooth ops: π/4 + 2·atan(u / (1 + √(1 + u²))), u = (w−h)/(w+h). */
function atanRatio(w: Tensor, h: Tensor): Tensor {
  const u = div(sub(w, h), add(w, h));
  const x = div(u, add(sqrt(add(mul(u, u), 1)), 1));
  const z = mul(x, x);
  let p = mul(z, ATAN_P[0]!);
  for (const c of ATAN_P.slice(1)) p = mul(add(p, c), z);
  return add(mul(add(mul(p, x), x), 2), Math.PI / 4);
}

/**
 * Complete-IoU loss (`torchvision.ops.complete_box_iou_loss`, Zheng et al. 2020): the distance-IoU loss plus
 * `α·v` with `v = 4/π²·(atan(w_gt/h_gt) − atan(w/h))²` and `α = v / (1 − IoU + v + eps)` treated as a constant
 * (no gradient). Boxes must have `x1 < x2`, `y1 < y2`. `eps` is used in every denominator (torchvision uses
 * its default 1e-7 for the IoU/DIoU terms whatever `eps` is; the default is the same).
 * @param boxes1 - `[..., 4]` predicted boxes
 * @param boxes2 - target boxes of the same shape
 * @param opts - reduction (default 'none') and eps (1e-7)
 * @returns per-pair losses, or a scalar
 * @throws {ShapeError} when the shapes differ or do not end in 4
 * @throws {DTypeError} for non-float boxes
 * @example
 * ```ts
 * ciouLoss(pred, target, { reduction: 'mean' }).backward();
 * ```
 */
export function ciouLoss(boxes1: Tensor, boxes2: Tensor, opts: BoxLossOptions = {}): Tensor {
  const eps = opts.eps ?? 1e-7;
  const { loss: diou, t } = diouTerms(boxes1, boxes2, eps, 'ciouLoss');
  const [x1, y1, x2, y2] = t.b1 as [Tensor, Tensor, Tensor, Tensor];
  const [x1g, y1g, x2g, y2g] = t.b2 as [Tensor, Tensor, Tensor, Tensor];
  const d = sub(atanRatio(sub(x2g, x1g), sub(y2g, y1g)), atanRatio(sub(x2, x1), sub(y2, y1)));
  const v = mul(mul(d, d), 4 / Math.PI ** 2);
  const alpha = noGrad(() => div(v, add(add(sub(1, t.iou), v), eps)));
  return reduceBox(add(diou, mul(alpha, v)), opts.reduction, 'ciouLoss');
}
