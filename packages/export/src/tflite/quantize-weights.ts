// Post-conversion weight quantization of a float TflModel:
// - fp16: every float32 constant becomes a float16 constant read through DEQUANTIZE (TFLite's float16
//   quantization; runtimes fold the DEQUANTIZE at load time).
// - dynamic: conv / depthwise / fully-connected weights become int8, symmetric per output channel, consumed
//   directly by the op (TFLite's dynamic-range "hybrid" kernels quantize activations on the fly).
import { float32ToFloat16Bits } from '@tinyvision/tensor';
import { roundHalfAwayFromZero } from '@tinyvision/tensor/internal';
import { BuiltinOperator, BuiltinOptions, TensorType } from './generated/schema_generated.js';
import type { TflModel, TflOperator, TflTensor } from './ir.js';

function f32(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function toFp16(m: TflModel): TflModel {
  const tensors = [...m.tensors];
  const buffers = [...m.buffers];
  const deq: TflOperator[] = [];
  m.tensors.forEach((t, i) => {
    if (t.type !== TensorType.FLOAT32 || t.buffer === 0) return;
    const src = f32(buffers[t.buffer]!);
    const half = new Uint16Array(src.length);
    for (let k = 0; k < src.length; k++) half[k] = float32ToFloat16Bits(src[k]!);
    const buffer = buffers.push(new Uint8Array(half.buffer)) - 1;
    buffers[t.buffer] = new Uint8Array(0);
    const j = tensors.push({ name: `${t.name}/fp16`, shape: t.shape, type: TensorType.FLOAT16, buffer }) - 1;
    tensors[i] = { ...t, buffer: 0 };
    deq.push({
      code: BuiltinOperator.DEQUANTIZE,
      version: 3,
      inputs: [j],
      outputs: [i],
      optionsType: BuiltinOptions.NONE,
      options: {},
    });
  });
  return compactBuffers({ ...m, tensors, buffers, operators: [...deq, ...m.operators] });
}

/** Drops emptied buffers (keeping buffer 0) and renumbers tensor buffer indices. */
function compactBuffers(m: TflModel): TflModel {
  const map = new Map<number, number>([[0, 0]]);
  const buffers: Uint8Array[] = [new Uint8Array(0)];
  const tensors = m.tensors.map((t): TflTensor => {
    if (t.buffer === 0) return t;
    let b = map.get(t.buffer);
    if (b === undefined) {
      b = buffers.push(m.buffers[t.buffer]!) - 1;
      map.set(t.buffer, b);
    }
    return { ...t, buffer: b };
  });
  const metadata = m.metadata.map((md) => {
    const b = buffers.push(m.buffers[md.buffer]!) - 1;
    return { ...md, buffer: b };
  });
  return { ...m, tensors, buffers, metadata };
}

/** Symmetric per-channel int8 quantization of a float tensor along `axis` (values in [-127, 127]). */
export function quantizeSymmetric(
  data: Float32Array,
  shape: readonly number[],
  axis: number,
): { q: Int8Array; scale: number[] } {
  const channels = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const maxAbs = new Array<number>(channels).fill(0);
  for (let i = 0; i < data.length; i++) {
    const ch = Math.floor(i / inner) % channels;
    maxAbs[ch] = Math.max(maxAbs[ch]!, Math.abs(data[i]!));
  }
  const scale = maxAbs.map((m) => Math.fround(m > 0 ? m / 127 : 1));
  const q = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const ch = Math.floor(i / inner) % channels;
    q[i] = Math.max(-127, Math.min(127, roundHalfAwayFromZero(data[i]! / scale[ch]!)));
  }
  return { q, scale };
}

const WEIGHT_AXIS: Partial<Record<number, number>> = {
  [BuiltinOperator.CONV_2D]: 0,
  [BuiltinOperator.DEPTHWISE_CONV_2D]: 3,
  [BuiltinOperator.FULLY_CONNECTED]: 0,
};

function toDynamic(m: TflModel): TflModel {
  const tensors = [...m.tensors];
  const buffers = [...m.buffers];
  const done = new Set<number>();
  const operators = m.operators.map((op): TflOperator => {
    const axis = WEIGHT_AXIS[op.code];
    const w = op.inputs[1];
    if (axis === undefined || w === undefined || w < 0) return op;
    const t = tensors[w]!;
    if (t.type !== TensorType.FLOAT32 || t.buffer === 0) return op;
    if (!done.has(w)) {
      // FULLY_CONNECTED hybrid kernels take one weight scale (per tensor); convolutions one per output channel
      const perTensor = op.code === BuiltinOperator.FULLY_CONNECTED;
      const data = f32(buffers[t.buffer]!);
      const { q, scale } = quantizeSymmetric(
        data,
        perTensor ? [1, data.length] : t.shape,
        perTensor ? 0 : axis,
      );
      buffers[t.buffer] = new Uint8Array(q.buffer);
      tensors[w] = {
        ...t,
        type: TensorType.INT8,
        quant: { scale, zeroPoint: scale.map(() => 0), axis: perTensor ? 0 : axis },
      };
      done.add(w);
    }
    const options = op.code === BuiltinOperator.FULLY_CONNECTED ? { ...op.options } : op.options;
    return { ...op, options, version: op.code === BuiltinOperator.DEPTHWISE_CONV_2D ? 6 : 5 };
  });
  return { ...m, tensors, buffers, operators };
}

/**
 * Applies fp16 or dynamic-range weight quantization to a float model.
 * @param m - the float model
 * @param mode - 'fp16' or 'dynamic'
 * @returns the new model
 * @internal
 */
export function quantizeWeights(m: TflModel, mode: 'fp16' | 'dynamic'): TflModel {
  return mode === 'fp16' ? toFp16(m) : toDynamic(m);
}
