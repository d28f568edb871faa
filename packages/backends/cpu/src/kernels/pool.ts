import type { AvgPool2DGradAttrs, KernelConfig, Pool2DAttrs } from '@tinyvision/tensor';
import { allocStorage, kernelNames as K, pool2dOutputShape } from '@tinyvision/tensor';
import { cpuKernel, FLOATS, type HostTensor, NUMERIC } from '../host.js';

/** Valid input rows (or columns) of one window: first tap, tap count, and taps counted for the divisor. */
interface Taps {
  /** Input coordinate of the first in-bounds tap (-1 when none). */
  readonly first: number;
  /** Number of in-bounds taps. */
  readonly count: number;
  /** Number of taps inside the padded extent (torch `count_include_pad` divisor factor). */
  readonly padded: number;
}

/** Per output position along one axis: the in-bounds taps of its window. */
function axisTaps(
  outN: number,
  inN: number,
  k: number,
  s: number,
  d: number,
  p0: number,
  p1: number,
): Taps[] {
  const taps: Taps[] = [];
  for (let o = 0; o < outN; o++) {
    const start = o * s - p0;
    let first = -1;
    let count = 0;
    let padded = 0;
    for (let t = 0; t < k; t++) {
      const i = start + t * d;
      if (i >= -p0 && i < inN + p1) padded++;
      if (i < 0 || i >= inN) continue;
      if (first < 0) first = i;
      count++;
    }
    taps.push({ first, count, padded });
  }
  return taps;
}

function geometry(shape: readonly number[], attrs: Pool2DAttrs) {
  const [n, c, h, w] = shape as [number, number, number, number];
  const out = pool2dOutputShape(shape, attrs);
  const [oh, ow] = [out[2]!, out[3]!];
  const rows = axisTaps(
    oh,
    h,
    attrs.kernelSize[0],
    attrs.strides[0],
    attrs.dilations[0],
    attrs.pads[0],
    attrs.pads[2],
  );
  const cols = axisTaps(
    ow,
    w,
    attrs.kernelSize[1],
    attrs.strides[1],
    attrs.dilations[1],
    attrs.pads[1],
    attrs.pads[3],
  );
  return { planes: n * c, h, w, oh, ow, out, rows, cols };
}

/**
 * Flat in-plane index of each window's maximum (torch's rule: strict `>` so ties keep the first tap, a NaN
 * always wins so NaN propagates; -1 for a window without in-bounds taps).
 */
function argmaxPlane(
  v: ArrayLike<number>,
  base: number,
  g: ReturnType<typeof geometry>,
  d: readonly [number, number],
  out: Int32Array,
): void {
  let o = 0;
  for (let y = 0; y < g.oh; y++) {
    const r = g.rows[y]!;
    for (let x = 0; x < g.ow; x++, o++) {
      const c = g.cols[x]!;
      if (r.count === 0 || c.count === 0) {
        out[o] = -1;
        continue;
      }
      let best = Number.NEGATIVE_INFINITY;
      let bi = r.first * g.w + c.first;
      for (let ti = 0, i = r.first; ti < r.count; ti++, i += d[0]) {
        for (let tj = 0, j = c.first; tj < c.count; tj++, j += d[1]) {
          const val = v[base + i * g.w + j]!;
          if (val > best || Number.isNaN(val)) {
            best = val;
            bi = i * g.w + j;
          }
        }
      }
      out[o] = bi;
    }
  }
}

/** Whether every window lies inside the input with dilation 1 (no padding reached): the dense fast path. */
function isDense(g: ReturnType<typeof geometry>, attrs: Pool2DAttrs): boolean {
  const [kh, kw] = attrs.kernelSize;
  const [sh, sw] = attrs.strides;
  return (
    attrs.dilations[0] === 1 &&
    attrs.dilations[1] === 1 &&
    attrs.pads.every((p) => p === 0) &&
    g.oh > 0 &&
    g.ow > 0 &&
    (g.oh - 1) * sh + kh <= g.h &&
    (g.ow - 1) * sw + kw <= g.w
  );
}

