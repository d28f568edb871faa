import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/** Options of the `bench` command, as commander parses them. */
interface BenchFlags {
  readonly backend: string;
  readonly threads: string;
  readonly batch: string;
  readonly runs: string;
  readonly warmup: string;
  readonly json?: boolean;
}

/** What `tinyvision bench --json` prints. */
export interface BenchReport {
  /** The model argument. */
  readonly model: string;
  /** Backend the graph ran on. */
  readonly backend: string;
  /** Threads the backend used. */
  readonly threads: number;
  /** Whether the backend ran SIMD kernels. */
  readonly simd: boolean;
  /** Batch size. */
  readonly batch: number;
  /** Timed runs (after `warmup` untimed ones). */
  readonly runs: number;
  /** Latency statistics of one `runGraph` call (output read back included), ms. */
  readonly min_ms: number;
  readonly median_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  /** Model load: parse/build, weight upload and the first (warm-up) run, ms. */
  readonly load_ms: number;
  /** Size of the model file (for zoo models: of its .tvm encoding), bytes. */
  readonly file_bytes: number;
  /** Peak memory while running: tensor memory high-water (wasm) or process max RSS (others). */
  readonly peak_bytes: number;
  /** How `peak_bytes` was measured. */
  readonly peak_source: 'wasm-heap' | 'process-max-rss';
  /** Nodes that fell back to the CPU reference (kernel names, deduplicated). */
  readonly fallbacks: readonly string[];
}

function positiveInt(flag: string, v: string, InvalidArgumentError: new (m: string) => Error): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`bench: --${flag} must be a positive integer, got '${v}'`);
  return n;
}

function quantile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** Registers and activates `name` (the CPU backend is built in; others load `@tinyvision/backend-<name>`). */
async function activate(name: string) {
  const t = await import('@tinyvision/tensor');
  const { cpu } = await import('@tinyvision/backend-cpu');
  t.registerBackend(cpu());
  if (name !== 'cpu') {
    const pkg = `@tinyvision/backend-${name}`;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pkg)) as Record<string, unknown>;
    } catch (e) {
      throw new t.BackendNotFoundError(`backend '${name}': cannot load ${pkg} (${(e as Error).message})`);
    }
    const factory = mod[name];
    if (typeof factory !== 'function')
      throw new t.BackendNotFoundError(`${pkg} exports no '${name}()' factory`);
    t.registerBackend(factory() as Parameters<typeof t.registerBackend>[0]);
  }
  return t.useBackend(name);
}

/** Loads the graph: a zoo name (random weights, traced at `batch`, optimized), or a .tvm / .onnx file. */
async function loadGraph(spec: string, batch: number) {
  const t = await import('@tinyvision/tensor');
  if (spec.endsWith('.tvm') || spec.endsWith('.onnx')) {
    const { readFile } = await import('node:fs/promises');
    const bytes = (await readFile(spec)).length;
    const graph = spec.endsWith('.tvm')
      ? await (await import('@tinyvision/tensor/node')).loadTvm(spec)
      : await (await import('@tinyvision/export/node')).loadOnnx(spec);
    return { graph, bytes };
  }
  const models = await import('@tinyvision/models');
  if (!models.isModelName(spec)) {
    throw new t.InvalidArgumentError(
      `bench: '${spec}' is neither a model file (.tvm, .onnx) nor a zoo model; zoo names: ${models.MODEL_NAMES.join(', ')}`,
    );
  }
  const m = models.createModel(spec);
  const r = m.resolution;
  const graph = t.optimizeGraph(models.traceModule(m, [t.randn([batch, 3, r, r])], { name: spec }));
  return { graph, bytes: t.encodeTvm(graph).length };
}

/** Input tensors for the graph's inputs, binding symbolic dims to `batch` (fixed dims must match). */
async function makeInputs(graph: import('@tinyvision/tensor').Graph, batch: number) {
  const t = await import('@tinyvision/tensor');
  return graph.inputs.map((name) => {
    const info = graph.values.get(name)!;
    const shape = info.shape.map((d, i) => {
      if (typeof d === 'string') return i === 0 ? batch : 1;
      if (i === 0 && d !== batch) {
        throw new t.InvalidArgumentError(
          `bench: input '${name}' has a fixed batch of ${d}; --batch ${batch} needs a zoo model or a symbolic batch dim`,
        );
      }
      return d;
    });
    return t.isFloat(info.dtype) ? t.randn(shape).cast(info.dtype) : t.zeros(shape, info.dtype);
  });
}

