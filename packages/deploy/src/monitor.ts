import { InvalidArgumentError } from '@tinyvision/tensor';

/** Reference distribution of input statistics, built once from representative inputs. */
export interface DriftReference {
  /** Statistic names, in order (`mean`, `std`). */
  readonly features: readonly string[];
  /** Per feature, the inner bin edges (ascending; bins are (-∞,e0], (e0,e1], …, (eK-1,∞)). */
  readonly edges: readonly (readonly number[])[];
  /** Per feature, the reference proportion in each bin (sums to 1). */
  readonly expected: readonly (readonly number[])[];
}

/** One inference, as recorded by {@link Monitor.record}. Inputs are reduced to statistics and then dropped. */
export interface Observation {
  /** End-to-end inference latency in milliseconds. */
  readonly latencyMs: number;
  /** Class probabilities (summing to 1). */
  readonly probs?: ArrayLike<number>;
  /** Raw scores; softmax is applied. Use instead of `probs`. */
  readonly logits?: ArrayLike<number>;
  /** The model input; only its mean and standard deviation are kept (for drift). */
  readonly input?: ArrayLike<number>;
}

/** Options of {@link Monitor}. */
export interface MonitorOptions {
  /** Number of classes (the class histogram's size). */
  readonly numClasses: number;
  /** Class names for labels in the outputs (default: indices). */
  readonly labels?: readonly string[];
  /** Latency bucket upper bounds in milliseconds (default 1, 2, 5, … 5000). */
  readonly latencyBucketsMs?: readonly number[];
  /** Bins of the confidence and normalised-entropy histograms over [0, 1] (default 10). */
  readonly bins?: number;
  /** Reference for input drift (see {@link createDriftReference}); no drift section without it. */
  readonly reference?: DriftReference;
}

/** A small, JSON-serialisable aggregate: no input or output values, only counts and sums. */
export interface MonitorSnapshot {
  /** Recorded inferences. */
  readonly count: number;
  /** Latency histogram (cumulative counts per upper bound, ms) and sum. */
  readonly latencyMs: {
    /** Bucket upper bounds in milliseconds. */
    readonly buckets: readonly number[];
    /** Inferences at or below each bound. */
    readonly cumulative: readonly number[];
    /** Sum of all latencies in milliseconds. */
    readonly sum: number;
  };
  /** Histogram of the top-1 probability over equal-width bins of [0, 1]. */
  readonly confidence: readonly number[];
  /** Histogram of entropy / log(numClasses) over equal-width bins of [0, 1]. */
  readonly entropy: readonly number[];
  /** Count of top-1 predictions per class. */
  readonly classes: Readonly<Record<string, number>>;
  /** Population stability index per input statistic against the reference (absent without a reference). */
  readonly drift?: Readonly<Record<string, number>>;
}

const DEFAULT_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
const FEATURES = ['mean', 'std'] as const;

function stats(x: ArrayLike<number>): number[] {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  const mean = s / Math.max(1, x.length);
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i]! - mean) ** 2;
  return [mean, Math.sqrt(v / Math.max(1, x.length))];
}

function binOf(edges: readonly number[], v: number): number {
  let b = 0;
  while (b < edges.length && v > edges[b]!) b++;
  return b;
}

/**
 * Population stability index Σ (a − e)·ln(a / e) between two proportion vectors; empty bins are smoothed with
 * `eps` so the index stays finite. Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 large shift.
 * @param expected - reference proportions
 * @param actual - observed proportions (same length)
 * @param eps - floor for empty bins (default 1e-4)
 * @returns the index (≥ 0)
 * @throws {InvalidArgumentError} when the lengths differ
 * @example
 * ```ts
 * psi([0.5, 0.5], [0.9, 0.1]); // ≈ 0.879
 * ```
 */
export function psi(expected: readonly number[], actual: readonly number[], eps = 1e-4): number {
  if (expected.length !== actual.length) {
    throw new InvalidArgumentError(`psi: expected has ${expected.length} bins, actual has ${actual.length}`);
  }
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]!, eps);
    const a = Math.max(actual[i]!, eps);
    s += (a - e) * Math.log(a / e);
  }
  return s;
}

/**
 * Builds a drift reference from representative inputs: per-input mean and standard deviation, binned at the
 * reference's quantiles (so every bin holds about the same share).
 * @param inputs - at least `bins` representative model inputs (not stored)
 * @param bins - bins per statistic (default 10)
 * @returns the reference (small: edges and proportions only)
 * @throws {InvalidArgumentError} when there are fewer inputs than bins
 * @example
 * ```ts
 * const reference = createDriftReference(calibrationImages);
 * const monitor = new Monitor({ numClasses: 10, reference });
 * ```
 */
