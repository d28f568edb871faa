import { createGraphRunner, type Graph, InvalidArgumentError, tensor } from '@tinyvision/tensor';
import { UpdateServerError } from './errors.js';
import type { Monitor } from './monitor.js';

/** A classification result. */
export interface Prediction {
  /** Class probabilities. */
  readonly probs: readonly number[];
  /** Index of the top class. */
  readonly top: number;
  /** Probability of the top class. */
  readonly confidence: number;
  /** Name of the top class, when labels are known. */
  readonly label?: string;
}

/** Something that classifies an input: a local model, or a server (see {@link httpPredictor}). */
export type Predictor = (
  input: ArrayLike<number>,
  shape: readonly number[],
  signal?: AbortSignal,
) => Promise<Prediction>;

/**
 * Turns a model output into a {@link Prediction}: used as probabilities when they are in [0, 1] and sum to 1
 * (± 1e-3), otherwise softmax is applied first.
 * @param output - probabilities or logits
 * @param labels - class names
 * @returns the prediction
 * @throws {InvalidArgumentError} when the output is empty
 * @example
 * ```ts
 * toPrediction([2, 0.5, -1], ['cat', 'dog', 'bird']).label; // 'cat'
 * ```
 */
export function toPrediction(output: ArrayLike<number>, labels?: readonly string[]): Prediction {
  if (output.length === 0) throw new InvalidArgumentError('toPrediction: empty output');
  let probs = Array.from(output);
  const sum = probs.reduce((a, b) => a + b, 0);
  if (!(probs.every((p) => p >= 0 && p <= 1) && Math.abs(sum - 1) < 1e-3)) {
    const m = Math.max(...probs);
    const e = probs.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    probs = e.map((v) => v / s);
  }
  let top = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[top]!) top = i;
  const label = labels?.[top];
  return { probs, top, confidence: probs[top]!, ...(label !== undefined ? { label } : {}) };
}

/**
 * A local {@link Predictor} running a graph on the active backend (first input, first output).
 * @param graph - the model
 * @param labels - class names
 * @returns the predictor
 * @throws nothing itself; the predictor throws the graph's shape/dtype errors
 * @example
 * ```ts
 * const local = graphPredictor(decodeTvm(bytes), labels);
 * ```
 */
export function graphPredictor(graph: Graph, labels?: readonly string[]): Predictor {
  const runner = createGraphRunner(graph);
  return async (input, shape) => {
    const x = tensor(Array.from(input), [...shape]);
    try {
      const r = runner.run([x]);
      const out = Array.from(r.outputs[0]!.dataSync() as ArrayLike<number>);
      for (const t of r.outputs) t.dispose();
      return toPrediction(out, labels);
    } finally {
      x.dispose();
    }
  };
}

/**
 * A remote {@link Predictor}: `POST {url}/predict` with `{"input": [...], "shape": [...]}`, expecting the JSON
 * answer of `tinyvision serve` (`probs`, `top`, `confidence`, `label`).
 * @param url - base URL of the inference server
 * @returns the predictor
 * @throws nothing itself; the predictor throws {@link UpdateServerError} on network errors or HTTP errors
 * @example
 * ```ts
 * const remote = httpPredictor('http://127.0.0.1:8080');
 * ```
 */
export function httpPredictor(url: string): Predictor {
  const endpoint = `${url.replace(/\/$/, '')}/predict`;
  return async (input, shape, signal) => {
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: Array.from(input), shape }),
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      throw new UpdateServerError(`POST ${endpoint}: ${(e as Error).message}`, { cause: e });
    }
    if (!res.ok)
      throw new UpdateServerError(`POST ${endpoint}: HTTP ${res.status} ${await res.text().catch(() => '')}`);
    const body = (await res.json()) as { probs?: number[]; label?: string };
    if (!Array.isArray(body.probs))
      throw new UpdateServerError(`POST ${endpoint}: answer has no 'probs' array`);
    const p = toPrediction(body.probs);
    return { ...p, ...(body.label !== undefined ? { label: body.label } : {}) };
  };
}

/** Why a {@link HybridRouter} answered as it did. */
export type RouteReason = 'confident' | 'offloaded' | 'budget-exhausted' | 'remote-failed' | 'remote-timeout';

/** A routed prediction. */
export interface RoutedPrediction extends Prediction {
  /** Which model answered. */
  readonly source: 'local' | 'remote';
  /** Why. */
  readonly reason: RouteReason;
  /** The local model's answer (always computed first). */
  readonly local: Prediction;
  /** Total time in milliseconds. */
  readonly latencyMs: number;
}

