/**
 * GEMM and convolution benchmark, single thread: tinyvision's CPU backend against a naive loop, the
 * TensorFlow.js CPU backend and PyTorch (`torch.set_num_threads(1)`, via bench/peers/torch_gemm_conv.py).
 *
 * Run: `npx tsx bench/gemm-conv.ts [--quick]`. Reports the median of N timed runs (after warm-up) per case and
 * library, and ratios `peer median / tinyvision median` (> 1: tinyvision is faster). Writes
 * bench/results/gemm-conv.json and the "GEMM and convolution" section of bench/RESULTS.md.
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Resolve workspace packages to their TypeScript sources (same as `tsx --conditions=@tinyvision/source`).
register(
  'data:text/javascript,export async function resolve(s,c,n){return n(s,{...c,conditions:[...c.conditions,"@tinyvision/source"]})}',
);

const HERE = dirname(fileURLToPath(import.meta.url));
const QUICK = process.argv.includes('--quick');

/** One benchmark case. */
interface Case {
  readonly name: string;
  readonly kind: 'gemm' | 'conv';
  /** GEMM size (square). */
  readonly n?: number;
  /** Conv input NCHW and weight OIHW. */
  readonly x?: readonly [number, number, number, number];
  readonly w?: readonly [number, number, number, number];
  readonly stride?: number;
  readonly padding?: number;
  readonly groups?: number;
  readonly runs: number;
  readonly naiveRuns: number;
}

/** Median and samples of one (case, library) measurement. */
interface Timing {
  readonly median_ms: number;
  readonly times_ms: readonly number[];
}

const CASES: Case[] = [
  { name: 'gemm 64³', kind: 'gemm', n: 64, runs: 50, naiveRuns: 20 },
  { name: 'gemm 128³', kind: 'gemm', n: 128, runs: 30, naiveRuns: 10 },
  { name: 'gemm 256³', kind: 'gemm', n: 256, runs: 20, naiveRuns: 5 },
  { name: 'gemm 512³', kind: 'gemm', n: 512, runs: 9, naiveRuns: 3 },
  {
    name: 'conv 3×3 1×32×56×56→64',
    kind: 'conv',
    x: [1, 32, 56, 56],
    w: [64, 32, 3, 3],
    stride: 1,
    padding: 1,
    groups: 1,
    runs: 15,
    naiveRuns: 3,
  },
  {
    name: 'depthwise 3×3 1×96×56×56',
    kind: 'conv',
    x: [1, 96, 56, 56],
    w: [96, 1, 3, 3],
    stride: 1,
    padding: 1,
    groups: 96,
    runs: 30,
    naiveRuns: 5,
  },
  {
    name: 'conv 1×1 1×96×56×56→24',
    kind: 'conv',
    x: [1, 96, 56, 56],
    w: [24, 96, 1, 1],
    stride: 1,
    padding: 0,
    groups: 1,
    runs: 30,
    naiveRuns: 5,
  },
];

function flops(c: Case): number {
  if (c.kind === 'gemm') return 2 * c.n! ** 3;
  const [n, , h, w] = c.x!;
  const [o, cg, kh, kw] = c.w!;
  const oh = Math.floor((h + 2 * c.padding! - kh) / c.stride!) + 1;
  const ow = Math.floor((w + 2 * c.padding! - kw) / c.stride!) + 1;
  return 2 * n * o * oh * ow * cg * kh * kw;
}

/** A timed function and how many samples to take of it. */
interface Runner {
  readonly fn: () => unknown | Promise<unknown>;
  readonly runs: number;
}

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Times several libraries on one case. Each is warmed up (≥ 1 run and ~300 ms, so V8 has optimised the hot
 * loops), then samples are taken in interleaved rounds so load changes on a shared machine hit all alike.
 */
