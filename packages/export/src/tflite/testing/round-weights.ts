// Test helper: the float graph the fp16 / dynamic-range TFLite models should compute, i.e. conv and linear
// weights rounded to float16 or to symmetric per-output-channel int8 (same scales as the writer).
import {
  float16BitsToFloat32,
  float32ToFloat16Bits,
  type Graph,
  type Initializer,
  withGraph,
} from '@tinyvision/tensor';
import { quantizeSymmetric } from '../quantize-weights.js';

const WEIGHT_OPS = new Set(['Conv2D', 'FusedConv2D', 'Linear']);

/**
 * Rounds weights like the TFLite writer's weight quantization: `'fp16'` every float32 initializer, `'int8'`
 * the weights of Conv2D / FusedConv2D (per output channel) and Linear (per tensor).
 * @param graph - an optimised float graph
 * @param mode - 'fp16' or 'int8'
 * @returns the graph with rounded initializers
 */
export function roundWeights(graph: Graph, mode: 'fp16' | 'int8'): Graph {
  const weights = new Set(graph.nodes.filter((n) => WEIGHT_OPS.has(n.op)).map((n) => n.inputs[1]!));
  const fc = new Set(graph.nodes.filter((n) => n.op === 'Linear').map((n) => n.inputs[1]!));
  const inits = new Map<string, Initializer>();
  for (const init of graph.initializers.values()) {
    if (init.dtype !== 'float32' || (mode === 'int8' && !weights.has(init.name))) {
      inits.set(init.name, init);
      continue;
    }
    const src = init.data as Float32Array;
    const data = new Float32Array(src.length);
    if (mode === 'fp16') {
      for (let i = 0; i < src.length; i++) data[i] = float16BitsToFloat32(float32ToFloat16Bits(src[i]!));
    } else {
      const perTensor = fc.has(init.name);
      const { q, scale } = quantizeSymmetric(src, perTensor ? [1, src.length] : init.shape, 0);
      const inner = perTensor ? src.length : src.length / init.shape[0]!;
      for (let i = 0; i < src.length; i++) data[i] = q[i]! * scale[Math.floor(i / inner)]!;
    }
    inits.set(init.name, { ...init, data });
  }
  return withGraph(graph, { initializers: inits });
}