/** Options of {@link HybridRouter}. */
export interface HybridRouterOptions {
  /** The on-device model. */
  readonly local: Predictor;
  /** The server model (e.g. {@link httpPredictor}). */
  readonly remote: Predictor;
  /** Offload when the local confidence is below this (0 never offloads, > 1 always does). */
  readonly threshold: number;
  /** Give up on the server after this many milliseconds and answer locally (default 2000). */
  readonly timeoutMs?: number;
  /** At most `maxRequests` offloads in any window of `windowMs` milliseconds (default: unlimited). */
  readonly budget?: {
    /** Most offloads per window. */
    readonly maxRequests: number;
    /** Window length in milliseconds. */
    readonly windowMs: number;
  };
  /** Clock in milliseconds (default `performance.now`), for tests. */
  readonly now?: () => number;
  /** Records every local inference (latency, probabilities, input statistics) when given. */
  readonly monitor?: Monitor;
}

/** Counters of a {@link HybridRouter}. */
export interface RouterStats {
  /** Answers from the local model because it was confident. */
  readonly confident: number;
  /** Answers from the server. */
  readonly offloaded: number;
  /** Local answers because the budget was spent. */
  readonly budgetExhausted: number;
  /** Local answers because the server failed or timed out. */
  readonly fallbacks: number;
}

/**
 * Hybrid edge/cloud routing: runs the local model, and when its confidence is below `threshold` asks the server,
 * within an offload budget and a timeout; when the server is unreachable, slow or failing, the local answer is
 * returned (offline fallback). Runs in browsers and Node.
 * @example
 * ```ts
 * const router = new HybridRouter({ local, remote: httpPredictor(url), threshold: 0.6, timeoutMs: 500 });
 * const r = await router.predict(pixels, [1, 3, 32, 32]);
 * r.source; // 'local' | 'remote'
 * ```
 */
export class HybridRouter {
  private readonly opts: HybridRouterOptions;
  private readonly sent: number[] = [];
  private counts = { confident: 0, offloaded: 0, budgetExhausted: 0, fallbacks: 0 };

  /**
   * @param opts - local and remote predictors, threshold, timeout, budget
   * @throws {InvalidArgumentError} on a NaN threshold, a non-positive timeout or an invalid budget
   */
  constructor(opts: HybridRouterOptions) {
    if (Number.isNaN(opts.threshold)) throw new InvalidArgumentError('HybridRouter: threshold is NaN');
    if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0)) {
      throw new InvalidArgumentError(`HybridRouter: timeoutMs must be > 0, got ${opts.timeoutMs}`);
    }
    if (opts.budget && !(opts.budget.maxRequests >= 0 && opts.budget.windowMs > 0)) {
      throw new InvalidArgumentError('HybridRouter: budget needs maxRequests ≥ 0 and windowMs > 0');
    }
    this.opts = opts;
  }

  private now(): number {
    return (this.opts.now ?? (() => performance.now()))();
  }

  private takeBudget(): boolean {
    const b = this.opts.budget;
    if (!b) return true;
    const t = this.now();
    while (this.sent.length > 0 && this.sent[0]! <= t - b.windowMs) this.sent.shift();
    if (this.sent.length >= b.maxRequests) return false;
    this.sent.push(t);
    return true;
  }

  /**
   * Classifies an input, locally or on the server.
   * @param input - the model input
   * @param shape - its shape
   * @returns the answer with its source and reason
   * @throws whatever the local predictor throws (the server's errors are absorbed into a fallback)
   * @example
   * ```ts
   * const { label, source } = await router.predict(x, [1, 16]);
   * ```
   */
  async predict(input: ArrayLike<number>, shape: readonly number[]): Promise<RoutedPrediction> {
    const t0 = this.now();
    const local = await this.opts.local(input, shape);
    this.opts.monitor?.record({ latencyMs: Math.max(0, this.now() - t0), probs: local.probs, input });
    const done = (p: Prediction, source: 'local' | 'remote', reason: RouteReason): RoutedPrediction => ({
      ...p,
      source,
      reason,
      local,
      latencyMs: this.now() - t0,
    });
    if (local.confidence >= this.opts.threshold) {
      this.counts.confident++;
      return done(local, 'local', 'confident');
    }
    if (!this.takeBudget()) {
      this.counts.budgetExhausted++;
      return done(local, 'local', 'budget-exhausted');
    }
    const ctrl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, this.opts.timeoutMs ?? 2000);
    try {
      const remote = await Promise.race([
        this.opts.remote(input, shape, ctrl.signal),
        new Promise<never>((_, reject) => {
          ctrl.signal.addEventListener('abort', () => reject(new Error('timeout')));
        }),
      ]);
      this.counts.offloaded++;
      return done(remote, 'remote', 'offloaded');
    } catch {
      this.counts.fallbacks++;
      return done(local, 'local', timedOut ? 'remote-timeout' : 'remote-failed');
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Counts of answers by route since construction.
   * @returns the counters
   * @example
   * ```ts
   * router.stats().offloaded;
   * ```
   */
  stats(): RouterStats {
    return { ...this.counts };
  }
}
