import {
  add,
  bceWithLogits,
  ciouLoss,
  concat,
  fromStorage,
  gather,
  InvalidArgumentError,
  mul,
  narrow,
  noGrad,
  reshape,
  ShapeError,
  sigmoid,
  square,
  squeeze,
  sub,
  sum,
  type Tensor,
} from '@tinyvision/tensor';
import { checkRaw, type ResolvedLayout, resolveLayout, type YoloHeadLayout } from './decode.js';
import type { GroundTruth } from './map.js';

/** One positive sample chosen by {@link assignYoloTargets}. */
export interface YoloAssignment {
  /** Image index. */
  readonly image: number;
  /** Level index. */
  readonly level: number;
  /** Anchor index within the level. */
  readonly anchor: number;
  /** Grid column. */
  readonly gi: number;
  /** Grid row. */
  readonly gj: number;
  /** Row in the `[N, rows, no]` prediction tensor of that image. */
  readonly row: number;
  /** Target class. */
  readonly label: number;
  /** Target box `cx, cy, w, h` in grid units, `cx, cy` relative to the cell corner `(gi, gj)`. */
  readonly box: readonly [number, number, number, number];
  /** Anchor `w, h` in grid units. */
  readonly anchorWh: readonly [number, number];
}

/** Options of {@link assignYoloTargets}. */
export interface AssignOptions extends YoloHeadLayout {
  /** Largest allowed ratio between a target side and an anchor side (default 4, YOLOv5 `anchor_t`). */
  readonly anchorThreshold?: number;
}

/**
 * YOLOv5 target assignment (`ComputeLoss.build_targets`): on every level, a ground-truth box is matched to each
 * anchor whose width and height ratios to it are below `anchorThreshold` (both ways), and assigned to the grid
 * cell holding its centre plus the two neighbouring cells nearest to the centre (left/right and up/down by
 * the centre's position within the cell; none across the image border).
 * @param targets - per image: boxes `x1, y1, x2, y2` in pixels and labels
 * @param opts - image size, anchors, strides, anchor threshold
 * @returns positives grouped by level, in YOLOv5's order (offset group → anchor → target)
 * @throws {InvalidArgumentError} on a bad layout or threshold
 * @example
 * ```ts
 * const pos = assignYoloTargets(targets, { imageSize: 128 });
 * ```
 */
export function assignYoloTargets(targets: readonly GroundTruth[], opts: AssignOptions): YoloAssignment[][] {
  const L = resolveLayout(opts, 'assignYoloTargets');
  const thr = opts.anchorThreshold ?? 4;
  if (!(thr > 1))
    throw new InvalidArgumentError(`assignYoloTargets: 'anchorThreshold' must be > 1, got ${thr}`);
  return assignResolved(targets, L, thr);
}

const OFFSETS: readonly (readonly [number, number])[] = [
  [0, 0],
  [1, 0],
  [0, 1],
  [-1, 0],
  [0, -1],
];

function assignResolved(targets: readonly GroundTruth[], L: ResolvedLayout, thr: number): YoloAssignment[][] {
  const g = 0.5;
  return L.levels.map(({ ny, nx, na, offset }, li) => {
    const s = L.strides[li]!;
    // YOLOv5 keeps, per offset group, the (anchor, target) pairs in anchor-major order.
    const groups: YoloAssignment[][] = OFFSETS.map(() => []);
    for (let a = 0; a < na; a++) {
      const aw = L.anchors[li]![a]![0] / s;
      const ah = L.anchors[li]![a]![1] / s;
      targets.forEach((t, b) => {
        for (let k = 0; k < t.labels.length; k++) {
          const x1 = t.boxes[4 * k]!;
          const y1 = t.boxes[4 * k + 1]!;
          const x2 = t.boxes[4 * k + 2]!;
          const y2 = t.boxes[4 * k + 3]!;
          const gx = (x1 + x2) / 2 / s;
          const gy = (y1 + y2) / 2 / s;
          const gw = (x2 - x1) / s;
          const gh = (y2 - y1) / s;
          const rw = gw / aw;
          const rh = gh / ah;
          if (Math.max(rw, 1 / rw, rh, 1 / rh) >= thr) continue;
          const gxi = nx - gx;
          const gyi = ny - gy;
          const use = [
            true,
            gx % 1 < g && gx > 1,
            gy % 1 < g && gy > 1,
            gxi % 1 < g && gxi > 1,
            gyi % 1 < g && gyi > 1,
          ];
          OFFSETS.forEach(([ox, oy], o) => {
            if (!use[o]) return;
            const gi = Math.min(Math.max(Math.trunc(gx - ox * g), 0), nx - 1);
            const gj = Math.min(Math.max(Math.trunc(gy - oy * g), 0), ny - 1);
            groups[o]!.push({
              image: b,
              level: li,
              anchor: a,
              gi,
              gj,
              row: offset + (a * ny + gj) * nx + gi,
              label: t.labels[k]!,
              box: [gx - gi, gy - gj, gw, gh],
              anchorWh: [aw, ah],
            });
          });
        }
      });
    }
    return groups.flat();
  });
}

