// Oracle: torchvision MobileNets and a dynamic-batch CNN exported by torch.onnx (generated at test time by
// __fixtures__/torchvision_onnx.py), imported with loadOnnx and run with runGraph, match torch's own outputs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpu } from '@tinyvision/backend-cpu';
import { fromStorage, parseNpy, registerBackend, runGraph } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadOnnx } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'tv-torchvision-onnx-'));
const script = fileURLToPath(new URL('./__fixtures__/torchvision_onnx.py', import.meta.url));

beforeAll(() => {
  registerBackend(cpu());
  const r = spawnSync('/usr/bin/python3', [script, dir], { encoding: 'utf8', timeout: 110_000 });
  if (r.status !== 0)
    throw new Error(`torchvision fixture generation failed:\n${r.stderr || r.error?.message}`);
}, 120_000);

const npy = (name: string) => parseNpy(new Uint8Array(readFileSync(join(dir, name))), name);

describe('torchvision models through importOnnx (oracle: PyTorch)', () => {
  it.each(['mobilenet_v2', 'mobilenet_v3_small', 'dynamic_cnn'])(
    '%s matches torch within 1e-4 of the output range',
    async (name) => {
      const g = await loadOnnx(join(dir, `${name}.onnx`));
      if (name === 'dynamic_cnn') {
        // dynamic batch: the view(N, -1) target shape is computed in the graph and folded at import time
        expect(g.values.get(g.inputs[0]!)?.shape).toEqual(['N', 3, 16, 16]);
        expect(g.nodes.some((n) => n.op === 'Reshape')).toBe(true);
      }
      const x = npy(`${name}_input.npy`);
      const want = npy(`${name}_output.npy`).data as Float32Array;
      const { outputs } = runGraph(g, [fromStorage(x.data, x.shape, 'float32')]);
      const got = outputs[0]!.toFloat32();
      expect(outputs[0]!.shape).toEqual([x.shape[0], 10]);
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      let worst = 0;
      for (let i = 0; i < want.length; i++) {
        lo = Math.min(lo, want[i]!);
        hi = Math.max(hi, want[i]!);
        worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      }
      const range = hi - lo;
      expect(range).toBeGreaterThan(1e-3);
      console.log(
        `${name}: max |ours − torch| = ${worst.toExponential(2)}, output range ${range.toExponential(2)}`,
      );
      expect(worst / range).toBeLessThan(1e-4);
    },
  );
});
