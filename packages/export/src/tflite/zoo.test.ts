// Every zoo model exported to TFLite (float32, fp16 and dynamic-range weights) and run in the real TFLite
// interpreter, compared with runGraph on the CPU backend. Small widths/resolutions keep the test fast; one
// model runs at its published 224×224 configuration.
import { cpu } from '@tinyvision/backend-cpu';
import { type CreateModelOptions, createModel, type ModelName, traceModule } from '@tinyvision/models';
import {
  type Graph,
  manualSeed,
  noGrad,
  optimizeGraph,
  randn,
  registerBackend,
  type Tensor,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithGraph } from './testing/oracle.js';
import { roundWeights } from './testing/round-weights.js';
import { exportTflite } from './writer.js';

beforeAll(() => {
  registerBackend(cpu());
  manualSeed(3);
});

const ZOO: [ModelName, CreateModelOptions][] = [
  ['mobilenet_v1', { width: 0.25, resolution: 32 }],
  ['mobilenet_v2', { width: 0.35, resolution: 32 }],
  ['mobilenet_v3_small', { width: 0.35, resolution: 32 }],
  ['mobilenet_v3_large', { width: 0.35, resolution: 32 }],
  ['efficientnet_lite0', { resolution: 32 }],
  ['mobilevit_xxs', { resolution: 64 }],
];

interface Built {
  readonly name: string;
  readonly graph: Graph;
  readonly inputs: Tensor[];
}

function build(name: ModelName, opts: CreateModelOptions): Built {
  const m = createModel(name, { ...opts, numClasses: 10 });
  // warm BatchNorm statistics so that activations do not collapse
  m.train();
  noGrad(() => m.forward(randn([2, 3, opts.resolution!, opts.resolution!])).dispose());
  m.eval();
  const x = randn([1, 3, opts.resolution!, opts.resolution!]);
  return {
    name,
    graph: optimizeGraph(traceModule(m, [x])),
    inputs: [randn([1, 3, opts.resolution!, opts.resolution!])],
  };
}

type Mode = 'fp32' | 'fp16' | 'dynamic';
const TOL: Record<Mode, number> = { fp32: 1e-4, fp16: 1e-4, dynamic: 1e-2 };
/** Models also checked with fp16 and dynamic-range weights (a subset keeps the file under a minute). */
const QUANT_MODELS = new Set(['mobilenet_v1', 'mobilenet_v2', 'mobilenet_v3_small', 'mobilevit_xxs']);

describe('zoo models in the TFLite interpreter', () => {
  const report: Record<Mode, Record<string, number>> = { fp32: {}, fp16: {}, dynamic: {} };
  beforeAll(() => {
    const models = ZOO.map(([n, o]) => build(n, o));
    // the published configuration of one model (float32 only)
    const full = build('mobilenet_v3_small', { resolution: 224 });
    const quantModels = models.filter((m) => QUANT_MODELS.has(m.name));
    const cases = [
      ...models.map((m) => ({ ...m, mode: 'fp32' as Mode, model: exportTflite(m.graph) })),
      { ...full, name: 'mobilenet_v3_small@224', mode: 'fp32' as Mode, model: exportTflite(full.graph) },
      ...quantModels.map((m) => ({
        ...m,
        mode: 'fp16' as Mode,
        graph: roundWeights(m.graph, 'fp16'),
        model: exportTflite(m.graph, { quantization: 'fp16' }),
      })),
      ...quantModels.map((m) => ({
        ...m,
        mode: 'dynamic' as Mode,
        graph: roundWeights(m.graph, 'int8'),
        model: exportTflite(m.graph, { quantization: 'dynamic' }),
      })),
    ];
    const r = compareWithGraph(cases);
    cases.forEach((c, i) => {
      report[c.mode][c.name] = r[i]!.worst;
    });
    console.log(report);
  }, 180_000);

  it('float32: every zoo model (and MobileNetV3-Small at 224) within 1e-4 of the output range', () => {
    expect(Object.keys(report.fp32)).toHaveLength(ZOO.length + 1);
    for (const [n, worst] of Object.entries(report.fp32)) expect(worst, n).toBeLessThanOrEqual(TOL.fp32);
  });

  it('fp16 weights (+ DEQUANTIZE) match the graph with fp16-rounded weights within 1e-4', () => {
    for (const [n, worst] of Object.entries(report.fp16)) expect(worst, n).toBeLessThanOrEqual(TOL.fp16);
  });

  it('dynamic-range int8 weights run in the hybrid kernels, close to the int8-weight graph', () => {
    // hybrid kernels also quantize activations on the fly (per input row): small errors accumulate over
    // depth (observed ≤ 2e-3 of the range); the per-layer check is in quantize.test.ts
    for (const [n, worst] of Object.entries(report.dynamic))
      expect(worst, n).toBeLessThanOrEqual(TOL.dynamic);
  });
});