/** Options of {@link yoloLoss}. */
export interface YoloLossOptions extends AssignOptions {
  /** Number of classes (the raw output must have `5 + numClasses` channels). */
  readonly numClasses: number;
  /** Objectness weight per level (default `[4.0, 1.0, 0.4]`, YOLOv5 `balance`). */
  readonly balance?: readonly number[];
  /**
   * Gains of the box, objectness and class terms before YOLOv5's scaling (`box · 3/nl`, `obj · (imgsz/640)² ·
   * 3/nl`, `cls · nc/80 · 3/nl`); default `{ box: 0.05, obj: 1.0, cls: 0.5 }` (hyp.scratch-low).
   */
  readonly gains?: { readonly box?: number; readonly obj?: number; readonly cls?: number };
}

/** Result of {@link yoloLoss}. */
export interface YoloLossResult {
  /** `(box + obj + cls) · N` as YOLOv5's `ComputeLoss`, a scalar with gradients. */
  readonly loss: Tensor;
  /** The weighted box (CIoU) term. */
  readonly box: number;
  /** The weighted objectness term. */
  readonly obj: number;
  /** The weighted class term. */
  readonly cls: number;
  /** Number of positive samples. */
  readonly positives: number;
}

/**
 * The YOLOv5 training loss (`utils/loss.py ComputeLoss`): targets assigned by {@link assignYoloTargets};
 * box term `1 − CIoU` between the decoded prediction (`xy = 2σ − 0.5`, `wh = (2σ)² · anchor`, grid units) and the
 * target, averaged per level; objectness BCE against the detached, clamped CIoU at positives and 0 elsewhere,
 * averaged per level and weighted by `balance`; class BCE against one-hot targets (only when `numClasses > 1`).
 * @param raw - `[N, rows, 5 + nc]` raw predictions (e.g. `YoloNano` output in training mode)
 * @param targets - per image: boxes `x1, y1, x2, y2` in pixels and labels
 * @param opts - layout, class count, balance, gains, anchor threshold
 * @returns the scalar loss with gradients and its parts
 * @throws {ShapeError} when `raw` does not match the layout or `targets` the batch
 * @throws {InvalidArgumentError} on a bad layout, class count or label
 * @example
 * ```ts
 * const { loss } = yoloLoss(model.call(images), targets, { imageSize: 128, numClasses: 3 });
 * loss.backward();
 * ```
 */
