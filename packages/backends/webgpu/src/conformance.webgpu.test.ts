import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import { registerBackend, useBackend } from '@tinyvision/tensor';
import { defaultFixturesDir } from '@tinyvision/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from './backend.js';
import { webgpu } from './register.js';
import { type AsyncCaseResult, runConformanceAsync, summarize } from './testing/async-conformance.js';

// Dawn for Node needs a Vulkan driver; without a GPU, SwiftShader (shipped with Debian's chromium) is the CPU
// Vulkan implementation. Set before the device is created (the loader reads it then).
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;

/** Cases whose WGSL kernel is not used, with the reason; they run on the CPU reference instead. */
const WEBGPU_SKIP: Readonly<Record<string, string>> = {};

const FAMILIES = [
  'activation',
  'basic',
  'conv',
  'elementwise',
  'linalg',
  'loss',
  'movement',
  'norm',
  'pool',
  'quant',
  'reduce',
  'resize',
];

let backend: WebGpuBackend;
const all: AsyncCaseResult[] = [];

beforeAll(async () => {
  registerBackend(cpu());
  registerBackend(webgpu());
  backend = (await useBackend('webgpu')) as WebGpuBackend;
}, 120_000);

afterAll(() => {
  process.stdout.write(`${summarize('webgpu/node', all)}\n`);
  backend?.dispose();
});

describe('webgpu conformance (Dawn + SwiftShader in Node)', () => {
  for (const family of FAMILIES) {
    it(family, async () => {
      const dir = defaultFixturesDir();
      const results = await runConformanceAsync({
        families: [family],
        readFile: async (p) => new Uint8Array(await readFile(join(dir, p))),
        skip: WEBGPU_SKIP,
        retryCode: 'WEBGPU_HOST_READ',
        beforeCase: () => backend.resetPlacement(),
        beforeAttempt: () => backend.resetStats(),
        placement: () => ({
          accel: [...backend.stats.gpu.values()].reduce((a, b) => a + b, 0),
          host: [...backend.stats.host.values()].reduce((a, b) => a + b, 0),
        }),
        track: () => backend.trackAllocations(),
      });
      all.push(...results);
      const failed = results
        .filter((r) => r.status === 'fail')
        .map((r) => `${r.family}/${r.name}: ${r.message}`);
      expect(failed).toEqual([]);
    }, 300_000);
  }
});