/**
 * Dense max pooling of one plane (see {@link isDense}): writes each window's maximum as an absolute index into
 * `v`, with the rule of {@link argmaxPlane} (strict `>`, a NaN wins) evaluated branch-free, since comparisons
 * of random data would mispredict.
 */
function denseArgmax(
  v: ArrayLike<number>,
  base: number,
  g: ReturnType<typeof geometry>,
  attrs: Pool2DAttrs,
  out: Int32Array,
): void {
  const [kh, kw] = attrs.kernelSize;
  const [sh, sw] = attrs.strides;
  const w = g.w;
  let o = 0;
  for (let y = 0; y < g.oh; y++) {
    for (let x = 0, c0 = base + y * sh * w; x < g.ow; x++, o++, c0 += sw) {
      let bi = c0;
      for (let i = 0, r = c0; i < kh; i++, r += w) {
        for (let j = r, end = r + kw; j < end; j++) {
          const val = v[j]!;
          const take = +(val > v[bi]!) | +Number.isNaN(val);
          bi ^= (bi ^ j) & -take;
        }
      }
      out[o] = bi;
    }
  }
}

/**
 * 2-D max pooling (torch `F.max_pool2d`): padded cells never win, NaN propagates.
 * @param x - input `[N, C, H, W]`
 * @param attrs - pooling attrs
 * @returns `[N, C, outH, outW]`, same dtype (and quant params) as `x`
 */
export function maxPool2dImpl(x: HostTensor, attrs: Pool2DAttrs): HostTensor {
  const g = geometry(x.shape, attrs);
  const plane = g.oh * g.ow;
  const out = allocStorage(x.dtype, g.planes * plane);
  const idx = new Int32Array(plane);
  const v = x.values;
  const lowest = x.dtype === 'float32' ? Number.NEGATIVE_INFINITY : 0;
  if (isDense(g, attrs)) {
    for (let p = 0; p < g.planes; p++) {
      const base = p * g.h * g.w;
      const ob = p * plane;
      denseArgmax(v, base, g, attrs, idx);
      for (let o = 0; o < plane; o++) out[ob + o] = v[idx[o]!]!;
    }
    return { values: out, shape: g.out, dtype: x.dtype, quant: x.quant };
  }
  for (let p = 0; p < g.planes; p++) {
    const base = p * g.h * g.w;
    argmaxPlane(v, base, g, attrs.dilations, idx);
    for (let o = 0; o < plane; o++) out[p * plane + o] = idx[o]! < 0 ? lowest : v[base + idx[o]!]!;
  }
  return { values: out, shape: g.out, dtype: x.dtype, quant: x.quant };
}

/**
 * Gradient of {@link maxPool2dImpl}: each output's upstream gradient is added at its window's (first) maximum.
 * Dense windows that do not overlap (stride ≥ kernel) scatter straight into the output in one pass; otherwise
 * contributions are summed per plane in float64.
 * @param x - the forward input `[N, C, H, W]`
 * @param dy - upstream gradient `[N, C, outH, outW]`
 * @param attrs - pooling attrs
 * @returns the input gradient, shaped like `x`
 */
export function maxPool2dGradImpl(x: HostTensor, dy: HostTensor, attrs: Pool2DAttrs): HostTensor {
  const g = geometry(x.shape, attrs);
  const plane = g.oh * g.ow;
  const dx = new Float32Array(x.values.length);
  const g2 = dy.values;
  const idx = new Int32Array(plane);
  if (
    isDense(g, attrs) &&
    attrs.strides[0] >= attrs.kernelSize[0] &&
    attrs.strides[1] >= attrs.kernelSize[1]
  ) {
    for (let p = 0; p < g.planes; p++) {
      const base = p * g.h * g.w;
      const ob = p * plane;
      denseArgmax(x.values, base, g, attrs, idx);
      for (let o = 0; o < plane; o++) dx[idx[o]!] = g2[ob + o]!;
    }
    return { values: dx, shape: x.shape, dtype: 'float32' };
  }
  const acc = new Float64Array(g.h * g.w);
  for (let p = 0; p < g.planes; p++) {
    const base = p * g.h * g.w;
    argmaxPlane(x.values, base, g, attrs.dilations, idx);
    acc.fill(0);
    for (let o = 0; o < plane; o++) if (idx[o]! >= 0) acc[idx[o]!]! += dy.values[p * plane + o]!;
    for (let i = 0; i < acc.length; i++) dx[base + i] = acc[i]!;
  }
  return { values: dx, shape: x.shape, dtype: 'float32' };
}