export function createDriftReference(inputs: readonly ArrayLike<number>[], bins = 10): DriftReference {
  if (!Number.isInteger(bins) || bins < 2 || inputs.length < bins) {
    throw new InvalidArgumentError(
      `createDriftReference: need ≥ ${bins} inputs and bins ≥ 2, got ${inputs.length} inputs`,
    );
  }
  const per = inputs.map(stats);
  const edges: number[][] = [];
  const expected: number[][] = [];
  FEATURES.forEach((_, f) => {
    const v = per.map((p) => p[f]!).sort((a, b) => a - b);
    const e = [
      ...new Set(Array.from({ length: bins - 1 }, (_, k) => v[Math.floor(((k + 1) * v.length) / bins) - 1]!)),
    ];
    const counts = new Array<number>(e.length + 1).fill(0);
    for (const x of v) counts[binOf(e, x)]!++;
    edges.push(e);
    expected.push(counts.map((c) => c / v.length));
  });
  return { features: [...FEATURES], edges, expected };
}

/**
 * On-device inference monitor: latency histogram, confidence and entropy histograms, class counts and input
 * drift (PSI against a reference), aggregated in fixed-size counters. Raw inputs and outputs are never stored,
 * so memory stays constant and snapshots carry no user data. Runs in browsers and Node.
 * @example
 * ```ts
 * const m = new Monitor({ numClasses: 10 });
 * m.record({ latencyMs: 4.2, probs, input });
 * const text = m.toOpenMetrics();
 * ```
 */
export class Monitor {
  private readonly numClasses: number;
  private readonly labels: readonly string[];
  private readonly buckets: readonly number[];
  private readonly bins: number;
  private readonly reference: DriftReference | undefined;
  private count = 0;
  private latencySum = 0;
  private readonly latency: Float64Array;
  private readonly confidence: Float64Array;
  private readonly entropy: Float64Array;
  private readonly classes: Float64Array;
  private readonly drift: Float64Array[];

  /**
   * @param opts - classes, buckets, bins, drift reference
   * @throws {InvalidArgumentError} on a non-positive class count, unsorted buckets or mismatched labels
   */
  constructor(opts: MonitorOptions) {
    if (!Number.isInteger(opts.numClasses) || opts.numClasses < 1) {
      throw new InvalidArgumentError(
        `Monitor: numClasses must be a positive integer, got ${opts.numClasses}`,
      );
    }
    const buckets = opts.latencyBucketsMs ?? DEFAULT_BUCKETS;
    if (buckets.some((b, i) => !(b > (buckets[i - 1] ?? 0)))) {
      throw new InvalidArgumentError('Monitor: latencyBucketsMs must be positive and strictly increasing');
    }
    if (opts.labels && opts.labels.length !== opts.numClasses) {
      throw new InvalidArgumentError(`Monitor: ${opts.labels.length} labels for ${opts.numClasses} classes`);
    }
    this.numClasses = opts.numClasses;
    this.labels = opts.labels ?? Array.from({ length: opts.numClasses }, (_, i) => String(i));
    this.buckets = [...buckets];
    this.bins = opts.bins ?? 10;
    this.reference = opts.reference;
    this.latency = new Float64Array(buckets.length + 1);
    this.confidence = new Float64Array(this.bins);
    this.entropy = new Float64Array(this.bins);
    this.classes = new Float64Array(opts.numClasses);
    this.drift = (opts.reference?.edges ?? []).map((e) => new Float64Array(e.length + 1));
  }

  /**
   * Adds one inference to the aggregates; the input and output arrays are read and not kept.
   * @param obs - latency, probabilities or logits, input
   * @returns nothing
   * @throws {InvalidArgumentError} when the latency is negative/NaN or the output length is not numClasses
   * @example
   * ```ts
   * monitor.record({ latencyMs: 3.1, logits, input });
   * ```
   */
  record(obs: Observation): void {
    if (!(obs.latencyMs >= 0))
      throw new InvalidArgumentError(`Monitor.record: latencyMs must be ≥ 0, got ${obs.latencyMs}`);
    const p = obs.probs ?? (obs.logits ? softmax(obs.logits) : undefined);
    if (p && p.length !== this.numClasses) {
      throw new InvalidArgumentError(
        `Monitor.record: ${p.length} outputs, expected numClasses = ${this.numClasses}`,
      );
    }
    this.count++;
    this.latencySum += obs.latencyMs;
    this.latency[binOf(this.buckets, obs.latencyMs)]!++;
    if (p) {
      let top = 0;
      let h = 0;
      for (let i = 0; i < p.length; i++) {
        if (p[i]! > p[top]!) top = i;
        if (p[i]! > 0) h -= p[i]! * Math.log(p[i]!);
      }
      const hn = this.numClasses > 1 ? h / Math.log(this.numClasses) : 0;
      this.confidence[this.bin01(p[top]!)]!++;
      this.entropy[this.bin01(hn)]!++;
      this.classes[top]!++;
    }
    if (obs.input && this.reference) {
      const s = stats(obs.input);
      this.reference.edges.forEach((e, f) => {
        this.drift[f]![binOf(e, s[f]!)]!++;
      });
    }
  }

  private bin01(v: number): number {
    return Math.min(this.bins - 1, Math.max(0, Math.floor(v * this.bins)));
  }