async function bench(model: string, o: BenchFlags, io: CliIO): Promise<BenchReport> {
  const t = await import('@tinyvision/tensor');
  const runs = positiveInt('runs', o.runs, t.InvalidArgumentError);
  const batch = positiveInt('batch', o.batch, t.InvalidArgumentError);
  const threads = positiveInt('threads', o.threads, t.InvalidArgumentError);
  const warmup = Number(o.warmup);
  if (!Number.isInteger(warmup) || warmup < 0)
    throw new t.InvalidArgumentError(`bench: --warmup must be a non-negative integer, got '${o.warmup}'`);
  const t0 = performance.now();
  const backend = await activate(o.backend);
  const { graph, bytes } = await loadGraph(model, batch);
  const info = backend.info?.() ?? { threads: 1, simd: false };
  if (threads !== info.threads) {
    io.err(
      `tinyvision bench: backend '${backend.name}' runs ${info.threads} thread(s); --threads ${threads} is not applied\n`,
    );
  }
  const inputs = await makeInputs(graph, batch);
  const runner = t.createGraphRunner(graph);
  const heap = (backend as { heap?: { peak: number; resetPeak(): void } }).heap;
  const fallbacks = new Set<string>();
  const once = () => {
    const r = runner.run(inputs);
    for (const y of r.outputs) {
      y.dataSync();
      y.dispose();
    }
    for (const f of r.fallbacks) fallbacks.add(f.kernel);
  };
  try {
    once();
    const loadMs = performance.now() - t0;
    for (let i = 1; i < warmup; i++) once();
    heap?.resetPeak();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = performance.now();
      once();
      times.push(performance.now() - s);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const r2 = (v: number) => Math.round(v * 1000) / 1000;
    return {
      model,
      backend: backend.name,
      threads: info.threads,
      simd: info.simd,
      batch,
      runs,
      min_ms: r2(sorted[0]!),
      median_ms: r2(quantile(sorted, 0.5)),
      p90_ms: r2(quantile(sorted, 0.9)),
      p99_ms: r2(quantile(sorted, 0.99)),
      load_ms: r2(loadMs),
      file_bytes: bytes,
      peak_bytes: heap ? heap.peak : process.resourceUsage().maxRSS * 1024,
      peak_source: heap ? 'wasm-heap' : 'process-max-rss',
      fallbacks: [...fallbacks].sort(),
    };
  } finally {
    runner.dispose();
    for (const x of inputs) x.dispose();
  }
}

/**
 * Adds `bench <model> [--backend wasm|cpu] [--threads N] [--batch B] [--runs N] [--warmup N] [--json]`: times
 * `runGraph` on a zoo model (random weights), a `.tvm` or an `.onnx` file and prints latency statistics
 * (`min_ms`, `median_ms`, `p90_ms`, `p99_ms`), load time, file size and peak memory.
 * @param program - the program
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the program
 * @internal
 */
export function addBenchCommand(program: Command, io: CliIO, setExit: (code: number) => void): Command {
  program
    .command('bench')
    .description(
      'time inference of a zoo model, .tvm or .onnx file on a backend (latency, load time, memory)',
    )
    .argument('<model>', 'zoo model name, model.tvm or model.onnx')
    .option('-b, --backend <name>', 'backend to run on (cpu, wasm, …)', 'cpu')
    .option('--threads <n>', 'threads (the cpu and wasm backends run one)', '1')
    .option('--batch <n>', 'batch size (zoo models are traced at this batch)', '1')
    .option('--runs <n>', 'timed runs', '20')
    .option('--warmup <n>', 'untimed runs before timing (the first one counts as load)', '3')
    .option('--json', 'print one JSON object instead of text')
    .action(async (model: string, o: BenchFlags) => {
      try {
        const r = await bench(model, o, io);
        if (o.json) io.out(`${JSON.stringify(r)}\n`);
        else {
          io.out(
            `${r.model} on ${r.backend}${r.simd ? ' (SIMD)' : ''}, batch ${r.batch}, ${r.threads} thread(s), ${r.runs} runs\n` +
              `  median ${r.median_ms.toFixed(2)} ms  p90 ${r.p90_ms.toFixed(2)} ms  min ${r.min_ms.toFixed(2)} ms  p99 ${r.p99_ms.toFixed(2)} ms\n` +
              `  load ${r.load_ms.toFixed(1)} ms  file ${r.file_bytes} bytes  peak ${r.peak_bytes} bytes (${r.peak_source})\n` +
              (r.fallbacks.length ? `  CPU fallbacks: ${r.fallbacks.join(', ')}\n` : ''),
          );
        }
        setExit(0);
      } catch (e) {
        const { TinyVisionError } = await import('@tinyvision/tensor');
        if (!TinyVisionError.isInstance(e) && (e as { code?: string }).code !== 'ENOENT') throw e;
        io.err(`tinyvision bench: ${(e as Error).message}\n`);
        setExit(1);
      }
    });
  return program;
}