/**
 * Divisor of each output cell: taps inside the padded extent (`countIncludePad`) or inside the input.
 */
function divisor(r: Taps, c: Taps, includePad: boolean): number {
  return includePad ? r.padded * c.padded : r.count * c.count;
}

/**
 * 2-D average pooling (torch `F.avg_pool2d`, including the `ceil_mode` and `count_include_pad` divisors).
 * @param x - input `[N, C, H, W]` (float32)
 * @param attrs - pooling attrs
 * @returns `[N, C, outH, outW]`
 */
export function avgPool2dImpl(x: HostTensor, attrs: Pool2DAttrs): HostTensor {
  const g = geometry(x.shape, attrs);
  const [dh, dw] = attrs.dilations;
  const out = new Float32Array(g.planes * g.oh * g.ow);
  const v = x.values;
  let o = 0;
  for (let p = 0; p < g.planes; p++) {
    const base = p * g.h * g.w;
    for (let y = 0; y < g.oh; y++) {
      const r = g.rows[y]!;
      for (let xx = 0; xx < g.ow; xx++, o++) {
        const c = g.cols[xx]!;
        let s = 0;
        for (let ti = 0, i = r.first; ti < r.count; ti++, i += dh) {
          for (let tj = 0, j = c.first; tj < c.count; tj++, j += dw) s += v[base + i * g.w + j]!;
        }
        out[o] = s / divisor(r, c, attrs.countIncludePad);
      }
    }
  }
  return { values: out, shape: g.out, dtype: 'float32' };
}

/**
 * Gradient of {@link avgPool2dImpl}: spreads each upstream gradient over its window's in-bounds taps.
 * @param dy - upstream gradient `[N, C, outH, outW]` (float32)
 * @param attrs - pooling attrs plus the forward input shape
 * @returns the input gradient `attrs.inputShape`
 */
export function avgPool2dGradImpl(dy: HostTensor, attrs: AvgPool2DGradAttrs): HostTensor {
  const g = geometry(attrs.inputShape, attrs);
  const [dh, dw] = attrs.dilations;
  const acc = new Float64Array(g.planes * g.h * g.w);
  let o = 0;
  for (let p = 0; p < g.planes; p++) {
    const base = p * g.h * g.w;
    for (let y = 0; y < g.oh; y++) {
      const r = g.rows[y]!;
      for (let xx = 0; xx < g.ow; xx++, o++) {
        const c = g.cols[xx]!;
        const gv = dy.values[o]! / divisor(r, c, attrs.countIncludePad);
        for (let ti = 0, i = r.first; ti < r.count; ti++, i += dh) {
          for (let tj = 0, j = c.first; tj < c.count; tj++, j += dw) acc[base + i * g.w + j]! += gv;
        }
      }
    }
  }
  return { values: Float32Array.from(acc), shape: [...attrs.inputShape], dtype: 'float32' };
}

/** Pool CPU kernels. */
export const poolKernels: KernelConfig[] = [
  cpuKernel(K.MaxPool2D, ([x], a) => [maxPool2dImpl(x!, a as unknown as Pool2DAttrs)], {
    dtypes: NUMERIC,
    floatCompute: true,
  }),
  cpuKernel(K.MaxPool2DGrad, ([x, dy], a) => [maxPool2dGradImpl(x!, dy!, a as unknown as Pool2DAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
  cpuKernel(K.AvgPool2D, ([x], a) => [avgPool2dImpl(x!, a as unknown as Pool2DAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
  cpuKernel(K.AvgPool2DGrad, ([dy], a) => [avgPool2dGradImpl(dy!, a as unknown as AvgPool2DGradAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
];