  /**
   * The current aggregates as a small JSON-serialisable object.
   * @returns the snapshot
   * @example
   * ```ts
   * await fetch('/telemetry', { method: 'POST', body: JSON.stringify(monitor.snapshot()) });
   * ```
   */
  snapshot(): MonitorSnapshot {
    let acc = 0;
    const cumulative = Array.from(this.latency.subarray(0, this.buckets.length), (c) => (acc += c));
    const out: MonitorSnapshot = {
      count: this.count,
      latencyMs: { buckets: [...this.buckets], cumulative, sum: round(this.latencySum) },
      confidence: Array.from(this.confidence),
      entropy: Array.from(this.entropy),
      classes: Object.fromEntries(this.labels.map((l, i) => [l, this.classes[i]!])),
    };
    if (!this.reference) return out;
    const drift: Record<string, number> = {};
    this.reference.features.forEach((f, k) => {
      const c = this.drift[k]!;
      const n = c.reduce((s, x) => s + x, 0);
      drift[f] =
        n === 0
          ? 0
          : round(
              psi(
                [...this.reference!.expected[k]!],
                Array.from(c, (x) => x / n),
              ),
            );
    });
    return { ...out, drift };
  }

  /**
   * The aggregates in OpenMetrics text format (histograms for latency in seconds, confidence and entropy; a
   * counter per class; a PSI gauge per input statistic), ending with `# EOF`.
   * @param prefix - metric name prefix (default `tinyvision`)
   * @returns the exposition text
   * @example
   * ```ts
   * res.setHeader('content-type', 'application/openmetrics-text; version=1.0.0; charset=utf-8');
   * res.end(monitor.toOpenMetrics());
   * ```
   */
  toOpenMetrics(prefix = 'tinyvision'): string {
    const s = this.snapshot();
    const lines: string[] = [];
    const hist = (
      name: string,
      help: string,
      les: readonly number[],
      cum: readonly number[],
      count: number,
      sum: number,
      unit?: string,
    ) => {
      lines.push(`# TYPE ${name} histogram`);
      if (unit) lines.push(`# UNIT ${name} ${unit}`);
      lines.push(`# HELP ${name} ${help}`);
      les.forEach((le, i) => {
        lines.push(`${name}_bucket{le="${num(le)}"} ${cum[i]}`);
      });
      lines.push(`${name}_bucket{le="+Inf"} ${count}`, `${name}_sum ${num(sum)}`, `${name}_count ${count}`);
    };
    const scored = s.confidence.reduce((a, b) => a + b, 0);
    hist(
      `${prefix}_inference_latency_seconds`,
      'Inference latency.',
      s.latencyMs.buckets.map((b) => b / 1000),
      s.latencyMs.cumulative,
      s.count,
      s.latencyMs.sum / 1000,
      'seconds',
    );
    const edges = Array.from({ length: this.bins - 1 }, (_, i) => (i + 1) / this.bins);
    const cumOf = (h: readonly number[]) => {
      let a = 0;
      return h.slice(0, -1).map((c) => (a += c));
    };
    hist(
      `${prefix}_prediction_confidence`,
      'Top-1 probability.',
      edges,
      cumOf(s.confidence),
      scored,
      this.midSum(s.confidence),
    );
    hist(
      `${prefix}_prediction_entropy`,
      'Entropy divided by log(classes).',
      edges,
      cumOf(s.entropy),
      scored,
      this.midSum(s.entropy),
    );
    lines.push(
      `# TYPE ${prefix}_predictions counter`,
      `# HELP ${prefix}_predictions Top-1 predictions per class.`,
    );
    for (const [label, c] of Object.entries(s.classes))
      lines.push(`${prefix}_predictions_total{class="${esc(label)}"} ${c}`);
    if (s.drift) {
      lines.push(
        `# TYPE ${prefix}_input_drift_psi gauge`,
        `# HELP ${prefix}_input_drift_psi Population stability index of input statistics.`,
      );
      for (const [f, v] of Object.entries(s.drift))
        lines.push(`${prefix}_input_drift_psi{statistic="${f}"} ${num(v)}`);
    }
    lines.push('# EOF');
    return `${lines.join('\n')}\n`;
  }

  /** Sum estimate of a [0,1] histogram from bin midpoints (the raw values are not kept). */
  private midSum(h: readonly number[]): number {
    return round(h.reduce((a, c, i) => a + (c * (i + 0.5)) / this.bins, 0));
  }

  /**
   * Clears every aggregate (e.g. after a snapshot was uploaded).
   * @returns nothing
   * @example
   * ```ts
   * upload(monitor.snapshot()); monitor.reset();
   * ```
   */
  reset(): void {
    this.count = 0;
    this.latencySum = 0;
    for (const a of [this.latency, this.confidence, this.entropy, this.classes, ...this.drift]) a.fill(0);
  }
}

function softmax(x: ArrayLike<number>): number[] {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]!);
  const e = Array.from(x, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

function num(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
