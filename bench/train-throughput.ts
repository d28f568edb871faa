/**
 * Training throughput: images/s of training steps (forward, cross-entropy, backward, AdamW) of the Fashion-MNIST
 * target model `FashionMobileNet` (bench/fashion-mnist-model.ts) at the same batch size in tinyvision (CPU
 * backend, single-threaded) and in PyTorch on the CPU with 2 threads (`torch.set_num_threads(2)`, Debian torch via
 * bench/peers/torch_fashion_mnist.py; also with 1 thread for reference), in the same run, on a fixed random batch `[B, 1, 28, 28]`. Reports the
 * median step time of `--steps` timed steps after `--warmup` steps (and the median process CPU time per step).
 *
 * Run: `nice -n 10 npx tsx --conditions=@tinyvision/source bench/train-throughput.ts [--batch 64] [--steps 30]
 * [--warmup 3] [--threads 2] [--out file.json]`. Writes bench/results/train-throughput.json.
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpu } from '@tinyvision/backend-cpu';
import { AdamW, crossEntropy, manualSeed, randn, registerBackend, tensor, tidy } from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';
import { FashionMobileNet } from './fashion-mnist-model.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const BATCH = Number(opt('batch') ?? 64);
const STEPS = Number(opt('steps') ?? 30);
const WARMUP = Number(opt('warmup') ?? 3);
const THREADS = Number(opt('threads') ?? 2);
const OUT = opt('out') ?? join(HERE, 'results', 'train-throughput.json');
const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function runTinyvision() {
  registerBackend(cpu());
  manualSeed(0);
  const model = new FashionMobileNet();
  model.train();
  const adamw = new AdamW(model.parameters(), { lr: 4e-3, weightDecay: 1e-4 });
  const x = randn([BATCH, 1, 28, 28]);
  const y = tensor(
    Array.from({ length: BATCH }, (_, i) => i % 10),
    [BATCH],
    'int32',
  );
  const step = () => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    tidy(() => {
      const loss = crossEntropy(model.call(x), y);
      loss.backward();
      adamw.step();
      adamw.zeroGrad();
    });
    const c = process.cpuUsage(c0);
    return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
  };
  for (let i = 0; i < WARMUP; i++) step();
  const samples = Array.from({ length: STEPS }, step);
  const med = median(samples.map((s) => s.wall));
  return {
    threads: 1,
    params: model.numParameters(),
    median_ms: round(med),
    cpu_median_ms: round(median(samples.map((s) => s.cpu))),
    images_per_s: round((BATCH / med) * 1000, 1),
    times_ms: samples.map((s) => round(s.wall)),
  };
}

function runTorch(threads: number): Record<string, unknown> | null {
  try {
    const out = execFileSync(
      '/usr/bin/python3',
      [
        join(HERE, 'peers', 'torch_fashion_mnist.py'),
        JSON.stringify({ batch: BATCH, steps: STEPS, warmup: WARMUP, threads }),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const r = JSON.parse(out) as Record<string, number | string | number[]>;
    return {
      ...r,
      median_ms: round(r.median_ms as number),
      cpu_median_ms: round(r.cpu_median_ms as number),
      images_per_s: round(r.images_per_s as number, 1),
    };
  } catch (err) {
    console.error(`torch peer failed: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  const tv = runTinyvision();
  console.log(
    `tinyvision (1 thread): ${tv.median_ms} ms/step, ${tv.images_per_s} img/s (CPU ${tv.cpu_median_ms} ms/step)`,
  );
  const torch = args.includes('--no-peer') ? null : runTorch(THREADS);
  // Also one thread: on a small shared VM torch's 2-thread run can be slower than its 1-thread run.
  const torch1 = args.includes('--no-peer') || THREADS === 1 ? null : runTorch(1);
  if (torch) {
    console.log(
      `torch ${torch.torch} (${torch.threads} threads): ${torch.median_ms} ms/step, ${torch.images_per_s} img/s (CPU ${torch.cpu_median_ms} ms/step)`,
    );
    if (torch1) console.log(`torch (1 thread): ${torch1.median_ms} ms/step, ${torch1.images_per_s} img/s`);
    if (torch.params !== tv.params)
      throw new Error(`parameter counts differ: torch ${torch.params}, tinyvision ${tv.params}`);
  }
  const result = {
    benchmark: 'train-throughput',
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      logicalCores: cpus().length,
      os: `${process.platform} ${release()}`,
      node: process.version,
      loadAverage: [round(load0), round(loadavg()[0]!)],
    },
    config: {
      model: 'FashionMobileNet (bench/fashion-mnist-model.ts)',
      batch: BATCH,
      input: [BATCH, 1, 28, 28],
      steps: STEPS,
      warmup: WARMUP,
      optimizer: 'AdamW(lr 4e-3, weight decay 1e-4)',
      torchThreads: THREADS,
    },
    tinyvision: tv,
    torch,
    torch_1thread: torch1,
    ratio: torch ? round((torch.images_per_s as number) / tv.images_per_s, 2) : null,
    ratioDefinition: 'torch images/s ÷ tinyvision images/s (> 1: torch faster)',
  };
  await writeFileAtomic(OUT, `${JSON.stringify(result, null, 1)}\n`);
}

await main();
