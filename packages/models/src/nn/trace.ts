import { type Graph, type Tensor, type TraceOptions, trace } from '@tinyvision/tensor';
import type { Module } from './module.js';

/** Options of {@link traceModule}: those of `trace` from `@tinyvision/tensor`. */
export type TraceModuleOptions = TraceOptions;

/**
 * Traces a module into a graph: puts every submodule in eval mode, names parameters and buffers after their
 * state-dict keys (they become the graph's initializer names), records `module.call(...exampleInputs)` with
 * `trace`, then restores each submodule's previous mode.
 * @param module - the model
 * @param exampleInputs - one tensor per graph input
 * @param opts - trace options (input/output names, dynamic batch, metadata); `name` defaults to the class name
 * @returns the validated graph
 * @throws {GraphError} as `trace`
 * @throws {InvalidArgumentError} as `trace`
 * @example
 * ```ts
 * const g = traceModule(model, [randn([2, 3, 32, 32])], { dynamicBatch: true });
 * const { outputs } = runGraph(g, [x]);
 * ```
 */
export function traceModule(
  module: Module,
  exampleInputs: readonly Tensor[],
  opts: TraceModuleOptions = {},
): Graph {
  const modes = module.namedModules().map(([, m]) => [m, m.training] as const);
  module.eval();
  module.nameParameters();
  try {
    return trace((...xs: Tensor[]) => module.call(...xs), exampleInputs, {
      ...opts,
      name: opts.name ?? module.constructor.name,
    });
  } finally {
    for (const [m, mode] of modes) m.training = mode;
  }
}