async function measureInterleaved<K extends string>(runners: Record<K, Runner>): Promise<Record<K, Timing>> {
  const keys = Object.keys(runners) as K[];
  for (const k of keys) {
    const warmEnd = performance.now() + (QUICK ? 0 : 300);
    for (let i = 0; i < 1 || (performance.now() < warmEnd && i < 200); i++) await runners[k].fn();
  }
  const rounds = QUICK ? 1 : 5;
  const samples = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (const k of keys) {
      const want = QUICK ? Math.min(3, runners[k].runs) : runners[k].runs;
      const per = Math.ceil((want * (r + 1)) / rounds) - Math.ceil((want * r) / rounds);
      for (let i = 0; i < per; i++) {
        const t0 = performance.now();
        await runners[k].fn();
        samples[k].push(performance.now() - t0);
      }
    }
  }
  const out = {} as Record<K, Timing>;
  for (const k of keys) {
    out[k] = { median_ms: median(samples[k]), times_ms: samples[k].map((t) => Math.round(t * 1000) / 1000) };
  }
  return out;
}

function randomArray(n: number): Float32Array {
  let s = 12345;
  return Float32Array.from(
    { length: n },
    () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1,
  );
}

/** The textbook triple loop, row-major. */
function naiveGemm(n: number, a: Float32Array, b: Float32Array, c: Float32Array): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k]! * b[k * n + j]!;
      c[i * n + j] = s;
    }
  }
}

/** Direct convolution with bounds checks, seven nested loops. */
function naiveConv(c: Case, x: Float32Array, w: Float32Array, y: Float32Array): void {
  const [n, ch, h, wd] = c.x!;
  const [o, cg, kh, kw] = c.w!;
  const s = c.stride!;
  const p = c.padding!;
  const og = o / c.groups!;
  const oh = Math.floor((h + 2 * p - kh) / s) + 1;
  const ow = Math.floor((wd + 2 * p - kw) / s) + 1;
  for (let ni = 0; ni < n; ni++) {
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / og);
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let acc = 0;
          for (let ci = 0; ci < cg; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * s - p + ky;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * s - p + kx;
                if (ix < 0 || ix >= wd) continue;
                acc +=
                  x[((ni * ch + g * cg + ci) * h + iy) * wd + ix]! * w[((oc * cg + ci) * kh + ky) * kw + kx]!;
              }
            }
          }
          y[((ni * o + oc) * oh + oy) * ow + ox] = acc;
        }
      }
    }
  }
}

async function benchTinyvision(c: Case): Promise<Runner> {
  const tv = await import('@tinyvision/tensor');
  if (c.kind === 'gemm') {
    const a = tv.fromStorage(randomArray(c.n! ** 2), [c.n!, c.n!], 'float32');
    const b = tv.fromStorage(randomArray(c.n! ** 2), [c.n!, c.n!], 'float32');
    const fn = async () => {
      tv.matmul(a, b).dispose();
      await tv.getBackend().sync();
    };
    return { fn, runs: c.runs };
  }
  const x = tv.fromStorage(randomArray(c.x!.reduce((p, d) => p * d, 1)), c.x!, 'float32');
  const w = tv.fromStorage(randomArray(c.w!.reduce((p, d) => p * d, 1)), c.w!, 'float32');
  const opts = { stride: c.stride!, padding: c.padding!, groups: c.groups! };
  const fn = async () => {
    tv.conv2d(x, w, null, opts).dispose();
    await tv.getBackend().sync();
  };
  return { fn, runs: c.runs };
}

function benchNaive(c: Case): Runner {
  if (c.kind === 'gemm') {
    const n = c.n!;
    const a = randomArray(n * n);
    const b = randomArray(n * n);
    return { fn: () => naiveGemm(n, a, b, new Float32Array(n * n)), runs: c.naiveRuns };
  }
  const x = randomArray(c.x!.reduce((p, d) => p * d, 1));
  const w = randomArray(c.w!.reduce((p, d) => p * d, 1));
  const outLen = flops(c) / (2 * c.w![1] * c.w![2] * c.w![3]);
  return { fn: () => naiveConv(c, x, w, new Float32Array(outLen)), runs: c.naiveRuns };
}

