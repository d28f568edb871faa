// Second oracle: the same exports run in Arm NN's TfLite parser (CpuRef reference backend, Debian
// python3-pyarmnn), which reads only `deprecated_builtin_code`: float zoo models and a full-integer int8 model.
import { spawnSync } from 'node:child_process';
import { cpu } from '@tinyvision/backend-cpu';
import { type CreateModelOptions, createModel, type ModelName, traceModule } from '@tinyvision/models';
import { manualSeed, noGrad, optimizeGraph, randn, registerBackend } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithGraph } from './testing/oracle.js';
import { exportTflite } from './writer.js';

beforeAll(() => {
  registerBackend(cpu());
  manualSeed(8);
});

/**
 * Whether Arm NN's CpuRef backend is installed (Debian libarmnn-cpuref-backend22, a Recommends of
 * python3-pyarmnn). Outside CI the test is skipped without it; under CI=true it always runs (and fails loudly).
 */
const armnnReady =
  spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      'import contextlib,io\nwith contextlib.redirect_stdout(io.StringIO()):\n import pyarmnn as a\n' +
        'b = a.IRuntime(a.CreationOptions()).GetDeviceSpec().GetSupportedBackends()\n' +
        'print("ok" if any(str(x) == "CpuRef" for x in b) else "no")',
    ],
    { encoding: 'utf8' },
  ).stdout.trim() === 'ok';

describe('Arm NN (CpuRef) as a second TFLite oracle', () => {
  it.skipIf(!armnnReady && !process.env.CI)(
    'float zoo models within 1e-4 of our outputs',
    () => {
      const zoo: [ModelName, CreateModelOptions][] = [
        ['mobilenet_v1', { width: 0.25, resolution: 32 }],
        ['mobilenet_v2', { width: 0.35, resolution: 32 }],
        ['efficientnet_lite0', { resolution: 32 }],
      ];
      const cases = zoo.map(([name, o]) => {
        const m = createModel(name, { ...o, numClasses: 10 });
        m.train();
        noGrad(() => m.forward(randn([2, 3, 32, 32])).dispose());
        m.eval();
        const graph = optimizeGraph(traceModule(m, [randn([1, 3, 32, 32])]));
        return { graph, model: exportTflite(graph), inputs: [randn([1, 3, 32, 32])] };
      });
      // Arm NN 22.x's CpuRef aborts (GetBiasTypeFromWeightsType assertion) on the int8 model's per-channel
      // weights, so the int8 net runs in tfjs-tflite only (quantize.test.ts); here the float models are checked.
      const r = compareWithGraph(cases, false, 'armnn');
      const report = Object.fromEntries(zoo.map(([n], i) => [n, r[i]!.worst]));
      console.log('armnn', report);
      for (const [n, worst] of Object.entries(report)) expect(worst, n).toBeLessThanOrEqual(1e-4);
    },
    120_000,
  );
});
