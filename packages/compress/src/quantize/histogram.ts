import { InvalidArgumentError } from '@tinyvision/tensor';

/**
 * A histogram over `[lo, hi]` that widens its range (re-binning the old counts by bin centre) when new data
 * falls outside it. The building block of the percentile, MSE and KL observers.
 * @internal
 */
export class RangeHistogram {
  /** Counts per bin. */
  counts: Float64Array;
  /** Lower edge. */
  lo = Number.POSITIVE_INFINITY;
  /** Upper edge. */
  hi = Number.NEGATIVE_INFINITY;

  /** @param bins - number of bins */
  constructor(readonly bins: number) {
    if (!Number.isInteger(bins) || bins < 8) {
      throw new InvalidArgumentError(`observer: 'bins' must be an integer ≥ 8, got ${bins}`);
    }
    this.counts = new Float64Array(bins);
  }

  /** Total count. */
  get total(): number {
    let s = 0;
    for (const c of this.counts) s += c;
    return s;
  }

  /** Width of one bin. */
  get width(): number {
    return (this.hi - this.lo) / this.bins;
  }

  /**
   * Adds values (NaN ignored).
   * @param v - values
   * @param start - first index
   * @param stride - step between values
   * @param n - how many values
   */
  add(v: ArrayLike<number>, start = 0, stride = 1, n = v.length): void {
    let mn = Number.POSITIVE_INFINITY;
    let mx = Number.NEGATIVE_INFINITY;
    for (let i = 0, j = start; i < n; i++, j += stride) {
      const x = v[j]!;
      if (x < mn) mn = x;
      if (x > mx) mx = x;
    }
    if (!(mn <= mx)) return;
    if (mn < this.lo || mx > this.hi) this.widen(Math.min(mn, this.lo), Math.max(mx, this.hi));
    const w = this.width;
    const last = this.bins - 1;
    for (let i = 0, j = start; i < n; i++, j += stride) {
      const x = v[j]!;
      if (Number.isNaN(x)) continue;
      const b = w > 0 ? Math.min(last, Math.max(0, Math.floor((x - this.lo) / w))) : 0;
      this.counts[b]! += 1;
    }
  }

  private widen(lo: number, hi: number): void {
    if (hi === lo) hi = lo + 1e-8;
    const old = this.counts;
    const oldLo = this.lo;
    const oldW = this.width;
    this.counts = new Float64Array(this.bins);
    const hadData = Number.isFinite(oldLo);
    this.lo = lo;
    this.hi = hi;
    if (!hadData) return;
    const w = this.width;
    for (let i = 0; i < old.length; i++) {
      if (old[i] === 0) continue;
      const centre = oldLo + (i + 0.5) * oldW;
      const b = Math.min(this.bins - 1, Math.max(0, Math.floor((centre - lo) / w)));
      this.counts[b]! += old[i]!;
    }
  }

  /**
   * The value below which fraction `q` of the counts lie (linear within a bin).
   * @param q - fraction in [0, 1]
   * @returns the quantile
   */
  quantile(q: number): number {
    const target = q * this.total;
    let acc = 0;
    for (let i = 0; i < this.bins; i++) {
      const c = this.counts[i]!;
      if (acc + c >= target && c > 0) {
        const f = (target - acc) / c;
        return this.lo + (i + Math.min(1, Math.max(0, f))) * this.width;
      }
      acc += c;
    }
    return this.hi;
  }
}

/**
 * Expected squared quantization error of the histogram's data for a range `[lo, hi]` quantized with `levels`
 * steps: uniform rounding noise `Δ²/12` inside, the squared clipping distance (from each bin centre) outside.
 * @internal
 */
export function histogramMse(h: RangeHistogram, lo: number, hi: number, levels: number): number {
  const delta = (hi - lo) / levels;
  const noise = (delta * delta) / 12;
  let err = 0;
  const w = h.width;
  for (let i = 0; i < h.bins; i++) {
    const c = h.counts[i]!;
    if (c === 0) continue;
    const x = h.lo + (i + 0.5) * w;
    if (x < lo) err += c * (lo - x) ** 2;
    else if (x > hi) err += c * (x - hi) ** 2;
    else err += c * noise;
  }
  return err;
}

/**
 * MSE-optimal range: the lower and upper ends of the histogram's `[min, max]` (always containing 0) are each
 * shrunk by a factor searched on a 40 × 40 grid in (0, 1], then refined on a finer grid around the best pair,
 * minimising {@link histogramMse}.
 * @internal
 */
