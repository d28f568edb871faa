import { runGraph, tensor } from '@tinyvision/tensor';
import { loadTvm } from '@tinyvision/tensor/node';
import { HealthCheckError } from '../errors.js';
import type { HealthCheck, InstalledModel } from './store.js';

/** Options of {@link modelHealthCheck}. */
export interface ModelHealthCheckOptions {
  /** A known input, laid out as `metadata.inputShape`. */
  readonly input: ArrayLike<number>;
  /** The expected first output for that input. */
  readonly expected: ArrayLike<number>;
  /** Largest allowed absolute difference per element (default 1e-4). */
  readonly tolerance?: number;
  /** Largest allowed inference latency in milliseconds (default: no bound). */
  readonly maxLatencyMs?: number;
}

/**
 * A health check for `.tvm` models: loads the installed model, runs it on the active backend with a known input
 * and compares the first output with the expected values within `tolerance`, within `maxLatencyMs`.
 * @param opts - input, expected output, tolerance, latency bound
 * @returns the health check
 * @throws nothing itself; the returned check throws {@link HealthCheckError}
 * @example
 * ```ts
 * await installBundle(dir, bytes, { publicKey, healthCheck: modelHealthCheck({ input, expected }) });
 * ```
 */
export function modelHealthCheck(opts: ModelHealthCheckOptions): HealthCheck {
  const tol = opts.tolerance ?? 1e-4;
  return async (model: InstalledModel) => {
    const where = `health check of ${model.manifest.name} ${model.version}`;
    let out: ArrayLike<number>;
    let ms: number;
    try {
      const graph = await loadTvm(model.modelPath);
      const x = tensor(Array.from(opts.input), [...model.manifest.metadata.inputShape]);
      const t0 = performance.now();
      const r = runGraph(graph, [x]);
      out = r.outputs[0]!.dataSync() as ArrayLike<number>;
      ms = performance.now() - t0;
      for (const t of r.outputs) t.dispose();
      x.dispose();
    } catch (e) {
      throw new HealthCheckError(`${where}: the model does not run (${(e as Error).message})`, { cause: e });
    }
    if (out.length !== opts.expected.length) {
      throw new HealthCheckError(
        `${where}: output has ${out.length} values, expected ${opts.expected.length}`,
      );
    }
    for (let i = 0; i < out.length; i++) {
      const d = Math.abs(out[i]! - opts.expected[i]!);
      if (!(d <= tol)) {
        throw new HealthCheckError(
          `${where}: output[${i}] is ${out[i]}, expected ${opts.expected[i]} ± ${tol}`,
        );
      }
    }
    if (opts.maxLatencyMs !== undefined && ms > opts.maxLatencyMs) {
      throw new HealthCheckError(
        `${where}: inference took ${ms.toFixed(1)} ms, over the ${opts.maxLatencyMs} ms bound`,
      );
    }
  };
}
