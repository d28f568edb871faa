import { type GraphPass, graphSignature } from './edit.js';
import { eliminateDeadCode, foldConstants, removeIdentities } from './pass-basic.js';
import { foldBatchNorm, fuseActivations } from './pass-fuse.js';
import type { Graph } from './types.js';
import { validateGraph } from './validate.js';

/** The default pipeline of {@link optimizeGraph}, in order. */
export const DEFAULT_PASSES: readonly GraphPass[] = [
  removeIdentities,
  (g) => foldConstants(g),
  foldBatchNorm,
  fuseActivations,
  eliminateDeadCode,
];

/** Options of {@link optimizeGraph}. */
export interface OptimizeOptions {
  /** Passes to run (default {@link DEFAULT_PASSES}). */
  readonly passes?: readonly GraphPass[];
  /** Stop after this many rounds even without reaching a fixed point (default 8). */
  readonly maxRounds?: number;
}

/**
 * Runs the passes in rounds until a round changes nothing: identity removal, constant folding, BatchNorm folding,
 * conv epilogue fusion and dead-code elimination. Outputs and their names are preserved.
 * @param graph - the graph
 * @param opts - passes and round limit
 * @returns the optimised, validated graph
 * @throws {GraphError} when the input graph is invalid
 * @example
 * ```ts
 * const fast = optimizeGraph(trace(model, [x]));
 * ```
 */
export function optimizeGraph(graph: Graph, opts: OptimizeOptions = {}): Graph {
  const passes = opts.passes ?? DEFAULT_PASSES;
  let g = validateGraph(graph);
  let sig = graphSignature(g);
  for (let round = 0; round < (opts.maxRounds ?? 8); round++) {
    for (const pass of passes) g = pass(g);
    const next = graphSignature(g);
    if (next === sig) break;
    sig = next;
  }
  return validateGraph(g);
}
