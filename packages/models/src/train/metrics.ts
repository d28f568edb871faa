import { argMax, InvalidArgumentError, type Tensor } from '@tinyvision/tensor';

function hostInts(v: Tensor | ArrayLike<number>, name: string, op: string): ArrayLike<number> {
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return v as ArrayLike<number>;
  const t = v as Tensor;
  if (typeof t.dataSync !== 'function') {
    throw new InvalidArgumentError(`${op}: '${name}' must be a tensor or an array of class indices`);
  }
  if (t.rank !== 1) throw new InvalidArgumentError(`${op}: '${name}' must have rank 1, got rank ${t.rank}`);
  return t.dataSync() as ArrayLike<number>;
}

/**
 * Predicted class of each row of `[N, C]` logits (the first index on ties).
 * @param logits - `[N, C]` float logits
 * @returns `N` class indices
 * @throws {InvalidArgumentError} when `logits` is not rank 2
 * @example
 * ```ts
 * predictClasses(tensor([[0, 2], [3, 1]])); // Int32Array [1, 0]
 * ```
 */
export function predictClasses(logits: Tensor): Int32Array {
  if (logits.rank !== 2) {
    throw new InvalidArgumentError(
      `predictClasses: 'logits' must have rank 2 [N, C], got rank ${logits.rank}`,
    );
  }
  const idx = argMax(logits, { axis: 1 });
  try {
    return Int32Array.from(idx.dataSync() as ArrayLike<number>);
  } finally {
    idx.dispose();
  }
}

/**
 * Number of rows whose arg-max matches the label.
 * @param logits - `[N, C]` float logits
 * @param labels - `N` class indices (int tensor or array)
 * @returns the count of correct predictions
 * @throws {InvalidArgumentError} when the shapes do not match
 * @example
 * ```ts
 * countCorrect(tensor([[0, 2], [3, 1]]), [1, 1]); // 1
 * ```
 */
export function countCorrect(logits: Tensor, labels: Tensor | ArrayLike<number>): number {
  const pred = predictClasses(logits);
  const y = hostInts(labels, 'labels', 'countCorrect');
  if (y.length !== pred.length) {
    throw new InvalidArgumentError(
      `countCorrect: 'labels' has ${y.length} entries, 'logits' has ${pred.length} rows`,
    );
  }
  let n = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === y[i]) n++;
  return n;
}

/**
 * Top-1 accuracy: the fraction of rows whose arg-max equals the label (0 for an empty batch).
 * @param logits - `[N, C]` float logits
 * @param labels - `N` class indices (int tensor or array)
 * @returns accuracy in [0, 1]
 * @throws {InvalidArgumentError} when the shapes do not match
 * @example
 * ```ts
 * top1Accuracy(tensor([[0, 2], [3, 1]]), [1, 1]); // 0.5
 * ```
 */
export function top1Accuracy(logits: Tensor, labels: Tensor | ArrayLike<number>): number {
  const n = logits.rank === 2 ? logits.shape[0]! : 0;
  const correct = countCorrect(logits, labels);
  return n === 0 ? 0 : correct / n;
}

/**
 * Confusion matrix: `m[t][p]` counts samples of true class `t` predicted as `p` (rows are true classes).
 * @param pred - predicted class indices (tensor or array)
 * @param labels - true class indices, same length
 * @param numClasses - number of classes
 * @returns `numClasses` rows of `numClasses` counts
 * @throws {InvalidArgumentError} on a length mismatch, an invalid `numClasses` or an index out of range
 * @example
 * ```ts
 * confusionMatrix([0, 1, 1], [0, 0, 1], 2); // [Int32Array [1, 1], Int32Array [0, 1]]
 * ```
 */
export function confusionMatrix(
  pred: Tensor | ArrayLike<number>,
  labels: Tensor | ArrayLike<number>,
  numClasses: number,
): Int32Array[] {
  const op = 'confusionMatrix';
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new InvalidArgumentError(`${op}: 'numClasses' must be a positive integer, got ${numClasses}`);
  }
  const p = hostInts(pred, 'pred', op);
  const y = hostInts(labels, 'labels', op);
  if (p.length !== y.length) {
    throw new InvalidArgumentError(`${op}: 'pred' has ${p.length} entries but 'labels' has ${y.length}`);
  }
  const m = Array.from({ length: numClasses }, () => new Int32Array(numClasses));
  for (let i = 0; i < p.length; i++) {
    const t = y[i]!;
    const q = p[i]!;
    if (
      !(Number.isInteger(t) && t >= 0 && t < numClasses && Number.isInteger(q) && q >= 0 && q < numClasses)
    ) {
      throw new InvalidArgumentError(
        `${op}: entry ${i} (label ${t}, pred ${q}) is outside [0, ${numClasses}) for numClasses ${numClasses}`,
      );
    }
    m[t]![q]!++;
  }
  return m;
}

/**
 * Per-class accuracy (recall) from a confusion matrix: diagonal over row sum; `NaN` for a class with no samples.
 * @param confusion - rows of true classes, as returned by {@link confusionMatrix}
 * @returns one accuracy per class
 * @example
 * ```ts
 * perClassAccuracy(confusionMatrix([0, 1, 1], [0, 0, 1], 2)); // [0.5, 1]
 * ```
 */
export function perClassAccuracy(confusion: readonly ArrayLike<number>[]): number[] {
  return confusion.map((row, t) => {
    let total = 0;
    for (let j = 0; j < row.length; j++) total += row[j]!;
    return total === 0 ? Number.NaN : row[t]! / total;
  });
}
