// Harness for the ONNX backend node tests (Debian libonnx-testdata): import → runGraph (CPU) → compare with the
// expected outputs. Used by node-tests.test.ts and scripts/onnx-node-tests.ts (not part of the package API).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import {
  allocStorage,
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  fromStorage,
  runGraph,
  type Tensor,
  TinyVisionError,
  UnsupportedOpError,
} from '@tinyvision/tensor';
import { ModelProtoSchema, TensorProto_DataType, TensorProtoSchema } from '../generated/onnx/onnx_pb.js';
import { importOnnx, type OnnxConstantInput } from '../import.js';
import { ConstantInputError } from '../import-context.js';
import { decodeTensor, type OnnxConst } from '../import-tensor.js';

/** Where Debian's libonnx-testdata keeps the node tests. */
export const NODE_TEST_DIR = '/usr/share/libonnx-testdata/data/node';

/** Outcome of one node test case. */
export interface NodeCaseResult {
  /** Test case name (directory). */
  readonly name: string;
  /** ONNX op types in the test model. */
  readonly ops: string[];
  /** The op the case tests (its first non-Constant op, or the op named by the case). */
  readonly op: string;
  /** pass: outputs match; unsupported: the importer refused it; fail: wrong output or runtime error. */
  readonly status: 'pass' | 'fail' | 'unsupported';
  /** Why it did not pass. */
  readonly reason?: string;
}

/** The node test case directories, sorted. */
export function listNodeCases(dir = NODE_TEST_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'model.onnx')))
    .sort();
}

function readPbs(dir: string, prefix: string): OnnxConst[] {
  const out: OnnxConst[] = [];
  for (let i = 0; existsSync(join(dir, `${prefix}_${i}.pb`)); i++) {
    const t = fromBinary(TensorProtoSchema, readFileSync(join(dir, `${prefix}_${i}.pb`)));
    out.push(decodeTensor(t, `${prefix}_${i}.pb`));
  }
  return out;
}

const T = TensorProto_DataType;

function asNumbers(c: OnnxConst): Float64Array {
  if (c.type === T.FLOAT16) return Float64Array.from(c.data, float16BitsToFloat32);
  if (c.type === T.BFLOAT16) return Float64Array.from(c.data, bfloat16BitsToFloat32);
  return Float64Array.from(c.data as ArrayLike<number>);
}

function tensorOf(c: OnnxConst, dtype: Tensor['dtype']): Tensor {
  const storage = allocStorage(dtype, c.data.length);
  for (let i = 0; i < storage.length; i++) (storage as unknown as number[])[i] = c.data[i]!;
  return fromStorage(storage, c.shape, dtype);
}

/** Relative/absolute tolerance of the ONNX backend tests (numpy `assert_allclose(rtol=1e-3, atol=1e-7)`). */
const RTOL = 1e-3;
const ATOL = 1e-7;

function compare(got: Tensor, want: OnnxConst, k: number): string | undefined {
  if (got.shape.join(',') !== want.shape.join(',')) {
    return `output ${k}: shape [${got.shape}] vs expected [${want.shape}]`;
  }
  if (want.type === T.UINT16 && (got.dtype === 'bfloat16' || got.dtype === 'float16')) {
    // older test data stores 16-bit float outputs as their raw bits
    const bits = got.dataSync();
    const i = want.data.findIndex((v, k) => v !== bits[k]);
    return i < 0 ? undefined : `output ${k}[${i}]: bits ${bits[i]} vs expected ${want.data[i]}`;
  }
  const a = got.toFloat32();
  const b = asNumbers(want);
  const exact = want.type !== T.FLOAT && want.type !== T.FLOAT16 && want.type !== T.DOUBLE;
  for (let i = 0; i < b.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(y) && Number.isNaN(x)) continue;
    if (x === y) continue;
    const bad = exact ? true : !(Math.abs(x - y) <= ATOL + RTOL * Math.abs(y));
    if (bad) return `output ${k}[${i}]: ${x} vs expected ${y}`;
  }
  return undefined;
}

/**
 * Runs one node test case: int64 inputs (shapes, axes, indices, …) are frozen as constants, since the graph IR
 * keeps those static; the rest are fed to `runGraph` on the active backend.
 * @param name - the case directory name
 * @param dir - the node test root
 * @returns the outcome
 */
export function runNodeCase(name: string, dir = NODE_TEST_DIR): NodeCaseResult {
  const caseDir = join(dir, name);
  const bytes = readFileSync(join(caseDir, 'model.onnx'));
  const model = fromBinary(ModelProtoSchema, bytes);
  const ops = [...new Set(model.graph?.node.map((n) => n.opType) ?? [])];
  const op = ops.find((o) => o !== 'Constant') ?? ops[0] ?? '?';
  const base = { name, ops, op };
  const inits = new Set(model.graph?.initializer.map((t) => t.name));
  const inputNames = (model.graph?.input ?? []).map((v) => v.name).filter((v) => !inits.has(v));
  const data = join(caseDir, 'test_data_set_0');
  let inputs: OnnxConst[];
  let expected: OnnxConst[];
  try {
    inputs = readPbs(data, 'input');
    expected = readPbs(data, 'output');
  } catch (e) {
    // string/sequence test data: report why the model itself cannot be imported when it cannot
    try {
      importOnnx(bytes);
    } catch (err) {
      if (UnsupportedOpError.isInstance(err)) return { ...base, status: 'unsupported', reason: (err as Error).message };
    }
    return { ...base, status: 'unsupported', reason: `test data: ${(e as Error).message}` };
  }
  const constants: Record<string, OnnxConstantInput> = {};
  inputs.forEach((c, i) => {
    if (c.type === T.INT64 && inputNames[i]) constants[inputNames[i]] = { shape: c.shape, data: c.data as Float64Array };
  });
  let graph: ReturnType<typeof importOnnx> | undefined;
  // bind the operands the importer asks to be static (scales, pads, …) and retry
  for (let attempt = 0; !graph; attempt++) {
    try {
      graph = importOnnx(bytes, { constants });
    } catch (e) {
      const value = e instanceof ConstantInputError ? e.value : '';
      const i = value ? inputNames.indexOf(value) : -1;
      if (i >= 0 && inputs[i] && !constants[value] && attempt < 8) {
        const c = inputs[i];
        constants[value] = { shape: c.shape, data: asNumbers(c) };
        continue;
      }
      if (UnsupportedOpError.isInstance(e) || e instanceof ConstantInputError) return { ...base, status: 'unsupported', reason: (e as Error).message };
      return { ...base, status: 'fail', reason: `import: ${(e as Error).message}` };
    }
  }
  const feeds: Tensor[] = [];
  try {
    graph.inputs.forEach((n) => {
      const i = inputNames.indexOf(n);
      feeds.push(tensorOf(inputs[i]!, graph.values.get(n)!.dtype));
    });
    const { outputs } = runGraph(graph, feeds);
    let reason: string | undefined;
    outputs.forEach((t, k) => {
      reason ??= compare(t, expected[k]!, k);
      t.dispose();
    });
    return reason ? { ...base, status: 'fail', reason } : { ...base, status: 'pass' };
  } catch (e) {
    const typed = TinyVisionError.isInstance(e) ? '' : ' (untyped)';
    return { ...base, status: 'fail', reason: `run${typed}: ${(e as Error).message}` };
  } finally {
    for (const t of feeds) t.dispose();
  }
}
