/** Closeness rule: |a − e| ≤ atol + rtol·|e|. */
export interface Tolerance {
  /** Relative tolerance. */
  readonly rtol: number;
  /** Absolute tolerance. */
  readonly atol: number;
}

/** First mismatch found by {@link compareClose}. */
export interface Mismatch {
  /** Flat index of the first mismatch. */
  readonly index: number;
  /** Value computed. */
  readonly actual: number;
  /** Value expected. */
  readonly expected: number;
  /** How many elements mismatch. */
  readonly count: number;
}

/**
 * Compares two arrays elementwise. NaN equals NaN; infinities must match exactly.
 * @param a - actual values
 * @param e - expected values
 * @param tol - tolerance
 * @returns the first mismatch, or null when all are close
 * @example
 * ```ts
 * compareClose([1, 2], [1, 2.000001], { rtol: 1e-5, atol: 0 }); // null
 * ```
 */
export function compareClose(a: ArrayLike<number>, e: ArrayLike<number>, tol: Tolerance): Mismatch | null {
  let first = -1;
  let count = 0;
  if (a.length !== e.length) return { index: -1, actual: a.length, expected: e.length, count: 1 };
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = e[i]!;
    const ok = Number.isNaN(y)
      ? Number.isNaN(x)
      : !Number.isFinite(y)
        ? x === y
        : Math.abs(x - y) <= tol.atol + tol.rtol * Math.abs(y);
    if (!ok) {
      if (first < 0) first = i;
      count++;
    }
  }
  return first < 0 ? null : { index: first, actual: a[first]!, expected: e[first]!, count };
}
