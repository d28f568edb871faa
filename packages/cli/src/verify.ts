// tinyvision verify: export a graph to each format, run the file in its reference runtime, compare with our
// own outputs, and when they differ find the first divergent node by comparing every intermediate tensor.
import type { Graph, Tensor } from '@tinyvision/tensor';

/** Formats {@link verifyFormats} can check. */
export type VerifyFormat = 'onnx' | 'tflite' | 'coreml';

/** Per-format result of {@link verifyFormats}. */
export interface FormatParity {
  /** The format. */
  readonly format: VerifyFormat;
  /** What ran the exported file. */
  readonly runtime: string;
  /** `'ok'` within tolerance, `'mismatch'` beyond it, `'error'` when export or the runtime failed. */
  readonly status: 'ok' | 'mismatch' | 'error';
  /** Largest absolute difference over all outputs. */
  readonly maxAbsError?: number;
  /** Mean absolute difference over all outputs. */
  readonly meanAbsError?: number;
  /** `maxAbsError` divided by the largest |reference| value. */
  readonly maxRelError?: number;
  /** Exported file size in bytes. */
  readonly bytes?: number;
  /** When outputs differ: the first node (topological order) whose output already differs. */
  readonly firstDivergentNode?: { readonly name: string; readonly op: string; readonly maxRelError: number };
  /** The error message when `status` is `'error'`. */
  readonly error?: string;
}

/** Options of {@link verifyFormats}. */
export interface VerifyOptions {
  /** Relative tolerance (max |Δ| / max |reference|), default 1e-4. */
  readonly tolerance?: number;
  /** The input to feed (default: seeded standard normal of the input's shape with batch 1). */
  readonly input?: Tensor;
  /** Replace a format's runner (a custom runtime, or a deliberately broken one in tests). */
  readonly runners?: Partial<Record<VerifyFormat, { readonly runtime: string; readonly run: Runner }>>;
}

interface Diff {
  maxAbs: number;
  meanAbs: number;
  rel: number;
}

function diff(ref: Float32Array, got: Float32Array): Diff {
  let maxAbs = 0;
  let sum = 0;
  let range = 0;
  const n = Math.min(ref.length, got.length);
  for (let i = 0; i < n; i++) {
    const a = ref[i] as number;
    const d = Math.abs(a - (got[i] as number));
    if (Number.isNaN(d))
      return { maxAbs: Number.POSITIVE_INFINITY, meanAbs: Number.NaN, rel: Number.POSITIVE_INFINITY };
    maxAbs = Math.max(maxAbs, d);
    sum += d;
    range = Math.max(range, Math.abs(a));
  }
  if (ref.length !== got.length)
    return { maxAbs: Number.POSITIVE_INFINITY, meanAbs: Number.NaN, rel: Number.POSITIVE_INFINITY };
  return { maxAbs, meanAbs: n > 0 ? sum / n : 0, rel: maxAbs / Math.max(range, 1e-12) };
}

function combine(ds: Diff[]): Diff {
  return {
    maxAbs: Math.max(...ds.map((d) => d.maxAbs)),
    meanAbs: ds.reduce((a, d) => a + d.meanAbs, 0) / Math.max(ds.length, 1),
    rel: Math.max(...ds.map((d) => d.rel)),
  };
}

/** The graph with every float node output also a graph output (for intermediate comparisons). */
async function withAllOutputs(
  graph: Graph,
): Promise<{ graph: Graph; probes: { name: string; node: string; op: string }[] }> {
  const { makeGraph } = await import('@tinyvision/tensor');
  const probes: { name: string; node: string; op: string }[] = [];
  for (const n of graph.nodes) {
    for (const o of n.outputs) {
      if (graph.values.get(o)?.dtype === 'float32' && !graph.outputs.includes(o))
        probes.push({ name: o, node: n.name, op: n.op });
    }
  }
  return {
    graph: makeGraph({ ...graph, outputs: [...graph.outputs, ...probes.map((p) => p.name)] }),
    probes,
  };
}

/** Exports `g`, runs the file on `x`, and returns the outputs by our output names plus the file size. */
export type Runner = (g: Graph, x: Tensor) => Promise<{ outputs: Map<string, Float32Array>; bytes: number }>;

