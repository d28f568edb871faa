import type { ReduceAttrs, StridedCopyAttrs } from '@tinyvision/tensor';
import { kernelNames as K } from '@tinyvision/tensor';
import { run1d } from './elementwise.js';
import type { GpuKernel } from './hybrid.js';
import { bindings, kernel1d, stridesOf } from './wgsl.js';

const MAX_RANK = 8;

/**
 * One invocation per output cell; walks the reduced dims. Sums use Kahan compensation (the CPU reference
 * accumulates in float64). Params: n, nk, nr, count, kept sizes[8], kept strides[8], red sizes[8], red strides[8].
 */
function reduceCode(kind: string): string {
  const init = kind === 'max' ? 'inf_(0x80000000u)' : kind === 'min' ? 'inf_(0u)' : '0.0';
  const step =
    kind === 'max'
      ? 'if (v > acc || isnan_(v)) { if (!isnan_(acc)) { acc = v; } }'
      : kind === 'min'
        ? 'if (v < acc || isnan_(v)) { if (!isnan_(acc)) { acc = v; } }'
        : 'let yk = v - comp; let tk = acc + yk; comp = (tk - acc) - yk; acc = tk;';
  return kernel1d(
    bindings(['x'], ['y']),
    `  let nk = p[1]; let nr = p[2]; let cnt = p[3];
  var rem = i; var base = 0;
  for (var d = nk - 1; d >= 0; d--) { let q = rem % p[4 + d]; rem = rem / p[4 + d]; base += q * p[12 + d]; }
  var acc = ${init}; var comp = 0.0;
  for (var j = 0; j < cnt; j++) {
    var r2 = j; var off = base;
    for (var d = nr - 1; d >= 0; d--) { let q = r2 % p[20 + d]; r2 = r2 / p[20 + d]; off += q * p[28 + d]; }
    let v = x[off];
    ${step}
  }
  ${kind === 'mean' ? 'acc = acc / f32(cnt);' : ''}
  y[i] = acc;`,
  );
}

function reduce(name: string, kind: string): GpuKernel {
  const code = reduceCode(kind);
  return ([x], attrs, b) => {
    const { axes, keepDims } = attrs as unknown as ReduceAttrs;
    const shape = x!.shape;
    if (axes.length === 0) return null;
    const red = new Set(axes.map((a) => (a + shape.length) % shape.length));
    const st = stridesOf(shape);
    const ks: number[] = [];
    const kst: number[] = [];
    const rs: number[] = [];
    const rst: number[] = [];
    shape.forEach((d, i) => {
      if (red.has(i)) {
        rs.push(d);
        rst.push(st[i]!);
      } else {
        ks.push(d);
        kst.push(st[i]!);
      }
    });
    if (ks.length > MAX_RANK || rs.length > MAX_RANK) return null;
    const count = rs.reduce((u, v) => u * v, 1);
    const out = keepDims ? shape.map((d, i) => (red.has(i) ? 1 : d)) : shape.filter((_, i) => !red.has(i));
    const pad = (v: number[]) => [...v, ...new Array(MAX_RANK - v.length).fill(1)];
    return run1d(b, name, code, [x!], out, [
      0,
      ks.length,
      rs.length,
      count,
      ...pad(ks),
      ...pad(kst),
      ...pad(rs),
      ...pad(rst),
    ]);
  };
}

/** Gathers a strided view; params: n, rank, offset, shape[rank], strides[rank] (negative for flips). */
const stridedCode = kernel1d(
  bindings(['x'], ['y']),
  `  let r = p[1];
  var rem = i; var src = p[2];
  for (var d = r - 1; d >= 0; d--) { let q = rem % p[3 + d]; rem = rem / p[3 + d]; src += q * p[3 + r + d]; }
  y[i] = x[src];`,
);

const stridedCopy: GpuKernel = ([x], attrs, b) => {
  const { shape, strides, offset } = attrs as unknown as StridedCopyAttrs;
  if (shape.some((d) => d === 0) || shape.length > 30) return null;
  return run1d(b, K.StridedCopy, stridedCode, [x!], shape, [0, shape.length, offset, ...shape, ...strides]);
};

/** WGSL reduction and strided-copy kernels. @internal */
export const reduceGpu: Readonly<Record<string, GpuKernel>> = {
  [K.Sum]: reduce(K.Sum, 'sum'),
  [K.Mean]: reduce(K.Mean, 'mean'),
  [K.Max]: reduce(K.Max, 'max'),
  [K.Min]: reduce(K.Min, 'min'),
  [K.StridedCopy]: stridedCopy,
};
