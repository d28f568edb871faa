import { InvalidArgumentError, type QuantParams, type Tensor } from '@tinyvision/tensor';
import { chooseQParams } from '@tinyvision/tensor/internal';
import { klThreshold, mseRange, RangeHistogram } from './histogram.js';

/**
 * How an observer turns the values it saw into a range:
 * - `'minmax'`: running minimum and maximum;
 * - `'moving-average'`: exponential moving average of each batch's min and max (`torch.ao` MovingAverageMinMax);
 * - `'percentile'`: the `percentile` and `100 − percentile` quantiles of a histogram;
 * - `'mse'`: the histogram range shrunk to minimise the expected squared quantization error;
 * - `'kl'`: TensorRT's entropy calibration (the clipping threshold minimising KL divergence).
 */
export type ObserverKind = 'minmax' | 'moving-average' | 'percentile' | 'mse' | 'kl';

/** The observer kinds, in documentation order. */
export const OBSERVER_KINDS: readonly ObserverKind[] = [
  'minmax',
  'moving-average',
  'percentile',
  'mse',
  'kl',
];

/** Options of {@link createObserver}. */
export interface ObserverOptions {
  /** Range estimator (default `'minmax'`). */
  readonly kind?: ObserverKind;
  /** Channel axis for per-channel ranges; per-tensor when undefined. Negative values count from the end. */
  readonly axis?: number;
  /** Symmetric ranges (`[-a, a]`, zero point 0) instead of affine (default false). */
  readonly symmetric?: boolean;
  /** Smallest integer (default -128). */
  readonly qmin?: number;
  /** Largest integer (default 127). */
  readonly qmax?: number;
  /** Moving-average weight of a new batch (default 0.01, as torch). */
  readonly averagingConstant?: number;
  /** Percentile for `'percentile'` (default 99.99). */
  readonly percentile?: number;
  /** Histogram bins for `'percentile'`, `'mse'` and `'kl'` (default 2048). */
  readonly bins?: number;
}

/** Collects statistics of the tensors it is shown and derives quantization parameters from them. */
export interface Observer {
  /** The estimator. */
  readonly kind: ObserverKind;
  /** The channel axis (non-negative once a tensor was seen), or undefined when per-tensor. */
  readonly axis: number | undefined;
  /** How many tensors were observed. */
  readonly count: number;
  /**
   * Records the values of a float tensor (or of raw data with its shape).
   * @param x - a float tensor, or float data
   * @param shape - the shape of `x` when it is raw data
   */
  observe(x: Tensor | ArrayLike<number>, shape?: readonly number[]): void;
  /**
   * The estimated `[min, max]` per channel (one entry when per-tensor), always containing 0.
   * @returns the ranges
   */
  ranges(): Array<[number, number]>;
  /**
   * Quantization parameters of the estimated ranges.
   * @returns per-tensor or per-channel parameters
   */
  qparams(): QuantParams;
}

interface ChannelState {
  min: number;
  max: number;
  hist: RangeHistogram | null;
  absHist: RangeHistogram | null;
}

/** Checks observer options; returns the resolved integer range. */
function resolveOptions(opts: ObserverOptions): Required<Omit<ObserverOptions, 'axis'>> {
  const kind = opts.kind ?? 'minmax';
  if (!OBSERVER_KINDS.includes(kind)) {
    throw new InvalidArgumentError(
      `observer: 'kind' must be one of ${OBSERVER_KINDS.join(', ')}, got ${kind}`,
    );
  }
  const qmin = opts.qmin ?? -128;
  const qmax = opts.qmax ?? 127;
  if (!Number.isInteger(qmin) || !Number.isInteger(qmax) || qmin >= qmax) {
    throw new InvalidArgumentError(`observer: need integers qmin < qmax, got [${qmin}, ${qmax}]`);
  }
  const c = opts.averagingConstant ?? 0.01;
  if (!(c > 0 && c <= 1)) {
    throw new InvalidArgumentError(`observer: 'averagingConstant' must be in (0, 1], got ${c}`);
  }
  const p = opts.percentile ?? 99.99;
  if (!(p > 50 && p <= 100)) {
    throw new InvalidArgumentError(`observer: 'percentile' must be in (50, 100], got ${p}`);
  }
  const bins = opts.bins ?? 2048;
  if (!Number.isInteger(bins) || bins < 256) {
    throw new InvalidArgumentError(`observer: 'bins' must be an integer ≥ 256, got ${bins}`);
  }
  return {
    kind,
    symmetric: opts.symmetric ?? false,
    qmin,
    qmax,
    averagingConstant: c,
    percentile: p,
    bins,
  };
}

class ObserverImpl implements Observer {
  readonly kind: ObserverKind;
  axis: number | undefined;
  count = 0;
  private readonly o: Required<Omit<ObserverOptions, 'axis'>>;
  private channels: ChannelState[] = [];

  constructor(opts: ObserverOptions) {
    this.o = resolveOptions(opts);
    this.kind = this.o.kind;
    this.axis = opts.axis;
  }