async function reference(g: Graph, x: Tensor): Promise<Map<string, Float32Array>> {
  const { runGraph } = await import('@tinyvision/tensor');
  const r = runGraph(g, [x]);
  const m = new Map<string, Float32Array>();
  g.outputs.forEach((o, i) => {
    const t = r.outputs[i] as Tensor;
    m.set(o, t.dataSync() as Float32Array);
    t.dispose();
  });
  return m;
}

const runOnnx: Runner = async (g, x) => {
  const [{ exportOnnx }, ort] = await Promise.all([import('@tinyvision/export'), import('onnxruntime-node')]);
  const bytes = exportOnnx(g);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds = {
      [session.inputNames[0] as string]: new ort.Tensor('float32', x.dataSync() as Float32Array, [
        ...x.shape,
      ]),
    };
    const res = await session.run(feeds);
    const outputs = new Map<string, Float32Array>();
    for (const name of session.outputNames) outputs.set(name, res[name]?.data as Float32Array);
    return { outputs, bytes: bytes.byteLength };
  } finally {
    await session.release();
  }
};

const runCoreML: Runner = async (g, x) => {
  const { exportCoreML, importCoreML, validateCoreML } = await import('@tinyvision/export');
  const bytes = exportCoreML(g);
  const v = validateCoreML(bytes);
  if (!v.ok) throw new Error(`the .mlmodel fails validation: ${v.issues.slice(0, 3).join('; ')}`);
  const back = importCoreML(bytes);
  // Core ML names values as safe identifiers; map them back to ours by position of the outputs.
  const ref = await reference(back, x);
  const outputs = new Map<string, Float32Array>();
  g.outputs.forEach((o, i) => outputs.set(o, ref.get(back.outputs[i] as string) as Float32Array));
  return { outputs, bytes: bytes.byteLength };
};

/**
 * TFLite: the official interpreter compiled to WASM (@tensorflow/tfjs-tflite), run in a child Node process by
 * the runner in the `@tinyvision/tflite-oracle` workspace (it pins the tfjs-core version the interpreter needs).
 * Absent from a published install: the format is then reported as unavailable.
 */
