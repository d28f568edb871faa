import type {
  FoldAttrs,
  KernelConfig,
  ResizeAttrs,
  ResizeCoordinateMode,
  ResizeGradAttrs,
  UnfoldAttrs,
} from '@tinyvision/tensor';
import { kernelNames as K, unfoldBlocks } from '@tinyvision/tensor';
import { cpuKernel, FLOATS, type HostTensor } from '../host.js';

const f32 = Math.fround;

/**
 * Source coordinate of output index `dst` along one axis, in float32 arithmetic exactly as PyTorch computes it
 * (so nearest picks the same pixel at exact boundaries).
 */
function sourceCoord(
  dst: number,
  inN: number,
  outN: number,
  mode: ResizeCoordinateMode,
  scale: number | undefined,
): number {
  if (mode === 'align_corners') return f32((outN > 1 ? f32((inN - 1) / (outN - 1)) : 0) * dst);
  const s = scale !== undefined ? f32(1 / scale) : f32(inN / outN);
  if (mode === 'asymmetric') return f32(s * dst);
  if (mode === 'pytorch_half_pixel' && outN <= 1) return 0;
  return f32(f32(s * f32(dst + 0.5)) - 0.5);
}

/** Per output index along one axis: the two source taps and their weights (nearest: one tap, weight 1). */
interface AxisMap {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly w0: Float32Array;
  readonly w1: Float32Array;
}

function axisMap(inN: number, outN: number, attrs: ResizeAttrs, axis: 0 | 1): AxisMap {
  const m: AxisMap = {
    i0: new Int32Array(outN),
    i1: new Int32Array(outN),
    w0: new Float32Array(outN),
    w1: new Float32Array(outN),
  };
  const scale = attrs.scales?.[axis];
  for (let o = 0; o < outN; o++) {
    const src = Math.max(sourceCoord(o, inN, outN, attrs.coordinateMode, scale), 0);
    const i0 = Math.min(Math.floor(src), inN - 1);
    m.i0[o] = i0;
    if (attrs.mode === 'nearest') {
      m.i1[o] = i0;
      m.w0[o] = 1;
      continue;
    }
    const l1 = Math.min(Math.max(f32(src - i0), 0), 1);
    m.i1[o] = i0 < inN - 1 ? i0 + 1 : i0;
    m.w1[o] = l1;
    m.w0[o] = f32(1 - l1);
  }
  return m;
}

function maps(inShape: readonly number[], attrs: ResizeAttrs) {
  return {
    planes: inShape[0]! * inShape[1]!,
    h: inShape[2]!,
    w: inShape[3]!,
    oh: attrs.size[0],
    ow: attrs.size[1],
    rows: axisMap(inShape[2]!, attrs.size[0], attrs, 0),
    cols: axisMap(inShape[3]!, attrs.size[1], attrs, 1),
  };
}

/**
 * Nearest or bilinear resize of an NCHW tensor (torch `F.interpolate` / ONNX Resize coordinate modes).
 * @param x - input `[N, C, H, W]` (float32)
 * @param attrs - output size, mode, coordinate mapping, optional scales
 * @returns `[N, C, size[0], size[1]]`
 */
export function resizeImpl(x: HostTensor, attrs: ResizeAttrs): HostTensor {
  const g = maps(x.shape, attrs);
  const { rows, cols } = g;
  const out = new Float32Array(g.planes * g.oh * g.ow);
  const v = x.values;
  const bilinear = attrs.mode === 'bilinear';
  let o = 0;
  for (let p = 0; p < g.planes; p++) {
    const base = p * g.h * g.w;
    for (let y = 0; y < g.oh; y++) {
      const r0 = base + rows.i0[y]! * g.w;
      const r1 = base + rows.i1[y]! * g.w;
      for (let xx = 0; xx < g.ow; xx++, o++) {
        const c0 = cols.i0[xx]!;
        if (!bilinear) {
          out[o] = v[r0 + c0]!;
          continue;
        }
        const c1 = cols.i1[xx]!;
        const a = cols.w0[xx]!;
        const b = cols.w1[xx]!;
        out[o] =
          rows.w0[y]! * (v[r0 + c0]! * a + v[r0 + c1]! * b) +
          rows.w1[y]! * (v[r1 + c0]! * a + v[r1 + c1]! * b);
      }
    }
  }
  return { values: out, shape: [x.shape[0]!, x.shape[1]!, g.oh, g.ow], dtype: 'float32' };
}

/**
 * Gradient of {@link resizeImpl}: scatters each upstream gradient back onto its source taps with their weights.
 * @param dy - upstream gradient `[N, C, size[0], size[1]]` (float32)
 * @param attrs - forward attrs plus the forward input shape
 * @returns the input gradient `attrs.inputShape`
 */
