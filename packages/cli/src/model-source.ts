import type { Graph } from '@tinyvision/tensor';

/** Options of {@link loadModelGraph} for zoo models. */
export interface ModelSourceOptions {
  /** Width multiplier. */
  readonly width?: number;
  /** Input resolution. */
  readonly resolution?: number;
  /** Classifier outputs. */
  readonly numClasses?: number;
}

/**
 * Turns a command's `<model>` argument into an optimized graph: a zoo name (built with random weights at
 * batch 1, traced, BN folded) or a `.tvm` file. Registers the CPU backend.
 * @param spec - zoo name or path
 * @param opts - zoo options
 * @returns the graph
 * @throws {InvalidArgumentError} for an unknown name or unsupported file type (typed errors from the readers pass through)
 * @internal
 */
export async function loadModelGraph(spec: string, opts: ModelSourceOptions = {}): Promise<Graph> {
  const [{ registerBackend, optimizeGraph, randn, InvalidArgumentError }, { cpu }] = await Promise.all([
    import('@tinyvision/tensor'),
    import('@tinyvision/backend-cpu'),
  ]);
  registerBackend(cpu());
  if (spec.endsWith('.tvm')) {
    const { loadTvm } = await import('@tinyvision/tensor/node');
    return loadTvm(spec);
  }
  const models = await import('@tinyvision/models');
  if (!models.isModelName(spec)) {
    throw new InvalidArgumentError(
      `'${spec}' is neither a model file (.tvm) nor a zoo model; zoo names: ${models.MODEL_NAMES.join(', ')}`,
    );
  }
  const m = models.createModel(spec, {
    ...(opts.width === undefined ? {} : { width: opts.width }),
    ...(opts.resolution === undefined ? {} : { resolution: opts.resolution }),
    ...(opts.numClasses === undefined ? {} : { numClasses: opts.numClasses }),
  });
  const r = m.resolution;
  return optimizeGraph(models.traceModule(m, [randn([1, 3, r, r])], { name: spec }));
}