const runTflite: Runner = async (g, x) => {
  const [{ exportTflite }, { createRequire }, fs, os, path, cp] = await Promise.all([
    import('@tinyvision/export'),
    import('node:module'),
    import('node:fs'),
    import('node:os'),
    import('node:path'),
    import('node:child_process'),
  ]);
  let runner: string;
  try {
    runner = path.join(
      path.dirname(createRequire(import.meta.url).resolve('@tinyvision/tflite-oracle/package.json')),
      'run-tfjs.cjs',
    );
  } catch {
    throw new Error('no TFLite interpreter here (the @tinyvision/tflite-oracle workspace is not installed)');
  }
  const bytes = exportTflite(g, { layout: 'nchw' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tv-verify-'));
  try {
    const model = path.join(dir, 'model.tflite');
    fs.writeFileSync(model, bytes);
    const req = path.join(dir, 'req.json');
    const res = path.join(dir, 'res.json');
    const data = Array.from(x.dataSync() as Float32Array);
    fs.writeFileSync(
      req,
      JSON.stringify({ cases: [{ model, inputs: [{ data, shape: x.shape, dtype: 'float32' }] }] }),
    );
    const r = cp.spawnSync(process.execPath, [runner, req, res], {
      encoding: 'utf8',
      cwd: path.dirname(runner),
    });
    if (r.status !== 0) throw new Error(`the TFLite interpreter failed: ${(r.stderr || '').split('\n')[0]}`);
    const [result] = (
      JSON.parse(fs.readFileSync(res, 'utf8')) as {
        results: { outputs?: { data: number[] }[]; error?: string }[];
      }
    ).results;
    if (!result?.outputs)
      throw new Error(`the TFLite interpreter rejected the model: ${result?.error?.split('\n')[0]}`);
    const outputs = new Map<string, Float32Array>();
    g.outputs.forEach((o, i) => outputs.set(o, Float32Array.from(result.outputs?.[i]?.data ?? [])));
    return { outputs, bytes: bytes.byteLength };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

const RUNTIMES: Record<VerifyFormat, { runtime: string; run?: Runner; note?: string }> = {
  onnx: { runtime: 'onnxruntime-node (CPU EP)', run: runOnnx },
  coreml: {
    runtime: 'tinyvision Core ML reader (no Core ML runtime exists off Apple platforms)',
    run: runCoreML,
  },
  tflite: { runtime: 'TFLite interpreter (tfjs-tflite WASM, XNNPACK)', run: runTflite },
};

/**
 * The built-in runner of a format (onnxruntime-node for ONNX, our reader for Core ML).
 * @param format - the format
 * @returns the runner, if one is available
 * @internal
 */
export function builtinRunner(format: VerifyFormat): Runner | undefined {
  return RUNTIMES[format].run;
}

/**
 * Exports `graph` to each format, runs the file in the format's reference runtime on the same input, and
 * compares with our own `runGraph` outputs. When a format's outputs differ beyond the tolerance it exports again
 * with every intermediate tensor as an extra output and reports the first node (in topological order) whose
 * output already differs — where a converter bug usually sits.
 * @param graph - an optimized float32 graph with one input
 * @param formats - formats to check
 * @param opts - tolerance, input, opset
 * @returns one result per format
 * @internal
 */
export async function verifyFormats(
  graph: Graph,
  formats: readonly VerifyFormat[],
  opts: VerifyOptions = {},
): Promise<FormatParity[]> {
  const { randn, manualSeed } = await import('@tinyvision/tensor');
  const tol = opts.tolerance ?? 1e-4;
  const inShape = graph.values.get(graph.inputs[0] as string)?.shape ?? [];
  manualSeed(0);
  const x = opts.input ?? randn(inShape.map((d) => (typeof d === 'number' ? d : 1)));
  const ref = await reference(graph, x);
  const results: FormatParity[] = [];
  for (const format of formats) {
    const rt = opts.runners?.[format] ?? RUNTIMES[format];
    if (!rt.run) {
      results.push({
        format,
        runtime: rt.runtime,
        status: 'error',
        error: `no ${format} runtime is available here`,
      });
      continue;
    }
    try {
      const got = await rt.run(graph, x);
      const d = combine(
        graph.outputs.map((o) => diff(ref.get(o) as Float32Array, got.outputs.get(o) ?? new Float32Array())),
      );
      let firstDivergentNode: FormatParity['firstDivergentNode'];
      if (!(d.rel <= tol)) {
        const all = await withAllOutputs(graph);
        const refAll = await reference(all.graph, x);
        const gotAll = await rt.run(all.graph, x);
        for (const p of all.probes) {
          const theirs = gotAll.outputs.get(p.name);
          if (!theirs) continue;
          const pd = diff(refAll.get(p.name) as Float32Array, theirs);
          if (!(pd.rel <= tol)) {
            firstDivergentNode = { name: p.node, op: p.op, maxRelError: pd.rel };
            break;
          }
        }
      }
      results.push({
        format,
        runtime: rt.runtime,
        status: d.rel <= tol ? 'ok' : 'mismatch',
        maxAbsError: d.maxAbs,
        meanAbsError: d.meanAbs,
        maxRelError: d.rel,
        bytes: got.bytes,
        ...(firstDivergentNode ? { firstDivergentNode } : {}),
      });
    } catch (e) {
      results.push({
        format,
        runtime: rt.runtime,
        status: 'error',
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }
  return results;
}

/**
 * Formats verify results as a text table.
 * @param rows - results
 * @returns text ending in a newline
 * @internal
 */
export function formatParity(rows: readonly FormatParity[]): string {
  const e = (v: number | undefined) => (v === undefined ? '-' : v.toExponential(2));
  const lines = ['format  status    max|Δ|     mean|Δ|    max rel    bytes      runtime'];
  for (const r of rows) {
    lines.push(
      `${r.format.padEnd(7)} ${r.status.padEnd(9)} ${e(r.maxAbsError).padEnd(10)} ${e(r.meanAbsError).padEnd(10)} ${e(r.maxRelError).padEnd(10)} ${String(r.bytes ?? '-').padEnd(10)} ${r.runtime}`,
    );
    if (r.firstDivergentNode) {
      const f = r.firstDivergentNode;
      lines.push(`        first divergent node: '${f.name}' (${f.op}), max rel error ${e(f.maxRelError)}`);
    }
    if (r.error) lines.push(`        error: ${r.error}`);
  }
  return `${lines.join('\n')}\n`;
}
