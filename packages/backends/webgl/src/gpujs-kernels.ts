// Kernel bodies for gpu.js. gpu.js translates each function's source to GLSL (or its WASM/JS fallbacks), so they
// use only `this.thread`, arguments, arithmetic and Math: numbers are floats in GLSL, hence the `+ 0.5` floors.

/** What gpu.js kernels see as `this`. */
interface KernelThis {
  readonly thread: { readonly x: number };
}

/** Unary op codes of {@link unaryBody}. @internal */
export const UNARY_OPS: Readonly<Record<string, number>> = {
  Relu: 0,
  Relu6: 1,
  Sigmoid: 2,
  Tanh: 3,
  Exp: 4,
  Neg: 5,
  Abs: 6,
  Square: 7,
  HardSwish: 8,
  HardSigmoid: 9,
};

/** Activation codes of the conv epilogue (-1: none). @internal */
export const ACTIVATIONS: Readonly<Record<string, number>> = {
  none: -1,
  relu: 0,
  relu6: 1,
  sigmoid: 2,
  tanh: 3,
  hardSwish: 8,
  hardSigmoid: 9,
};

/** y = f(x). @internal */
export function unaryBody(this: KernelThis, x: Float32Array, op: number): number {
  const v = x[this.thread.x]!;
  let r = v;
  if (op === 0) r = Math.max(v, 0);
  if (op === 1) r = Math.min(Math.max(v, 0), 6);
  if (op === 2) r = 1 / (1 + Math.exp(-v));
  if (op === 3) r = 1 - 2 / (Math.exp(2 * v) + 1);
  if (op === 4) r = Math.exp(v);
  if (op === 5) r = -v;
  if (op === 6) r = Math.abs(v);
  if (op === 7) r = v * v;
  if (op === 8) r = (v * Math.min(Math.max(v + 3, 0), 6)) / 6;
  if (op === 9) r = Math.min(Math.max(v + 3, 0), 6) / 6;
  return r;
}

/** Binary op with broadcasting: `shape`, `sa`, `sb` hold 6 entries (rank ≤ 6, unused leading dims 1/0). @internal */
export function binaryBody(
  this: KernelThis,
  a: Float32Array,
  b: Float32Array,
  shape: Float32Array,
  sa: Float32Array,
  sb: Float32Array,
  op: number,
): number {
  let rem = this.thread.x;
  let ia = 0;
  let ib = 0;
  for (let k = 0; k < 6; k++) {
    const d = 5 - k;
    const s = shape[d]!;
    const q = Math.floor((rem + 0.5) / s);
    const c = rem - q * s;
    rem = q;
    ia += c * sa[d]!;
    ib += c * sb[d]!;
  }
  const u = a[ia]!;
  const w = b[ib]!;
  let r = u + w;
  if (op === 1) r = u - w;
  if (op === 2) r = u * w;
  if (op === 3) r = u / w;
  if (op === 4) r = Math.max(u, w);
  if (op === 5) r = Math.min(u, w);
  return r;
}

/** Batched matmul; `offA`/`offB` give each batch's element offset. @internal */
export function matmulBody(
  this: KernelThis,
  a: Float32Array,
  b: Float32Array,
  offA: Float32Array,
  offB: Float32Array,
  m: number,
  n: number,
  kk: number,
  tA: number,
  tB: number,
): number {
  const i = this.thread.x;
  const mn = m * n;
  const z = Math.floor((i + 0.5) / mn);
  const r0 = i - z * mn;
  const row = Math.floor((r0 + 0.5) / n);
  const col = r0 - row * n;
  const oa = offA[z]!;
  const ob = offB[z]!;
  let acc = 0;
  for (let k = 0; k < kk; k++) {
    let av = a[oa + row * kk + k]!;
    if (tA > 0.5) av = a[oa + k * m + row]!;
    let bv = b[ob + k * n + col]!;
    if (tB > 0.5) bv = b[ob + col * kk + k]!;
    acc += av * bv;
  }
  return acc;
}

/**
 * Direct conv2d NCHW × OIHW with groups, bias and activation. `p`: C, H, W, O, OH, OW, KH, KW, sh, sw, pt, pl, dh,
 * dw, groups, hasBias. @internal
 */
export function convBody(
  this: KernelThis,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array,
  p: Float32Array,
  act: number,
): number {
  const C = p[0]!;
  const H = p[1]!;
  const W = p[2]!;
  const O = p[3]!;
  const OH = p[4]!;
  const OW = p[5]!;
  const KH = p[6]!;
  const KW = p[7]!;
  const i = this.thread.x;
  const t1 = Math.floor((i + 0.5) / OW);
  const ox = i - t1 * OW;
  const t2 = Math.floor((t1 + 0.5) / OH);
  const oy = t1 - t2 * OH;
  const nb = Math.floor((t2 + 0.5) / O);
  const o = t2 - nb * O;
  const icg = C / p[14]!;
  const g = Math.floor((o + 0.5) / (O / p[14]!));
  let acc = 0;
  for (let ci = 0; ci < icg; ci++) {
    for (let kh = 0; kh < KH; kh++) {
      const iy = oy * p[8]! - p[10]! + kh * p[12]!;
      for (let kw = 0; kw < KW; kw++) {
        const ix = ox * p[9]! - p[11]! + kw * p[13]!;
        if (iy >= 0 && iy < H && ix >= 0 && ix < W) {
          acc += x[((nb * C + g * icg + ci) * H + iy) * W + ix]! * w[((o * icg + ci) * KH + kh) * KW + kw]!;
        }
      }
    }
  }
  if (p[15]! > 0.5) acc += bias[o]!;
  let r = acc;
  if (act === 0) r = Math.max(acc, 0);
  if (act === 1) r = Math.min(Math.max(acc, 0), 6);
  if (act === 2) r = 1 / (1 + Math.exp(-acc));
  if (act === 3) r = 1 - 2 / (Math.exp(2 * acc) + 1);
  if (act === 8) r = (acc * Math.min(Math.max(acc + 3, 0), 6)) / 6;
  if (act === 9) r = Math.min(Math.max(acc + 3, 0), 6) / 6;
  return r;
}
