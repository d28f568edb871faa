// Test harness (not part of the package API): exports a graph, validates it with the ONNX checker and runs it
// in onnxruntime-node, comparing with runGraph on the active (CPU) backend.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { type Graph, runGraph, type Tensor } from '@tinyvision/tensor';
import * as ort from 'onnxruntime-node';
import { ModelProtoSchema } from '../onnx/generated/onnx/onnx_pb.js';
import { type ExportOnnxOptions, exportOnnx } from '../onnx/writer.js';

const dir = mkdtempSync(join(tmpdir(), 'tv-onnx-'));
let counter = 0;

const CHECK = [
  'import sys, onnx',
  'm = onnx.load(sys.argv[1])',
  'onnx.checker.check_model(m, full_check=True)',
  'print("ok", m.opset_import[0].version, len(m.graph.node))',
].join('\n');

/**
 * Runs `onnx.checker.check_model(full_check=True)` (Debian python3-onnx) on a model file.
 * @param path - the .onnx file
 * @throws when the checker rejects the model or python/onnx is missing
 */
export function onnxCheck(path: string): void {
  const r = spawnSync('/usr/bin/python3', ['-c', CHECK, path], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout.startsWith('ok')) {
    throw new Error(`onnx checker rejected ${path}:\n${r.stderr || r.error?.message || r.stdout}`);
  }
}

const ORT_TYPES = { float32: 'float32', int32: 'int32', int8: 'int8', uint8: 'uint8', bool: 'bool' } as const;

function toOrt(t: Tensor): ort.Tensor {
  const type = ORT_TYPES[t.dtype as keyof typeof ORT_TYPES];
  if (!type) throw new Error(`no onnxruntime type for ${t.dtype}`);
  const data = t.dataSync();
  return type === 'bool'
    ? new ort.Tensor('bool', Uint8Array.from(data as Uint8Array), [...t.shape])
    : new ort.Tensor(type, data as Float32Array, [...t.shape]);
}

/** Result of {@link verifyOnnx}: the worst normalised difference over all outputs and runs. */
export interface OracleReport {
  /** Path of the exported model. */
  readonly path: string;
  /** max |ort − ours| / max(range(ours), 1e-3) over every output and input set. */
  readonly worst: number;
  /** ONNX op types in the exported model. */
  readonly opTypes: string[];
}

/**
 * Exports `graph`, checks it with the ONNX checker, runs it in onnxruntime-node for every input set and
 * compares each output with `runGraph` (shapes equal; values within 1e-4 of the output range; ints exact).
 * @param graph - the graph
 * @param inputSets - one or more input lists (e.g. batch 1 and batch 3 for a dynamic-batch graph)
 * @param opts - export options
 * @returns the model path and the worst normalised difference
 */
export async function verifyOnnx(
  graph: Graph,
  inputSets: readonly (readonly Tensor[])[],
  opts: ExportOnnxOptions = {},
): Promise<OracleReport> {
  const bytes = exportOnnx(graph, opts);
  const path = join(dir, `${graph.name ?? 'model'}-${counter++}.onnx`);
  writeFileSync(path, bytes);
  onnxCheck(path);
  const session = await ort.InferenceSession.create(bytes);
  let worst = 0;
  try {
    for (const inputs of inputSets) {
      const feeds: Record<string, ort.Tensor> = {};
      graph.inputs.forEach((name, i) => {
        feeds[name] = toOrt(inputs[i]!);
      });
      const got = await session.run(feeds);
      const { outputs } = runGraph(graph, inputs);
      graph.outputs.forEach((name, i) => {
        const ref = outputs[i]!;
        const o = got[name];
        if (!o) throw new Error(`onnxruntime returned no output '${name}'`);
        if (o.dims.join(',') !== ref.shape.join(',')) {
          throw new Error(`output '${name}': onnxruntime shape [${o.dims}] vs ours [${ref.shape}]`);
        }
        const a = ref.dataSync();
        const b = o.data as ArrayLike<number | boolean>;
        let lo = Number.POSITIVE_INFINITY;
        let hi = Number.NEGATIVE_INFINITY;
        for (let k = 0; k < a.length; k++) {
          lo = Math.min(lo, Number(a[k]));
          hi = Math.max(hi, Number(a[k]));
        }
        const exact = ref.dtype !== 'float32';
        const scale = Math.max(hi - lo, 1e-3);
        for (let k = 0; k < a.length; k++) {
          const d = Math.abs(Number(a[k]) - Number(b[k]));
          if (exact && d !== 0) throw new Error(`output '${name}'[${k}]: ${Number(b[k])} vs ours ${a[k]}`);
          if (!(d / scale <= worst)) worst = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d / scale;
        }
        ref.dispose();
      });
    }
  } finally {
    await session.release();
  }
  const opTypes = [...new Set(fromBinary(ModelProtoSchema, bytes).graph?.node.map((n) => n.opType) ?? [])];
  return { path, worst, opTypes };
}
