/**
 * Training-step benchmark, single thread: one forward + backward + AdamW step of the demo conv net
 * (`examples/01-train-convnet.ts`: conv(1→16,3×3,p1)-BN-ReLU-maxpool2-conv(16→32,3×3,p1)-BN-ReLU-maxpool2-GAP-
 * linear(32→10), batch 64, 28×28 inputs) on the CPU backend, against the same step in PyTorch
 * (`torch.set_num_threads(1)`, via bench/peers/torch_train_step.py).
 *
 * Run: `npx tsx --conditions=@tinyvision/source bench/train-step.ts [--runs N] [--no-peer] [--no-write]
 * [--out file.json] [--before file.json]`. Reports the median of N timed steps after warm-up, the median of each
 * phase (forward, backward, optimizer), and a per-kernel breakdown (self time of each CPU kernel per step,
 * measured in extra steps with timing wrappers). Writes bench/results/train-step.json and the "Training step"
 * section of bench/RESULTS.md. `--before` embeds an earlier run's JSON as the "before" numbers (otherwise the
 * previous results file's "before" is kept).
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpu } from '@tinyvision/backend-cpu';
import { cpuKernels } from '@tinyvision/backend-cpu/internal';
import {
  AdamW,
  batchNorm,
  conv2d,
  crossEntropy,
  globalAvgPool,
  type KernelConfig,
  linear,
  manualSeed,
  maxPool2d,
  ones,
  randn,
  registerBackend,
  relu,
  reshape,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from '@tinyvision/tensor';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(opt('runs') ?? 10);
const WARMUP = 3;
const PROFILE_RUNS = 5;
const BATCH = 64;

/** Median of samples. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

/** The demo model's parameters and BN buffers. */
function makeModel() {
  const kaiming = (shape: number[], fanIn: number) =>
    randn(shape, { std: Math.sqrt(2 / fanIn) }).requiresGrad_();
  const p = {
    w1: kaiming([16, 1, 3, 3], 9),
    g1: ones([16]).requiresGrad_(),
    b1: zeros([16]).requiresGrad_(),
    w2: kaiming([32, 16, 3, 3], 16 * 9),
    g2: ones([32]).requiresGrad_(),
    b2: zeros([32]).requiresGrad_(),
    fw: kaiming([10, 32], 32),
    fb: zeros([10]).requiresGrad_(),
  };
  const buf = { rm1: zeros([16]), rv1: ones([16]), rm2: zeros([32]), rv2: ones([32]) };
  return { p, buf };
}

type Model = ReturnType<typeof makeModel>;

function forward({ p, buf }: Model, x: Tensor): Tensor {
  const bn = (h: Tensor, rm: Tensor, rv: Tensor, g: Tensor, b: Tensor) =>
    batchNorm(h, { runningMean: rm, runningVar: rv, weight: g, bias: b, training: true });
  let h = relu(bn(conv2d(x, p.w1, null, { padding: 1 }), buf.rm1, buf.rv1, p.g1, p.b1));
  h = maxPool2d(h, { kernelSize: 2 });
  h = relu(bn(conv2d(h, p.w2, null, { padding: 1 }), buf.rm2, buf.rv2, p.g2, p.b2));
  h = maxPool2d(h, { kernelSize: 2 });
  return linear(reshape(globalAvgPool(h), [x.shape[0]!, 32]), p.fw, p.fb);
}

/** Phase times of one step, in ms. */
interface StepTimes {
  readonly total: number;
  /** Process CPU time (user + system) of the step: less sensitive than wall time to other processes. */
  readonly cpu: number;
  readonly forward: number;
  readonly backward: number;
  readonly optimizer: number;
}

function makeStep() {
  const model = makeModel();
  const adamw = new AdamW(Object.values(model.p), { lr: 3e-3, weightDecay: 1e-4 });
  const x = randn([BATCH, 1, 28, 28]);
  const y = tensor(
    Array.from({ length: BATCH }, (_, i) => i % 10),
    [BATCH],
    'int32',
  );
  return (): StepTimes => {
    const t = [0, 0, 0, 0];
    const c0 = process.cpuUsage();
    tidy(() => {
      t[0] = performance.now();
      const loss = crossEntropy(forward(model, x), y);
      t[1] = performance.now();
      adamw.zeroGrad();
      loss.backward();
      t[2] = performance.now();
      adamw.step();
      t[3] = performance.now();
    });
    const c = process.cpuUsage(c0);
    return {
      total: t[3]! - t[0]!,
      cpu: (c.user + c.system) / 1000,
      forward: t[1]! - t[0]!,
      backward: t[2]! - t[1]!,
      optimizer: t[3]! - t[2]!,
    };
  };
}