async function benchTfjs(c: Case): Promise<Runner> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  if (c.kind === 'gemm') {
    const a = tf.tensor2d(randomArray(c.n! ** 2), [c.n!, c.n!]);
    const b = tf.tensor2d(randomArray(c.n! ** 2), [c.n!, c.n!]);
    return { fn: () => tf.matMul(a, b).dispose(), runs: c.runs };
  }
  // TensorFlow.js convolutions are NHWC with HWIO filters (its native layout).
  const [n, ch, h, wd] = c.x!;
  const [o, cg, kh, kw] = c.w!;
  const x = tf.tensor4d(randomArray(n * ch * h * wd), [n, h, wd, ch]);
  const pad = c.padding === 0 ? 'valid' : 'same';
  if (c.groups === ch && cg === 1) {
    const f = tf.tensor4d(randomArray(kh * kw * ch * (o / ch)), [kh, kw, ch, o / ch]);
    return { fn: () => tf.depthwiseConv2d(x, f, c.stride!, pad).dispose(), runs: c.runs };
  }
  const f = tf.tensor4d(randomArray(kh * kw * cg * o), [kh, kw, cg, o]);
  return { fn: () => tf.conv2d(x, f, c.stride!, pad).dispose(), runs: c.runs };
}

function benchTorch(cases: Case[]): { version: string; results: Record<string, Timing> } | { error: string } {
  // torch is cheap to sample: take 3× the runs (its medians swing most on a loaded machine).
  const payload = cases.map((c) => ({ ...c, runs: QUICK ? 3 : 3 * c.runs, warmup: 5 }));
  try {
    const out = execFileSync(
      '/usr/bin/python3',
      [join(HERE, 'peers', 'torch_gemm_conv.py'), JSON.stringify(payload)],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
        env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
      },
    );
    const parsed = JSON.parse(out) as {
      torch: string;
      blas: string;
      mkldnn: boolean;
      results: Record<string, Timing>;
    };
    const version = `${parsed.torch} (BLAS ${parsed.blas}${parsed.mkldnn ? ', MKL-DNN conv' : ''})`;
    return { version, results: parsed.results };
  } catch (e) {
    return { error: String((e as Error).message).split('\n')[0]! };
  }
}

const LIBS = ['tinyvision', 'naive', 'tfjs', 'torch'] as const;
type Lib = (typeof LIBS)[number];

