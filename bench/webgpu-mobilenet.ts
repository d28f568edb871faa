/**
 * MobileNetV2 and MobileNetV3-Small (batch 1, 224×224, float32, random weights, BN folded into FusedConv2D) on
 * the WebGPU backend against the CPU backend, through the graph runner. Without a GPU, WebGPU runs on SwiftShader
 * (Vulkan on the CPU), so these numbers say nothing about GPU speed: they check that whole models run on the
 * WGSL kernels, agree with the CPU reference and how much of the work stays on the GPU.
 *
 * Run: `npx tsx --conditions=@tinyvision/source bench/webgpu-mobilenet.ts [--quick] [--resolution 224]`; writes
 * bench/results/webgpu-mobilenet.json.
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpu } from '@tinyvision/backend-cpu';
import { runWithFallback, type WebGpuBackend, webgpu } from '@tinyvision/backend-webgpu';
import { createModel, traceModule } from '@tinyvision/models';
import {
  createGraphRunner,
  fromStorage,
  type Graph,
  optimizeGraph,
  Rng,
  randn,
  registerBackend,
  useBackend,
} from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
// biome-ignore lint/suspicious/noUndeclaredEnvVars: read by the Vulkan loader inside this process, not a turbo input
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;

const HERE = dirname(fileURLToPath(import.meta.url));
const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 1 : 5;
const resArg = process.argv.indexOf('--resolution');
const RES = resArg > 0 ? Number(process.argv[resArg + 1]) : 224;
const MODELS = ['mobilenet_v2', 'mobilenet_v3_small'] as const;

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const round = (v: number) => Math.round(v * 100) / 100;

/** Times `RUNS` forward passes (plus one warm-up), each ending with the logits read back. */
async function timeRuns(g: Graph, x: Float32Array, wrap: <T>(f: () => T) => Promise<T>) {
  const runner = createGraphRunner(g);
  const input = fromStorage(x, [1, 3, RES, RES], 'float32');
  const times: number[] = [];
  let logits: Float32Array = new Float32Array(0);
  for (let i = 0; i <= RUNS; i++) {
    const t = performance.now();
    const { outputs } = await wrap(() => runner.run([input]));
    logits = (await outputs[0]!.data()) as Float32Array;
    const dt = performance.now() - t;
    for (const o of outputs) o.dispose();
    if (i > 0) times.push(round(dt));
    process.stderr.write(`  run ${i}: ${round(dt)} ms\n`);
  }
  input.dispose();
  runner.dispose();
  return { times, logits };
}

registerBackend(cpu());
registerBackend(webgpu());
const rows = [];
const t0 = performance.now();
const gpu = (await useBackend('webgpu')) as WebGpuBackend;
const initMs = performance.now() - t0;
for (const name of MODELS) {
  await useBackend('cpu');
  const m = createModel(name, { resolution: RES });
  const x = randn([1, 3, RES, RES], { rng: new Rng(7) });
  const g = optimizeGraph(traceModule(m, [x]));
  const xs = x.dataSync() as Float32Array;
  const cpuRun = await timeRuns(g, xs, async (f) => f());
  await useBackend('webgpu');
  gpu.resetStats();
  const gpuRun = await timeRuns(g, xs, (f) => runWithFallback(gpu, f));
  let maxAbs = 0;
  let maxRef = 0;
  cpuRun.logits.forEach((v, i) => {
    maxAbs = Math.max(maxAbs, Math.abs(v - gpuRun.logits[i]!));
    maxRef = Math.max(maxRef, Math.abs(v));
  });
  const count = (mp: Map<string, number>) => Object.fromEntries([...mp].sort((a, b) => b[1] - a[1]));
  const row = {
    model: name,
    nodes: g.nodes.length,
    cpu_median_ms: median(cpuRun.times),
    cpu_times_ms: cpuRun.times,
    webgpu_median_ms: median(gpuRun.times),
    webgpu_times_ms: gpuRun.times,
    logits_max_abs_diff: maxAbs,
    logits_max_abs: maxRef,
    webgpu_kernel_runs: count(gpu.stats.gpu),
    cpu_reference_kernel_runs_on_webgpu: count(gpu.stats.host),
  };
  rows.push(row);
  console.log(
    `${name}: CPU ${row.cpu_median_ms} ms, WebGPU (SwiftShader) ${row.webgpu_median_ms} ms, max |Δlogit| ${maxAbs.toExponential(2)} (max |logit| ${maxRef.toFixed(3)}), CPU-reference kernels on webgpu: ${JSON.stringify(row.cpu_reference_kernel_runs_on_webgpu)}`,
  );
}
const info = gpu.info();
gpu.dispose();
const out = {
  date: new Date().toISOString().slice(0, 10),
  note: 'WebGPU on SwiftShader (Vulkan on the CPU, no GPU): timings say nothing about GPU speed',
  machine: {
    cpu: cpus()[0]?.model,
    logicalCores: cpus().length,
    os: `linux ${release()}`,
    node: process.version,
    loadAverage: loadavg().map(round),
  },
  webgpu: { adapter: info.adapter, shaderF16: info.shaderF16, init_ms: round(initMs) },
  config: {
    batch: 1,
    resolution: 224,
    dtype: 'float32',
    runs: RUNS,
    warmup: 1,
    graph: 'traced, optimizeGraph (BN folded, FusedConv2D)',
  },
  results: rows,
};
await writeFileAtomic(join(HERE, 'results', 'webgpu-mobilenet.json'), `${JSON.stringify(out, null, 1)}\n`);
console.log('wrote bench/results/webgpu-mobilenet.json');