export function yoloLoss(
  raw: Tensor,
  targets: readonly GroundTruth[],
  opts: YoloLossOptions,
): YoloLossResult {
  const op = 'yoloLoss';
  const L = resolveLayout(opts, op);
  const [n, rows, no] = checkRaw(raw, L, op);
  const nc = opts.numClasses;
  if (!Number.isInteger(nc) || nc < 1 || no !== 5 + nc) {
    throw new InvalidArgumentError(`${op}: 'numClasses' ${String(nc)} does not match ${no} output channels`);
  }
  if (targets.length !== n) throw new ShapeError(`${op}: ${targets.length} target sets for a batch of ${n}`);
  for (const [b, t] of targets.entries()) {
    for (let k = 0; k < t.labels.length; k++) {
      const l = t.labels[k]!;
      if (!Number.isInteger(l) || l < 0 || l >= nc) {
        throw new InvalidArgumentError(`${op}: image ${b} label ${l} is not in [0, ${nc})`);
      }
    }
  }
  const nl = L.levels.length;
  const balance = opts.balance ?? (nl === 3 ? [4.0, 1.0, 0.4] : [4.0, 1.0, 0.25, 0.06, 0.02]);
  const thr = opts.anchorThreshold ?? 4;
  const gBox = (opts.gains?.box ?? 0.05) * (3 / nl);
  const gObj = ((opts.gains?.obj ?? 1.0) * ((Math.max(L.h, L.w) / 640) ** 2 * 3)) / nl;
  const gCls = ((opts.gains?.cls ?? 0.5) * ((nc / 80) * 3)) / nl;
  const pos = assignResolved(targets, L, thr).flat();
  const M = pos.length;
  const tobj = new Float32Array(n * rows);
  const objW = new Float32Array(rows);
  L.levels.forEach(({ ny, nx, na, offset }, li) => {
    objW.fill(balance[li]! / (n * na * ny * nx), offset, offset + na * ny * nx);
  });
  const perLevel = new Array<number>(nl).fill(0);
  for (const p of pos) perLevel[p.level]!++;
  const objLogits = squeeze(narrow(raw, 2, 4, 1), 2);
  let lbox: Tensor | null = null;
  let lcls: Tensor | null = null;
  if (M > 0) {
    const idx = Int32Array.from(pos, (p) => p.image * rows + p.row);
    const ps = gather(reshape(raw, [n * rows, no]), fromStorage(idx, [M], 'int32'), 0);
    const anc = new Float32Array(M * 2);
    const tMin = new Float32Array(M * 2);
    const tMax = new Float32Array(M * 2);
    const wBox = new Float32Array(M);
    pos.forEach((p, m) => {
      anc.set(p.anchorWh, 2 * m);
      const [cx, cy, w, h] = p.box;
      tMin.set([cx - w / 2, cy - h / 2], 2 * m);
      tMax.set([cx + w / 2, cy + h / 2], 2 * m);
      wBox[m] = 1 / perLevel[p.level]!;
    });
    const sxy = sub(mul(sigmoid(narrow(ps, 1, 0, 2)), 2), 0.5);
    const swh = mul(square(mul(sigmoid(narrow(ps, 1, 2, 2)), 2)), fromStorage(anc, [M, 2], 'float32'));
    const half = mul(swh, 0.5);
    // CIoU is translation invariant: both boxes are shifted so the prediction is centred at 0. Its width is
    // then exactly 2·half (x2 − x1 of a tiny box around its centre would cancel to 0 and make the aspect
    // term 0/0; YOLOv5 reads w, h directly for the same reason).
    const pbox = concat([mul(half, -1), half], 1);
    const tbox = concat(
      [sub(fromStorage(tMin, [M, 2], 'float32'), sxy), sub(fromStorage(tMax, [M, 2], 'float32'), sxy)],
      1,
    );
    const ciou = ciouLoss(pbox, tbox);
    lbox = mul(sum(mul(ciou, fromStorage(wBox, [M], 'float32'))), gBox);
    const iouVals = noGrad(() => ciou.dataSync() as Float32Array);
    pos.forEach((p, m) => {
      tobj[p.image * rows + p.row] = Math.max(1 - iouVals[m]!, 0);
    });
    if (nc > 1) {
      const onehot = new Float32Array(M * nc);
      const wCls = new Float32Array(M);
      pos.forEach((p, m) => {
        onehot[m * nc + p.label] = 1;
        wCls[m] = 1 / (perLevel[p.level]! * nc);
      });
      const clsLoss = bceWithLogits(narrow(ps, 1, 5, nc), fromStorage(onehot, [M, nc], 'float32'), {
        weight: fromStorage(wCls, [M, 1], 'float32'),
        reduction: 'sum',
      });
      lcls = mul(clsLoss, gCls);
    }
  }
  const lobj = mul(
    bceWithLogits(objLogits, fromStorage(tobj, [n, rows], 'float32'), {
      weight: fromStorage(objW, [rows], 'float32'),
      reduction: 'sum',
    }),
    gObj,
  );
  const zero = () => mul(sum(objLogits), 0);
  const parts = [lbox ?? zero(), lobj, lcls ?? zero()];
  const total = mul(add(add(parts[0]!, parts[1]!), parts[2]!), n);
  const val = (t: Tensor) => noGrad(() => t.item());
  return { loss: total, box: val(parts[0]!), obj: val(parts[1]!), cls: val(parts[2]!), positives: M };
}