export function mseRange(h: RangeHistogram, levels: number): [number, number] {
  const lo0 = Math.min(h.lo, 0);
  const hi0 = Math.max(h.hi, 0);
  let best: [number, number] = [lo0, hi0];
  let bestErr = histogramMse(h, lo0, hi0, levels);
  const search = (aFrom: number, aTo: number, bFrom: number, bTo: number, steps: number) => {
    for (let i = 0; i <= steps; i++) {
      const a = aFrom + ((aTo - aFrom) * i) / steps;
      for (let j = 0; j <= steps; j++) {
        const b = bFrom + ((bTo - bFrom) * j) / steps;
        const lo = lo0 * a;
        const hi = hi0 * b;
        if (!(hi - lo > 0)) continue;
        const e = histogramMse(h, lo, hi, levels);
        if (e < bestErr) {
          bestErr = e;
          best = [lo, hi];
        }
      }
    }
  };
  search(0.025, 1, 0.025, 1, 39);
  const a0 = lo0 < 0 ? best[0] / lo0 : 1;
  const b0 = hi0 > 0 ? best[1] / hi0 : 1;
  const clamp = (v: number) => Math.min(1, Math.max(0.001, v));
  search(clamp(a0 - 0.025), clamp(a0 + 0.025), clamp(b0 - 0.025), clamp(b0 + 0.025), 10);
  return best;
}

/** MXNet's `_smooth_distribution`: moves `eps` of mass onto empty bins so the KL divergence stays finite. */
function smooth(p: Float64Array, eps = 1e-4): Float64Array {
  let zeros = 0;
  for (const v of p) if (v === 0) zeros++;
  const nonzeros = p.length - zeros;
  if (nonzeros === 0) return p;
  const eps1 = (eps * zeros) / nonzeros;
  return p.map((v) => (v === 0 ? eps : v - eps1));
}

/** KL divergence of two unnormalised distributions over the same bins. */
function kl(p0: Float64Array, q0: Float64Array): number {
  const p = smooth(p0);
  const q = smooth(q0);
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    sp += p[i]!;
    sq += q[i]!;
  }
  if (!(sp > 0) || !(sq > 0)) return Number.POSITIVE_INFINITY;
  let d = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    if (pi <= 0) continue;
    const qi = q[i]! / sq;
    if (qi <= 0) return Number.POSITIVE_INFINITY;
    d += pi * Math.log(pi / qi);
  }
  return d;
}

/**
 * TensorRT-style entropy calibration: over a histogram of `|x|` (bins from 0), picks the clipping threshold
 * `t` minimising `KL(P‖Q)`, where `P` is the histogram cut at `t` with the outliers folded into its last bin and
 * `Q` is `P` merged into `levels` quantization bins and expanded back over its non-empty bins.
 * @param abs - histogram of absolute values (its `lo` must be 0)
 * @param levels - quantization bins (128 for a signed int8 range, 256 for a one-sided one)
 * @returns the threshold
 * @internal
 */
export function klThreshold(abs: RangeHistogram, levels: number): number {
  const n = abs.bins;
  const w = abs.width;
  if (!(w > 0) || n <= levels) return abs.hi;
  let bestI = n;
  let best = Number.POSITIVE_INFINITY;
  for (let i = levels; i <= n; i++) {
    const p = abs.counts.slice(0, i);
    let outliers = 0;
    for (let j = i; j < n; j++) outliers += abs.counts[j]!;
    p[i - 1]! += outliers;
    // Q: the i reference bins (without the outliers) merged into `levels` bins, each merged count spread
    // evenly over the bins where P is non-zero.
    const q = new Float64Array(i);
    const per = Math.floor(i / levels);
    for (let k = 0; k < levels; k++) {
      const a = k * per;
      const b = k === levels - 1 ? i : a + per;
      let sum = 0;
      let nonzero = 0;
      for (let j = a; j < b; j++) {
        sum += abs.counts[j]!;
        if (p[j]! > 0) nonzero++;
      }
      if (nonzero === 0) continue;
      for (let j = a; j < b; j++) if (p[j]! > 0) q[j] = sum / nonzero;
    }
    const d = kl(p, q);
    if (d < best) {
      best = d;
      bestI = i;
    }
  }
  return Math.min(abs.hi, (bestI + 0.5) * w);
}
