import type { AxisAttrs, KernelConfig, StridedCopyAttrs, TensorInfo } from '@tinyvision/tensor';
import { kernelNames as K } from '@tinyvision/tensor';
import type { WasmBackend } from '../backend.js';
import { ACT, BINARY, UNARY_ONLY } from '../codes.js';
import { hd, output, viaCpu, wasmKernel } from './util.js';

/**
 * Broadcast plan of a binary op: output dims and element strides of a and b, size-1 dims dropped and
 * mergeable neighbours collapsed; undefined when more than 4 dims remain.
 * @internal
 */
export function broadcastPlan(
  sa: readonly number[],
  sb: readonly number[],
): { out: number[]; dims: number[]; as: number[]; bs: number[] } | undefined {
  const rank = Math.max(sa.length, sb.length);
  const out: number[] = [];
  const da: number[] = [];
  const db: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = sa[i - rank + sa.length] ?? 1;
    const y = sb[i - rank + sb.length] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
    da.push(x);
    db.push(y);
  }
  const strides = (d: number[]) => {
    const s = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let i = rank - 1; i >= 0; i--) {
      s[i] = d[i] === 1 ? 0 : acc;
      acc *= d[i]!;
    }
    return s;
  };
  const fa = strides(da);
  const fb = strides(db);
  const dims: number[] = [];
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (out[i] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && as[last] === fa[i]! * out[i]! && bs[last] === fb[i]! * out[i]!) {
      dims[last]! *= out[i]!;
      as[last] = fa[i]!;
      bs[last] = fb[i]!;
      continue;
    }
    dims.push(out[i]!);
    as.push(fa[i]!);
    bs.push(fb[i]!);
  }
  while (dims.length < 4) {
    dims.unshift(1);
    as.unshift(0);
    bs.unshift(0);
  }
  return dims.length > 4 ? undefined : { out, dims, as, bs };
}

function binaryKernel(name: string, op: number): KernelConfig {
  return wasmKernel(name, ['float32'], (ctx, b) => {
    const [x, y] = ctx.inputs as [TensorInfo, TensorInfo];
    if (y.dtype !== 'float32') return viaCpu(ctx, name);
    const plan = broadcastPlan(x.shape, y.shape);
    if (!plan) return viaCpu(ctx, name);
    const out = output(b, plan.out, 'float32');
    const [d0, d1, d2, d3] = plan.dims as [number, number, number, number];
    if (d0 * d1 * d2 * d3 === 0) return [out];
    b.k.binary(op, hd(x).ptr, hd(y).ptr, hd(out).ptr, ...plan.dims, ...plan.as, ...plan.bs);
    return [out];
  });
}

function unaryKernel(name: string, code: number): KernelConfig {
  return wasmKernel(name, ['float32'], (ctx, b) => {
    const x = ctx.inputs[0]!;
    const out = output(b, x.shape, 'float32');
    b.k.unary(hd(x).ptr, hd(out).ptr, hd(x).length, code);
    return [out];
  });
}

function softmaxKernel(name: string, log: number): KernelConfig {
  return wasmKernel(name, ['float32'], (ctx, b) => {
    const x = ctx.inputs[0]!;
    const { axis } = ctx.attrs as unknown as AxisAttrs;
    const rank = x.shape.length;
    if (rank > 0 && axis !== rank - 1) return viaCpu(ctx, name);
    const n = rank === 0 ? 1 : x.shape[rank - 1]!;
    const rows = n === 0 ? 0 : hd(x).length / n;
    const out = output(b, x.shape, 'float32');
    if (rows > 0) b.k.softmaxRows(hd(x).ptr, hd(out).ptr, rows, n, log);
    return [out];
  });
}

/** Strided gather into a contiguous block, in place in linear memory (any dtype). */
function stridedCopy(b: WasmBackend, x: TensorInfo, a: StridedCopyAttrs): TensorInfo {
  const out = output(b, a.shape, x.dtype);
  const n = hd(out).length;
  if (n === 0) return out;
  const src = b.readSync(hd(x));
  const dst = b.readSync(hd(out));
  const rank = a.shape.length;
  const idx = new Array<number>(rank).fill(0);
  let p = a.offset;
  for (let i = 0; i < n; i++) {
    dst[i] = src[p]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      p += a.strides[d]!;
      if (idx[d]! < a.shape[d]!) break;
      p -= a.strides[d]! * a.shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

const ALL_DTYPES = ['float32', 'float16', 'bfloat16', 'int8', 'uint8', 'int32', 'bool'] as const;

/** Elementwise, activation, softmax and strided-copy kernels. */
export const elementwiseKernels: KernelConfig[] = [
  binaryKernel(K.Add, BINARY.add),
  binaryKernel(K.Sub, BINARY.sub),
  binaryKernel(K.Mul, BINARY.mul),
  binaryKernel(K.Div, BINARY.div),
  binaryKernel(K.Maximum, BINARY.max),
  binaryKernel(K.Minimum, BINARY.min),
  unaryKernel(K.Relu, ACT.relu),
  unaryKernel(K.Relu6, ACT.relu6),
  unaryKernel(K.HardSwish, ACT.hardSwish),
  unaryKernel(K.HardSigmoid, ACT.hardSigmoid),
  unaryKernel(K.Sigmoid, ACT.sigmoid),
  unaryKernel(K.Silu, ACT.silu),
  unaryKernel(K.Tanh, ACT.tanh),
  unaryKernel(K.Neg, UNARY_ONLY.neg),
  unaryKernel(K.Abs, UNARY_ONLY.abs),
  unaryKernel(K.Sqrt, UNARY_ONLY.sqrt),
  unaryKernel(K.Square, UNARY_ONLY.square),
  unaryKernel(K.Exp, UNARY_ONLY.exp),
  softmaxKernel(K.Softmax, 0),
  softmaxKernel(K.LogSoftmax, 1),
  wasmKernel(K.StridedCopy, ALL_DTYPES, (ctx, b) => [
    stridedCopy(b, ctx.inputs[0]!, ctx.attrs as unknown as StridedCopyAttrs),
  ]),
];