/** Kernel self times (ms, summed) and call counts while `on`. */
const kernelTime = new Map<string, { ms: number; calls: number }>();
let timing = false;

/** Wraps every CPU kernel so its self time is recorded while `timing` is on. */
function instrumentKernels(): void {
  for (const k of cpuKernels as KernelConfig[]) {
    const f = k.kernelFunc;
    (k as { kernelFunc: KernelConfig['kernelFunc'] }).kernelFunc = (ctx) => {
      if (!timing) return f(ctx);
      const t = performance.now();
      const r = f(ctx);
      const e = kernelTime.get(k.kernelName) ?? { ms: 0, calls: 0 };
      e.ms += performance.now() - t;
      e.calls++;
      kernelTime.set(k.kernelName, e);
      return r;
    };
  }
}

/** Result of the tinyvision side. */
interface TvResult {
  readonly median_ms: number;
  readonly times_ms: readonly number[];
  /** Median process CPU time per step (ms). */
  readonly cpu_median_ms?: number;
  readonly phases: { forward: number; backward: number; optimizer: number };
  readonly kernels: readonly { name: string; ms_per_step: number; calls_per_step: number }[];
}

function runTinyvision(): TvResult {
  const step = makeStep();
  for (let i = 0; i < WARMUP; i++) step();
  const samples = Array.from({ length: RUNS }, () => step());
  instrumentKernels();
  timing = true;
  for (let i = 0; i < PROFILE_RUNS; i++) step();
  timing = false;
  const kernels = [...kernelTime.entries()]
    .map(([name, e]) => ({
      name,
      ms_per_step: round(e.ms / PROFILE_RUNS),
      calls_per_step: e.calls / PROFILE_RUNS,
    }))
    .sort((a, b) => b.ms_per_step - a.ms_per_step);
  return {
    median_ms: round(median(samples.map((s) => s.total))),
    times_ms: samples.map((s) => round(s.total)),
    cpu_median_ms: round(median(samples.map((s) => s.cpu))),
    phases: {
      forward: round(median(samples.map((s) => s.forward))),
      backward: round(median(samples.map((s) => s.backward))),
      optimizer: round(median(samples.map((s) => s.optimizer))),
    },
    kernels,
  };
}

