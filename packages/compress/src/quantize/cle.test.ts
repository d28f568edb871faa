import { cpu } from '@tinyvision/backend-cpu';
import { type Graph, InvalidArgumentError, Rng, randn, registerBackend, runGraph } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { skewedMobileNetV2Graph } from '../__fixtures__/mobilenet-graph.js';
import { correctBias } from './bias-correction.js';
import { channelRangeStats, equalizeCrossLayer } from './cle.js';
import { quantizeStatic } from './static.js';

let g: Graph;
let reluG: Graph;
let eq: Graph;
let pairsCount: number;
const x = () => randn([8, 3, 32, 32], { rng: new Rng(7) });
const cal = () => [randn([16, 3, 32, 32], { rng: new Rng(8) })];
const out = (gr: Graph) => runGraph(gr, [x()]).outputs[0]!.toFloat32();
/** Relative RMS error. */
const rel = (p: Float32Array, q: Float32Array) => {
  let s = 0;
  let r = 0;
  for (let i = 0; i < p.length; i++) {
    s += (p[i]! - q[i]!) ** 2;
    r += q[i]! ** 2;
  }
  return Math.sqrt(s / r);
};

beforeAll(() => {
  registerBackend(cpu());
  g = skewedMobileNetV2Graph();
  const r = equalizeCrossLayer(g);
  eq = r.graph;
  pairsCount = r.pairs.length;
  const replaced = new Set(r.relu6Replaced);
  // the float reference of the equalized graph: the same ReLU6 → ReLU replacement, unscaled
  reluG = {
    ...g,
    nodes: g.nodes.map((n) =>
      replaced.has(n.name) ? { ...n, attrs: { ...n.attrs, activation: 'relu' } } : n,
    ),
  };
}, 120_000);

describe('cross-layer equalization on a MobileNetV2 with skewed BN', () => {
  it('finds the expand→depthwise→project chains and preserves the float function', () => {
    expect(pairsCount).toBe(36); // the conv→conv pairs joined only by ReLU/ReLU6 (expand→dw, dw→project, stem)
    expect(rel(out(eq), out(reluG))).toBeLessThan(1e-4);
  });

  it('reduces the per-channel weight range disparity of the depthwise convolutions', () => {
    const dw = g.nodes.filter((n) => n.op === 'FusedConv2D' && (n.attrs.groups as number) > 1);
    let before = 0;
    let after = 0;
    for (const n of dw) {
      before += channelRangeStats(g.initializers.get(n.inputs[1]!)!).meanRelative;
      after += channelRangeStats(eq.initializers.get(n.inputs[1]!)!).meanRelative;
    }
    expect(after / dw.length).toBeGreaterThan((before / dw.length) * 1.3);
  });

  it('lowers the int8 output error (per-tensor and per-channel weights); bias correction lowers it further', () => {
    const refRelu = out(reluG);
    const refEq = out(eq);
    const errs: Record<string, number> = {};
    for (const perChannel of [false, true]) {
      const q0 = quantizeStatic(reluG, cal(), { perChannel });
      const q1 = quantizeStatic(eq, cal(), { perChannel });
      errs[`plain/${perChannel}`] = rel(out(q0), refRelu);
      errs[`cle/${perChannel}`] = rel(out(q1), refEq);
      errs[`cle+bc/${perChannel}`] = rel(out(correctBias(q1, eq, cal()).graph), refEq);
    }
    expect(errs['cle/false']!, JSON.stringify(errs)).toBeLessThan(errs['plain/false']! * 0.8);
    expect(errs['cle/true']!, JSON.stringify(errs)).toBeLessThan(errs['plain/true']! * 0.7);
    expect(errs['cle+bc/false']!, JSON.stringify(errs)).toBeLessThan(errs['cle/false']!);
    expect(errs['cle+bc/true']!, JSON.stringify(errs)).toBeLessThan(errs['cle/true']!);
  }, 120_000);

  it('rejects bad options', () => {
    expect(() => equalizeCrossLayer(g, { iterations: 0 })).toThrow(InvalidArgumentError);
  });
});
