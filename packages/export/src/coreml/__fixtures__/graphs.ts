// Test helpers shared by the Core ML tests (not part of the package).
import { type Graph, randn, runGraph, type Tensor } from '@tinyvision/tensor';

/**
 * Fresh zoo models at small sizes compute (almost) the classifier bias whatever the input, which would make a
 * round-trip comparison vacuous: give every weight He-scaled random values and jitter the vectors, so the outputs
 * depend on the input (tests check that too).
 */
export function randomized(g: Graph): Graph {
  const initializers = new Map(g.initializers);
  for (const [k, init] of g.initializers) {
    if (!(init.data instanceof Float32Array)) continue;
    const d = init.data;
    const r = randn([d.length]).dataSync() as Float32Array;
    const fan = init.shape.slice(1).reduce((a, b) => a * b, 1);
    const data =
      init.shape.length >= 2 ? r.map((v) => v * Math.sqrt(2 / fan)) : d.map((v, i) => v + 0.1 * (r[i] as number));
    initializers.set(k, { ...init, data });
  }
  return { ...g, initializers };
}

/** The first output of `g` on `x`. */
export function run(g: Graph, x: Tensor): Float32Array {
  return (runGraph(g, [x]).outputs[0] as Tensor).dataSync() as Float32Array;
}

/** max |a − b| / max |a|. */
export function maxRelDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let range = 0;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    range = Math.max(range, Math.abs(a[i] as number));
    d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  }
  return d / Math.max(range, 1e-12);
}
