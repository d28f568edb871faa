import { cpu } from '@tinyvision/backend-cpu';
import { countMacs, createModel, traceModule } from '@tinyvision/models';
import {
  encodeTvm,
  type Graph,
  type Initializer,
  InvalidArgumentError,
  makeGraph,
  optimizeGraph,
  Rng,
  randn,
  registerBackend,
  runGraph,
  withGraph,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { fashionFixture } from '../__fixtures__/fashion-net.js';
import { skewedMobileNetV2Graph } from '../__fixtures__/mobilenet-graph.js';
import { ChannelGroups } from './channel-groups.js';
import { pruneModuleChannels } from './module.js';
import { pruneChannels } from './structured.js';

beforeAll(() => registerBackend(cpu()));

const macs = (g: Graph) => countMacs(g, { symbols: { N: 1 } }).total;
const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/**
 * Zeroes the output channel rows (weights and bias) of every channel in `roots`, in the creators and in the
 * depthwise convolutions the channel passes through (their biases would otherwise feed a constant on).
 */
function zeroClasses(g: Graph, cg: ChannelGroups, roots: Set<number>): Graph {
  const inits = new Map(g.initializers);
  const dw = g.nodes.filter((n) => n.op.endsWith('Conv2D') && (n.attrs.groups as number) > 1);
  for (const n of [...cg.creators, ...dw]) {
    if (!cg.atoms.has(n.outputs[0]!)) continue;
    const atoms = cg.atoms.get(n.outputs[0]!)!;
    for (const name of [n.inputs[1], n.inputs[2]]) {
      const i = name ? inits.get(name) : undefined;
      if (!i) continue;
      const data = Float32Array.from(i.data as Float32Array);
      const per = data.length / i.shape[0]!;
      atoms.forEach((a, c) => {
        if (roots.has(cg.find(a))) data.fill(0, c * per, (c + 1) * per);
      });
      inits.set(i.name, { ...i, data } as Initializer);
    }
  }
  return withGraph(g, { initializers: [...inits.values()] });
}

describe('pruneChannels', () => {
  it('MobileNetV3-small (depthwise, residual adds, SE blocks): params, MACs and file size shrink; it still runs', () => {
    const m = createModel('mobilenet_v3_small', { width: 0.5, resolution: 32, numClasses: 10 });
    const g = optimizeGraph(
      traceModule(m, [randn([2, 3, 32, 32], { rng: new Rng(1) })], { dynamicBatch: true }),
    );
    const { graph: p, layers, params } = pruneChannels(g, { amount: 0.5 });
    expect(params.after).toBeLessThan(params.before * 0.45);
    expect(macs(p)).toBeLessThan(macs(g) * 0.45);
    expect(encodeTvm(p).byteLength).toBeLessThan(encodeTvm(g).byteLength * 0.45);
    const y = runGraph(p, [randn([3, 3, 32, 32], { rng: new Rng(2) })]).outputs[0]!;
    expect(y.shape).toEqual([3, 10]);
    // report: every creator listed; the classifier output (a graph output) is kept
    expect(layers.length).toBe(
      g.nodes.filter((n) => (n.op.endsWith('Conv2D') && n.attrs.groups === 1) || n.op === 'Linear').length,
    );
    expect(layers.at(-1)!.removed).toEqual([]);
    expect(layers.filter((l) => l.after < l.before).length).toBeGreaterThan(20);
    // depthwise convs keep groups = channels
    for (const n of p.nodes.filter((x) => x.op === 'FusedConv2D' && (x.attrs.groups as number) > 1)) {
      expect(p.initializers.get(n.inputs[1]!)!.shape[0]).toBe(n.attrs.groups);
    }
  });

  it('removing channels whose filters are zero leaves the function unchanged (tied residual groups included)', () => {
    const g = skewedMobileNetV2Graph(); // BN statistics warmed, so the outputs depend on every layer
    const cg = new ChannelGroups(g);
    // In every creator layer, zero exactly as many free channel classes as amount 0.5 will remove, so the
    // pruner (lowest score first) must remove precisely those.
    const roots = new Set<number>();
    const seen = new Set<string>();
    let tied = 0;
    for (const n of cg.creators) {
      const rs = [...new Set(cg.atoms.get(n.outputs[0]!)!.map((a) => cg.find(a)))];
      const key = [...rs].sort((a, b) => a - b).join(',');
      if (seen.has(key)) {
        tied++;
        continue;
      }
      seen.add(key);
      const free = rs.filter((r) => !cg.locked(r));
      const remove = Math.min(rs.length - Math.max(1, Math.round(rs.length * 0.5)), free.length - 1);
      for (const r of free.slice(0, Math.max(0, remove))) roots.add(r);
    }
    expect(tied).toBeGreaterThan(5); // residual chains share channel classes across layers
    const z = zeroClasses(g, cg, roots);
    const x = randn([2, 3, 32, 32], { rng: new Rng(5) });
    const ref = runGraph(z, [x]).outputs[0]!.toFloat32();
    const { graph: p, layers } = pruneChannels(z, { amount: 0.5 });
    const removed = layers.reduce((s, l) => s + l.removed.length, 0);
    expect(removed).toBeGreaterThan(500);
    const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(scale).toBeGreaterThan(1e-4);
    expect(maxDiff(runGraph(p, [x]).outputs[0]!.toFloat32(), ref) / scale).toBeLessThan(1e-4);
    // control: pruning the unmodified graph by the same amount does change the function
    const q = pruneChannels(g, { amount: 0.5 }).graph;
    const ref0 = runGraph(g, [x]).outputs[0]!.toFloat32();
    expect(maxDiff(runGraph(q, [x]).outputs[0]!.toFloat32(), ref0) / scale).toBeGreaterThan(1e-2);
    const none = pruneChannels(z, { amount: 0 });
    expect(none.params.after).toBe(none.params.before);
  });

  it("'bn' criterion (network slimming) removes the channels with the smallest |γ|/σ in an unfolded graph", async () => {
    const f = await fashionFixture();
    const raw = traceModule(f.model, [f.testX], { dynamicBatch: true });
    const bn = raw.nodes.find((n) => n.op === 'BatchNorm')!;
    const gamma = raw.initializers.get(bn.inputs[3]!)!;
    const data = Float32Array.from(gamma.data as Float32Array);
    data[0] = 1e-6;
    data[3] = -1e-6;
    const g = withGraph(raw, {
      initializers: [...raw.initializers.values()].map((i) => (i.name === gamma.name ? { ...i, data } : i)),
    });
    const { graph: p, layers } = pruneChannels(g, { amount: 0.25, criterion: 'bn' });
    expect(layers[0]!.removed).toEqual([0, 3]);
    expect(layers[0]!.after).toBe(6);
    const pbn = p.nodes.find((n) => n.op === 'BatchNorm')!;
    for (const v of pbn.inputs.slice(1)) expect(p.initializers.get(v!)!.shape).toEqual([6]);
    expect(runGraph(p, [f.testX]).outputs[0]!.shape).toEqual([f.testX.shape[0], 10]);
    expect(() => pruneChannels(f.graph, { amount: 0.5, criterion: 'bn' })).toThrow(/BatchNorm/);
  }, 60_000);

  it('maps removed channels through a concatenation to both producers', () => {
    const rng = new Rng(3);
    const w = (name: string, shape: number[]): Initializer => ({
      name,
      dtype: 'float32',
      shape,
      data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next() - 0.5),
    });
    const conv = { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1, activation: 'relu' };
    const g = makeGraph({
      inputs: ['x'],
      outputs: ['y'],
      nodes: [
        { name: 'a', op: 'FusedConv2D', inputs: ['x', 'wa', 'ba'], outputs: ['ya'], attrs: conv },
        { name: 'b', op: 'FusedConv2D', inputs: ['x', 'wb', 'bb'], outputs: ['yb'], attrs: conv },
        { name: 'cat', op: 'Concat', inputs: ['ya', 'yb'], outputs: ['c'], attrs: { axis: 1 } },
        {
          name: 'c',
          op: 'Conv2D',
          inputs: ['c', 'wc'],
          outputs: ['y'],
          attrs: { ...conv, activation: undefined },
        },
      ],
      values: [{ name: 'x', shape: ['N', 3, 5, 5], dtype: 'float32' }],
      initializers: [
        w('wa', [4, 3, 1, 1]),
        w('ba', [4]),
        w('wb', [4, 3, 1, 1]),
        w('bb', [4]),
        w('wc', [2, 8, 1, 1]),
      ],
    });
    const { graph: p, layers } = pruneChannels(g, { amount: 0.5 });
    expect(layers.map((l) => [l.node, l.after])).toEqual([
      ['a', 2],
      ['b', 2],
      ['c', 2],
    ]);
    expect(p.initializers.get('wc')!.shape).toEqual([2, 4, 1, 1]);
    expect(runGraph(p, [randn([1, 3, 5, 5])]).outputs[0]!.shape).toEqual([1, 2, 5, 5]);
  });

  it('pruneModuleChannels really removes channels from a Module (SE, residual, depthwise) that still trains', () => {
    const m = createModel('mobilenet_v3_small', { width: 0.5, resolution: 32, numClasses: 10 });
    const before = m.numParameters();
    const x = randn([2, 3, 32, 32], { rng: new Rng(4) });
    const { graph, params } = pruneModuleChannels(m, x, { amount: 0.5 });
    expect(m.numParameters()).toBeLessThan(before * 0.45);
    m.eval();
    const y = m.call(x);
    expect(y.shape).toEqual([2, 10]);
    expect(maxDiff(y.toFloat32(), runGraph(graph, [x]).outputs[0]!.toFloat32())).toBeLessThan(1e-4);
    expect(params.after).toBeLessThan(params.before);
    m.train();
    const out = m.call(x);
    const loss = out.mul(out).mean();
    loss.backward();
    expect(m.parameters().every((p) => p.grad === null || p.grad.shape.join() === p.shape.join())).toBe(true);
  });

  it('rejects amounts outside [0, 1) and unknown criteria before any work', async () => {
    const f = await fashionFixture();
    for (const amount of [1, -0.1, Number.NaN, 1.5]) {
      expect(() => pruneChannels(f.graph, { amount })).toThrow(InvalidArgumentError);
    }
    expect(() => pruneChannels(f.graph, { amount: 0.5, criterion: 'l3' as never })).toThrow(
      InvalidArgumentError,
    );
  });
});
