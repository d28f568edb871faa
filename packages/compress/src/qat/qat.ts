import {
  BatchNorm2d,
  Conv2d,
  type HookHandle,
  Linear,
  type Module,
  Sequential,
  traceModule,
} from '@tinyvision/models';
import {
  fakeQuantize,
  type Graph,
  InvalidArgumentError,
  noGrad,
  optimizeGraph,
  type QuantParams,
  type Tensor,
  tensor,
} from '@tinyvision/tensor';
import { chooseQParams } from '@tinyvision/tensor/internal';
import type { CalibrationBatch } from '../quantize/graph-util.js';
import { createObserver, type Observer } from '../quantize/observers.js';
import { type QuantizeStaticOptions, quantizeStatic } from '../quantize/static.js';

/** Options of {@link prepareQat}. */
export interface QatOptions {
  /** Weight bits: 8 (`[-127, 127]`, default) or 4 (`[-7, 7]`), symmetric per output channel. */
  readonly weightBits?: 8 | 4;
  /** Activation range estimator during training: `'moving-average'` (default) or `'minmax'`. */
  readonly observer?: 'moving-average' | 'minmax';
  /** Moving-average weight of a batch (default 0.01). */
  readonly averagingConstant?: number;
  /** Fold each `Conv2d → BatchNorm2d` pair before training (default true), as the deployed graph will. */
  readonly foldBatchNorm?: boolean;
}

/** A model prepared for quantization-aware training. */
export interface QatHandle {
  /** Conv/linear layers with fake quantization. */
  readonly layers: number;
  /** Conv → BN pairs folded. */
  readonly foldedBatchNorms: number;
  /** Stops updating activation ranges (call late in training; ranges then stay fixed). */
  freezeObservers(): void;
  /** Whether the ranges are frozen. */
  readonly frozen: boolean;
  /** Removes the fake-quantization hooks (the folded BN stays folded). */
  remove(): void;
  /**
   * Removes the hooks, traces and optimizes the float model and quantizes it to the int8 QDQ form.
   * @param example - an example input with batch size > 1 (for the dynamic batch dim)
   * @param calibration - calibration batches for the activation ranges
   * @param opts - `quantizeStatic` options
   * @returns the QDQ graph
   */
  convert(example: Tensor, calibration: Iterable<CalibrationBatch>, opts?: QuantizeStaticOptions): Graph;
}

/** Per-output-channel symmetric parameters of the current weights. */
function weightParams(w: Tensor, qmax: number): QuantParams {
  const v = w.toFloat32();
  const o = w.shape[0]!;
  const per = v.length / o;
  const scale: number[] = [];
  for (let c = 0; c < o; c++) {
    let m = 0;
    for (let j = 0; j < per; j++) m = Math.max(m, Math.abs(v[c * per + j]!));
    scale.push(m > 0 ? Math.max(Math.fround(m / qmax), 2 ** -23) : 1);
  }
  return { scale, zeroPoint: scale.map(() => 0), axis: 0 };
}

/** Folds `Conv2d → BatchNorm2d` pairs of every Sequential (BN becomes an identity through a forward hook). */
function foldModuleBatchNorms(module: Module): number {
  let folded = 0;
  for (const [, m] of module.namedModules()) {
    if (!(m instanceof Sequential)) continue;
    const items = [...m];
    for (let i = 0; i + 1 < items.length; i++) {
      const conv = items[i];
      const bn = items[i + 1];
      if (!(conv instanceof Conv2d) || !(bn instanceof BatchNorm2d) || !bn.runningMean || !bn.runningVar)
        continue;
      const o = conv.weight.shape[0]!;
      const mean = bn.runningMean.toFloat32();
      const vr = bn.runningVar.toFloat32();
      const g = bn.weight?.toFloat32() ?? new Float32Array(o).fill(1);
      const beta = bn.bias?.toFloat32() ?? new Float32Array(o);
      const w = Float32Array.from(conv.weight.toFloat32());
      const b = conv.bias ? Float32Array.from(conv.bias.toFloat32()) : new Float32Array(o);
      const per = w.length / o;
      for (let c = 0; c < o; c++) {
        const s = g[c]! / Math.sqrt(vr[c]! + bn.eps);
        for (let j = 0; j < per; j++) w[c * per + j]! *= s;
        b[c] = (b[c]! - mean[c]!) * s + beta[c]!;
      }
      noGrad(() => conv.weight.assign_(tensor(w, conv.weight.shape)));
      if (conv.bias) noGrad(() => conv.bias!.assign_(tensor(b, [o])));
      else (conv as { bias: Tensor | null }).bias = conv.registerParameter('bias', tensor(b, [o]));
      bn.registerForwardHook((_m, inputs) => inputs[0]);
      folded++;
    }
  }
  return folded;
}