export function resizeGradImpl(dy: HostTensor, attrs: ResizeGradAttrs): HostTensor {
  const g = maps(attrs.inputShape, attrs);
  const { rows, cols } = g;
  const acc = new Float64Array(g.planes * g.h * g.w);
  const bilinear = attrs.mode === 'bilinear';
  let o = 0;
  for (let p = 0; p < g.planes; p++) {
    const base = p * g.h * g.w;
    for (let y = 0; y < g.oh; y++) {
      const r0 = base + rows.i0[y]! * g.w;
      const r1 = base + rows.i1[y]! * g.w;
      for (let xx = 0; xx < g.ow; xx++, o++) {
        const d = dy.values[o]!;
        const c0 = cols.i0[xx]!;
        if (!bilinear) {
          acc[r0 + c0]! += d;
          continue;
        }
        const c1 = cols.i1[xx]!;
        const h0 = rows.w0[y]! * d;
        const h1 = rows.w1[y]! * d;
        acc[r0 + c0]! += h0 * cols.w0[xx]!;
        acc[r0 + c1]! += h0 * cols.w1[xx]!;
        acc[r1 + c0]! += h1 * cols.w0[xx]!;
        acc[r1 + c1]! += h1 * cols.w1[xx]!;
      }
    }
  }
  return { values: Float32Array.from(acc), shape: [...attrs.inputShape], dtype: 'float32' };
}

/**
 * Visits every (column row, block, image cell) triple of an unfold geometry; `cell` is -1 inside the padding.
 */
function forEachTap(
  imgShape: readonly number[],
  a: UnfoldAttrs,
  visit: (colIndex: number, cellIndex: number) => void,
): void {
  const [n, c, h, w] = imgShape as [number, number, number, number];
  const [kh, kw] = a.kernelSize;
  const [bh, bw] = unfoldBlocks([h, w], a);
  let col = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const plane = (b * c + ch) * h * w;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          for (let by = 0; by < bh; by++) {
            const y = by * a.strides[0] - a.pads[0] + i * a.dilations[0];
            for (let bx = 0; bx < bw; bx++, col++) {
              const x = bx * a.strides[1] - a.pads[1] + j * a.dilations[1];
              visit(col, y < 0 || y >= h || x < 0 || x >= w ? -1 : plane + y * w + x);
            }
          }
        }
      }
    }
  }
}

/**
 * im2col (torch `F.unfold`): `[N, C, H, W]` → `[N, C·kH·kW, L]`, zeros where a block covers padding.
 * @param x - input (float32)
 * @param attrs - kernel size, strides, pads, dilations
 * @returns the columns
 */
export function unfoldImpl(x: HostTensor, attrs: UnfoldAttrs): HostTensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [bh, bw] = unfoldBlocks([h, w], attrs);
  const rows = c * attrs.kernelSize[0] * attrs.kernelSize[1];
  const out = new Float32Array(n * rows * bh * bw);
  const v = x.values;
  forEachTap(x.shape, attrs, (col, cell) => {
    if (cell >= 0) out[col] = v[cell]!;
  });
  return { values: out, shape: [n, rows, bh * bw], dtype: 'float32' };
}

/**
 * col2im (torch `F.fold`): sums `[N, C·kH·kW, L]` blocks into `[N, C, outH, outW]`; padding taps are dropped.
 * @param cols - the columns (float32)
 * @param attrs - output size, kernel size, strides, pads, dilations
 * @returns the image
 */
export function foldImpl(cols: HostTensor, attrs: FoldAttrs): HostTensor {
  const n = cols.shape[0]!;
  const c = cols.shape[1]! / (attrs.kernelSize[0] * attrs.kernelSize[1]);
  const shape = [n, c, attrs.outputSize[0], attrs.outputSize[1]];
  const acc = new Float64Array(n * c * attrs.outputSize[0] * attrs.outputSize[1]);
  const v = cols.values;
  forEachTap(shape, attrs, (col, cell) => {
    if (cell >= 0) acc[cell]! += v[col]!;
  });
  return { values: Float32Array.from(acc), shape, dtype: 'float32' };
}

/** Resampling and patch CPU kernels. */
export const resizeKernels: KernelConfig[] = [
  cpuKernel(K.Resize, ([x], a) => [resizeImpl(x!, a as unknown as ResizeAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
  cpuKernel(K.ResizeGrad, ([dy], a) => [resizeGradImpl(dy!, a as unknown as ResizeGradAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
  cpuKernel(K.Unfold, ([x], a) => [unfoldImpl(x!, a as unknown as UnfoldAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
  cpuKernel(K.Fold, ([x], a) => [foldImpl(x!, a as unknown as FoldAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
];