function runTorch(): Record<string, unknown> | null {
  try {
    const out = execFileSync(
      '/usr/bin/python3',
      [
        join(HERE, 'peers', 'torch_train_step.py'),
        JSON.stringify({ batch: BATCH, runs: RUNS, warmup: WARMUP }),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    return JSON.parse(out) as Record<string, unknown>;
  } catch (err) {
    console.error(`torch peer failed: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}

interface TorchResult {
  readonly torch: string;
  readonly median_ms: number;
  readonly cpu_median_ms?: number;
  readonly phases: { forward: number; backward: number; optimizer: number };
  readonly ops: readonly { name: string; ms_per_step: number; calls_per_step: number }[];
}

interface Results {
  readonly date: string;
  readonly machine: Record<string, unknown>;
  readonly config: Record<string, unknown>;
  readonly tinyvision: TvResult;
  readonly torch: TorchResult | null;
  readonly before?: { readonly note: string; readonly tinyvision: TvResult };
}

function section(r: Results): string {
  const tv = r.tinyvision;
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const cpuMs = (x: TvResult) => (x.cpu_median_ms === undefined ? '' : ms(x.cpu_median_ms));
  const t = r.torch;
  const b = r.before?.tinyvision;
  const lines = [
    START,
    '## Training step (CPU, single thread)',
    '',
    `Run: \`npx tsx --conditions=@tinyvision/source bench/train-step.ts\`. Date ${r.date}; ${r.machine.cpu} (${r.machine.logicalCores} logical cores), Node ${r.machine.node}${t ? `; torch ${t.torch} (\`set_num_threads(1)\`)` : ''}. 1-minute load average before/after: ${(r.machine.loadAverage as number[]).join(' / ')} (a shared machine: other processes add noise).`,
    '',
    `One step of the demo conv net (\`examples/01-train-convnet.ts\`): conv(1→16,3×3)-BN-ReLU-maxpool-conv(16→32,3×3)-BN-ReLU-maxpool-GAP-linear(32→10), batch ${BATCH}, 1×28×28, training-mode BN, cross-entropy, AdamW. Median of ${RUNS} steps after ${WARMUP} warm-up steps.`,
    '',
    `| | step (fwd+bwd+opt) | step CPU time | forward | backward | optimizer |`,
    '|---|---|---|---|---|---|',
    ...(b
      ? [
          `| tinyvision before (${r.before!.note}) | ${ms(b.median_ms)} | ${cpuMs(b)} | ${ms(b.phases.forward)} | ${ms(b.phases.backward)} | ${ms(b.phases.optimizer)} |`,
        ]
      : []),
    `| tinyvision | **${ms(tv.median_ms)}** | ${cpuMs(tv)} | ${ms(tv.phases.forward)} | ${ms(tv.phases.backward)} | ${ms(tv.phases.optimizer)} |`,
    ...(t
      ? [
          `| torch (1 thread) | ${ms(t.median_ms)} | ${t.cpu_median_ms === undefined ? '' : ms(t.cpu_median_ms)} | ${ms(t.phases.forward)} | ${ms(t.phases.backward)} | ${ms(t.phases.optimizer)} |`,
        ]
      : []),
    '',
    `tinyvision / torch: ${t ? `${(tv.median_ms / t.median_ms).toFixed(2)}×` : 'n/a'}${b ? `; speed-up over before: ${(b.median_ms / tv.median_ms).toFixed(1)}×` : ''}. On this shared VM the median of one run moves by up to ±30% between runs (page faults on fresh output buffers and other tenants); compare only numbers taken minutes apart, as the before and after rows are.`,
    '',
    'Top kernels per step (tinyvision: self time of each CPU kernel; torch: autograd-profiler self CPU time):',
    '',
    '| tinyvision kernel | ms/step | calls | torch op | ms/step | calls |',
    '|---|---|---|---|---|---|',
    ...Array.from({ length: 10 }, (_, i) => {
      const k = tv.kernels[i];
      const o = t?.ops[i];
      const a = k ? `${k.name} | ${k.ms_per_step.toFixed(1)} | ${round(k.calls_per_step, 1)}` : ' | | ';
      const c = o ? `${o.name} | ${o.ms_per_step.toFixed(1)} | ${round(o.calls_per_step, 1)}` : ' | | ';
      return `| ${a} | ${c} |`;
    }),
    '',
    'Raw samples and the full kernel list: `bench/results/train-step.json`.',
    END,
  ];
  return lines.join('\n');
}

const START = '<!-- train-step:start -->';
const END = '<!-- train-step:end -->';

/** Replaces this benchmark's section of bench/RESULTS.md, or appends it (other sections are kept). */
function writeResultsMd(text: string): void {
  const file = join(HERE, 'RESULTS.md');
  let md = existsSync(file)
    ? readFileSync(file, 'utf8')
    : '# Benchmark results\n\nEach section is written by its benchmark script; rerun the script to refresh it.\n';
  const a = md.indexOf(START);
  const b = md.indexOf(END);
  if (a >= 0 && b > a) md = `${md.slice(0, a)}${text}${md.slice(b + END.length)}`;
  else md = `${md.trimEnd()}\n\n${text}\n`;
  writeFileSync(file, md);
}

function main(): void {
  registerBackend(cpu());
  manualSeed(0);
  const loadBefore = loadavg()[0]!;
  const tv = runTinyvision();
  console.log(
    `tinyvision: step ${tv.median_ms} ms, CPU ${tv.cpu_median_ms} ms (forward ${tv.phases.forward}, backward ${tv.phases.backward}, optimizer ${tv.phases.optimizer})`,
  );
  for (const k of tv.kernels.slice(0, 12)) {
    console.log(`  ${k.name.padEnd(22)} ${k.ms_per_step.toFixed(1).padStart(7)} ms  ×${k.calls_per_step}`);
  }
  const torch = args.includes('--no-peer') ? null : (runTorch() as TorchResult | null);
  if (torch) console.log(`torch: step ${round(torch.median_ms)} ms`);
  const resultsFile = join(HERE, 'results', 'train-step.json');
  const beforeFile = opt('before');
  let before: Results['before'];
  if (beforeFile) {
    const prev = JSON.parse(readFileSync(beforeFile, 'utf8')) as Results;
    before = { note: opt('before-note') ?? prev.date, tinyvision: prev.tinyvision };
  } else if (existsSync(resultsFile)) {
    before = (JSON.parse(readFileSync(resultsFile, 'utf8')) as Results).before;
  }
  const results: Results = {
    date: new Date().toISOString().slice(0, 10),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      logicalCores: cpus().length,
      os: `${process.platform} ${release()}`,
      node: process.version,
      loadAverage: [round(loadBefore), round(loadavg()[0]!)],
    },
    config: { batch: BATCH, runs: RUNS, warmup: WARMUP, profileRuns: PROFILE_RUNS, dtype: 'float32' },
    tinyvision: tv,
    torch,
    ...(before ? { before } : {}),
  };
  const out = opt('out');
  if (out) writeFileSync(out, `${JSON.stringify(results, null, 1)}\n`);
  if (args.includes('--no-write')) return;
  mkdirSync(dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 1)}\n`);
  writeResultsMd(section(results));
}

main();