  observe(x: Tensor | ArrayLike<number>, shape?: readonly number[]): void {
    let data: ArrayLike<number>;
    let dims: readonly number[];
    if (isTensor(x)) {
      data = x.toFloat32();
      dims = x.shape;
    } else {
      data = x;
      dims = shape ?? [x.length];
    }
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) {
      throw new InvalidArgumentError(
        `observer: shape [${dims.join(', ')}] does not hold ${data.length} values`,
      );
    }
    if (size === 0) return;
    let nch = 1;
    let inner = size;
    let outer = 1;
    if (this.axis !== undefined) {
      const ax = this.axis < 0 ? this.axis + dims.length : this.axis;
      if (ax < 0 || ax >= dims.length) {
        throw new InvalidArgumentError(
          `observer: axis ${this.axis} out of range for shape [${dims.join(', ')}]`,
        );
      }
      this.axis = ax;
      nch = dims[ax]!;
      inner = dims.slice(ax + 1).reduce((a, b) => a * b, 1);
      outer = size / (nch * inner);
    }
    if (this.channels.length === 0) {
      this.channels = Array.from({ length: nch }, () => ({
        min: Number.POSITIVE_INFINITY,
        max: Number.NEGATIVE_INFINITY,
        hist: null,
        absHist: null,
      }));
    } else if (this.channels.length !== nch) {
      throw new InvalidArgumentError(
        `observer: saw ${this.channels.length} channels before, now ${nch} (shape [${dims.join(', ')}])`,
      );
    }
    for (let c = 0; c < nch; c++) {
      const vals = gatherChannel(data, c, nch, inner, outer);
      this.update(this.channels[c]!, vals);
    }
    this.count++;
  }

  private update(s: ChannelState, vals: Float64Array): void {
    let mn = Number.POSITIVE_INFINITY;
    let mx = Number.NEGATIVE_INFINITY;
    for (const v of vals) {
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    if (!(mn <= mx)) return; // all NaN
    if (this.kind === 'moving-average' && Number.isFinite(s.min)) {
      const c = this.o.averagingConstant;
      s.min += c * (mn - s.min);
      s.max += c * (mx - s.max);
    } else {
      s.min = Math.min(s.min, mn);
      s.max = Math.max(s.max, mx);
    }
    if (this.kind === 'percentile' || this.kind === 'mse') {
      s.hist ??= new RangeHistogram(this.o.bins);
      s.hist.add(vals);
    } else if (this.kind === 'kl') {
      s.absHist ??= new RangeHistogram(this.o.bins);
      const abs = vals.map(Math.abs);
      // Anchor the histogram at 0 so bin i covers [i·w, (i+1)·w).
      if (!Number.isFinite(s.absHist.lo)) s.absHist.add([0]);
      s.absHist.add(abs);
    }
  }

  ranges(): Array<[number, number]> {
    if (this.channels.length === 0 || this.count === 0) {
      throw new InvalidArgumentError('observer: no values observed yet');
    }
    const levels = this.o.qmax - this.o.qmin;
    return this.channels.map((s): [number, number] => {
      let lo = s.min;
      let hi = s.max;
      if (!Number.isFinite(lo)) return [0, 0];
      if (this.kind === 'percentile' && s.hist) {
        const p = this.o.percentile / 100;
        lo = s.hist.quantile(1 - p);
        hi = s.hist.quantile(p);
      } else if (this.kind === 'mse' && s.hist) {
        [lo, hi] = mseRange(s.hist, levels);
      } else if (this.kind === 'kl' && s.absHist) {
        // The anchor 0 added to the histogram is one extra count; it does not matter for the threshold.
        const oneSided = s.min >= 0 || s.max <= 0;
        const t = klThreshold(s.absHist, oneSided ? Math.min(256, levels + 1) : Math.ceil((levels + 1) / 2));
        lo = s.min >= 0 ? 0 : -t;
        hi = s.max <= 0 ? 0 : t;
      }
      return [Math.min(lo, 0), Math.max(hi, 0)];
    });
  }

  qparams(): QuantParams {
    const rs = this.ranges();
    const { qmin, qmax, symmetric } = this.o;
    const ps = rs.map(([lo, hi]) => chooseQParams(lo, hi, { qmin, qmax, symmetric }));
    const scale = ps.map((p) => p.scale[0]!);
    const zeroPoint = ps.map((p) => p.zeroPoint[0]!);
    return this.axis === undefined ? { scale, zeroPoint } : { scale, zeroPoint, axis: this.axis };
  }
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'toFloat32' in x && 'shape' in x;
}

/** The values of channel `c` of data laid out as `[outer, nch, inner]`. */
function gatherChannel(
  data: ArrayLike<number>,
  c: number,
  nch: number,
  inner: number,
  outer: number,
): Float64Array {
  const out = new Float64Array(outer * inner);
  let k = 0;
  for (let o = 0; o < outer; o++) {
    const base = (o * nch + c) * inner;
    for (let i = 0; i < inner; i++) out[k++] = data[base + i]!;
  }
  return out;
}

/**
 * Creates a range observer (per-tensor, or per-channel along `axis`) for post-training calibration.
 * @param opts - estimator kind, axis, symmetric, integer range and estimator settings
 * @returns a fresh observer
 * @throws {InvalidArgumentError} on an unknown kind or an out-of-range setting
 * @example
 * ```ts
 * const obs = createObserver({ kind: 'percentile', percentile: 99.9 });
 * for (const x of batches) obs.observe(x);
 * const q = obs.qparams(); // { scale: [s], zeroPoint: [z] }
 * ```
 */
export function createObserver(opts: ObserverOptions = {}): Observer {
  return new ObserverImpl(opts);
}