async function main(): Promise<void> {
  const tv = await import('@tinyvision/tensor');
  const { cpu } = await import('@tinyvision/backend-cpu');
  tv.registerBackend(cpu());
  await tv.useBackend('cpu');
  const tfjsVersion = (await import('@tensorflow/tfjs-core')).version_core;
  const loadBefore = loadavg()[0]!;
  const rows: { c: Case; t: Partial<Record<Lib, Timing>> }[] = [];
  for (const c of CASES) {
    const t: Partial<Record<Lib, Timing>> = await measureInterleaved({
      tinyvision: await benchTinyvision(c),
      naive: benchNaive(c),
      tfjs: await benchTfjs(c),
    });
    rows.push({ c, t });
    process.stderr.write(`${c.name}: tinyvision ${t.tinyvision!.median_ms.toFixed(2)} ms\n`);
  }
  const torch = benchTorch(CASES);
  if ('results' in torch) for (const r of rows) r.t.torch = torch.results[r.c.name];
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    logicalCores: cpus().length,
    os: `${process.platform} ${release()}`,
    node: process.version,
    // 1-minute load average before and after the run: other processes on a shared machine skew medians.
    loadAverage: [round(loadBefore), round(loadavg()[0]!)],
  };
  const json = {
    benchmark: 'gemm-conv',
    date: new Date().toISOString(),
    machine,
    quick: QUICK,
    threads: 1,
    versions: { tfjs: tfjsVersion, torch: 'version' in torch ? torch.version : null },
    torchError: 'error' in torch ? torch.error : undefined,
    ratioDefinition: 'peer median time / tinyvision median time (> 1: tinyvision faster)',
    cases: rows.map(({ c, t }) => ({
      name: c.name,
      flop: flops(c),
      results: Object.fromEntries(
        LIBS.filter((l) => t[l]).map((l) => [
          l,
          {
            median_ms: round(t[l]!.median_ms),
            gflops: round(flops(c) / t[l]!.median_ms / 1e6),
            runs: t[l]!.times_ms.length,
            ratio: round(t[l]!.median_ms / t.tinyvision!.median_ms),
            times_ms: t[l]!.times_ms.map(round),
          },
        ]),
      ),
    })),
  };
  const resultsDir = join(HERE, 'results');
  if (!existsSync(resultsDir)) mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'gemm-conv.json'), `${JSON.stringify(json, null, 2)}\n`);
  const md = markdown(json);
  writeResultsMd(md);
  process.stdout.write(`${md}\n`);
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function markdown(j: {
  date: string;
  machine: { cpu: string; logicalCores: number; os: string; node: string; loadAverage: number[] };
  versions: Record<string, string | null>;
  quick: boolean;
  cases: { name: string; results: Record<string, { median_ms: number; gflops: number; ratio: number }> }[];
}): string {
  const cell = (r?: { median_ms: number; gflops: number }) =>
    r ? `${r.median_ms.toFixed(2)} ms (${r.gflops.toFixed(2)})` : 'n/a';
  const ratio = (r?: { ratio: number }) => (r ? `${r.ratio.toFixed(2)}×` : 'n/a');
  const lines = [
    START,
    '## GEMM and convolution (CPU, single thread)',
    '',
    `Run: \`npx tsx bench/gemm-conv.ts\`${j.quick ? ' (--quick: few runs, indicative only)' : ''}. ` +
      `Date ${j.date.slice(0, 10)}; ${j.machine.cpu} (${j.machine.logicalCores} logical cores), ` +
      `${j.machine.os}, Node ${j.machine.node}; tfjs-backend-cpu ${j.versions.tfjs}; torch ${j.versions.torch ?? 'n/a'} ` +
      '(`set_num_threads(1)`). float32; all libraries single-threaded. 1-minute load average before/after: ' +
      `${j.machine.loadAverage.join(' / ')} (a shared machine: other processes add noise).`,
    '',
    'Cells: median time (GFLOP/s). Ratio = peer median / tinyvision median (> 1: tinyvision is faster). ' +
      'tinyvision and the naive loop use NCHW/OIHW; TensorFlow.js uses its native NHWC/HWIO layout. GFLOP/s are ' +
      'nominal (direct-convolution FLOPs / time): torch convolutions run in MKL-DNN (AVX-512, possibly Winograd), ' +
      'its matmul in the generic BLAS of this Debian build. torch is timed after one untimed pass over all cases ' +
      "(its allocator's steady state).",
    '',
    '| case | tinyvision | naive loop | tfjs cpu | torch (1 thread) | naive / tv | tfjs / tv | torch / tv |',
    '|---|---|---|---|---|---|---|---|',
    ...j.cases.map(
      (c) =>
        `| ${c.name} | ${cell(c.results.tinyvision)} | ${cell(c.results.naive)} | ${cell(c.results.tfjs)} | ` +
        `${cell(c.results.torch)} | ${ratio(c.results.naive)} | ${ratio(c.results.tfjs)} | ${ratio(c.results.torch)} |`,
    ),
    '',
    'Raw samples: `bench/results/gemm-conv.json`.',
    END,
  ];
  return lines.join('\n');
}

const START = '<!-- gemm-conv:start -->';
const END = '<!-- gemm-conv:end -->';

/** Replaces this benchmark's section of bench/RESULTS.md (other sections are kept). */
function writeResultsMd(section: string): void {
  const file = join(HERE, 'RESULTS.md');
  let text = existsSync(file)
    ? readFileSync(file, 'utf8')
    : '# Benchmark results\n\nEach section is written by its benchmark script; rerun the script to refresh it.\n';
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a >= 0 && b > a) text = `${text.slice(0, a)}${section}${text.slice(b + END.length)}`;
  else text = `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, text);
}

await main();