/**
 * Prepares a model for quantization-aware training: folds `Conv2d → BatchNorm2d` pairs into the conv (so the
 * trained weights are the deployed ones), and makes every `Conv2d`/`Linear` fake-quantize its input
 * activation (per-tensor affine int8, range from a moving-average observer updated in training mode) and its
 * weight (symmetric per output channel, 8 or 4 bits) with the straight-through estimator of `fakeQuantize`.
 * Train as usual; call `freezeObservers()` for the last epochs and `convert()` for the int8 QDQ graph.
 * Ranges are observed, not learned.
 * @param module - the model (changed in place: BN folded, hooks added)
 * @param opts - weight bits, observer, BN folding
 * @returns the handle
 * @throws {InvalidArgumentError} on unsupported bits or observer
 * @example
 * ```ts
 * const qat = prepareQat(model);
 * // … train a few epochs …
 * qat.freezeObservers();
 * const qdq = qat.convert(example, calibration);
 * ```
 */
export function prepareQat(module: Module, opts: QatOptions = {}): QatHandle {
  const bits = opts.weightBits ?? 8;
  if (bits !== 8 && bits !== 4)
    throw new InvalidArgumentError(`prepareQat: 'weightBits' must be 8 or 4, got ${bits}`);
  const kind = opts.observer ?? 'moving-average';
  if (kind !== 'moving-average' && kind !== 'minmax') {
    throw new InvalidArgumentError(
      `prepareQat: 'observer' must be 'moving-average' or 'minmax', got ${String(kind)}`,
    );
  }
  const qmax = bits === 8 ? 127 : 7;
  const foldedBatchNorms = opts.foldBatchNorm === false ? 0 : foldModuleBatchNorms(module);
  const handles: HookHandle[] = [];
  let frozen = false;
  let layers = 0;
  for (const [, m] of module.namedModules()) {
    if (!(m instanceof Conv2d) && !(m instanceof Linear)) continue;
    layers++;
    const obs: Observer = createObserver({ kind, averagingConstant: opts.averagingConstant });
    let saved: Tensor | null = null;
    handles.push(
      m.registerForwardPreHook((mod, inputs) => {
        const x = inputs[0]!;
        if (mod.training && !frozen) obs.observe(x);
        const w = (mod as Conv2d | Linear).weight;
        saved = w;
        const wq = fakeQuantize(w, weightParams(w, qmax), { qmin: -qmax, qmax });
        (mod as unknown as { weight: Tensor }).weight = wq;
        if (obs.count === 0) return undefined;
        const [[lo, hi]] = obs.ranges() as [[number, number]];
        return [fakeQuantize(x, chooseQParams(lo, hi)), ...inputs.slice(1)];
      }),
      m.registerForwardHook((mod) => {
        if (saved) (mod as unknown as { weight: Tensor }).weight = saved;
        saved = null;
        return undefined;
      }),
    );
  }
  const remove = () => {
    for (const h of handles.splice(0)) h.remove();
  };
  return {
    layers,
    foldedBatchNorms,
    freezeObservers() {
      frozen = true;
    },
    get frozen() {
      return frozen;
    },
    remove,
    convert(example, calibration, qopts) {
      remove();
      const g = optimizeGraph(traceModule(module, [example], { dynamicBatch: true }));
      return quantizeStatic(g, calibration, qopts);
    },
  };
}
