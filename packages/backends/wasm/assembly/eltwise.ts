// Elementwise kernels: unary activations, broadcasting binary ops (rank ≤ 4 after collapsing), softmax.
import { actIsVector, actRange } from './common';

/** out[i] = act(x[i]) for `n` floats (`out` may equal `x`). */
export function unary(x: usize, out: usize, n: i32, act: i32): void {
  if (x != out) memory.copy(out, x, (<usize>n) << 2);
  actRange(out, n, act);
  if (act == 0) return;
  void actIsVector;
}

@inline
function bops(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case 0:
      return a + b;
    case 1:
      return a - b;
    case 2:
      return a * b;
    case 3:
      return a / b;
    case 4:
      return max<f32>(a, b);
    default:
      return min<f32>(a, b);
  }
}

@inline
function bopv(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case 0:
      return f32x4.add(a, b);
    case 1:
      return f32x4.sub(a, b);
    case 2:
      return f32x4.mul(a, b);
    case 3:
      return f32x4.div(a, b);
    case 4:
      return f32x4.max(a, b);
    default:
      return f32x4.min(a, b);
  }
}

/** One innermost row: n outputs, a/b with element strides sa, sb ∈ {0, 1, other}. */
function row(op: i32, a: usize, sa: i32, b: usize, sb: i32, o: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (sa == 1 && sb == 1) {
      for (; i + 4 <= n; i += 4) {
        const q = <usize>i << 2;
        v128.store(o + q, bopv(op, v128.load(a + q), v128.load(b + q)));
      }
    } else if (sa == 1 && sb == 0) {
      const bv = v128.load32_splat(b);
      for (; i + 4 <= n; i += 4) {
        const q = <usize>i << 2;
        v128.store(o + q, bopv(op, v128.load(a + q), bv));
      }
    } else if (sa == 0 && sb == 1) {
      const av = v128.load32_splat(a);
      for (; i + 4 <= n; i += 4) {
        const q = <usize>i << 2;
        v128.store(o + q, bopv(op, av, v128.load(b + q)));
      }
    }
  }
  for (; i < n; i++) {
    store<f32>(
      o + (<usize>i << 2),
      bops(op, load<f32>(a + ((<usize>(i * sa)) << 2)), load<f32>(b + ((<usize>(i * sb)) << 2))),
    );
  }
}

/**
 * Broadcasting binary op over a 4-d output `[d0,d1,d2,d3]`; a and b are addressed by element strides
 * (0 on broadcast dims). op: 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min.
 */
export function binary(
  op: i32, a: usize, b: usize, out: usize, d0: i32, d1: i32, d2: i32, d3: i32,
  a0: i32, a1: i32, a2: i32, a3: i32, b0: i32, b1: i32, b2: i32, b3: i32,
): void {
  let o = out;
  for (let i0 = 0; i0 < d0; i0++) {
    for (let i1 = 0; i1 < d1; i1++) {
      for (let i2 = 0; i2 < d2; i2++) {
        const pa = a + ((<usize>(i0 * a0 + i1 * a1 + i2 * a2)) << 2);
        const pb = b + ((<usize>(i0 * b0 + i1 * b1 + i2 * b2)) << 2);
        row(op, pa, a3, pb, b3, o, d3);
        o += (<usize>d3) << 2;
      }
    }
  }
}

/** Softmax (log = 0) or log-softmax (log = 1) over the last axis of `rows` rows of `n` floats. */
export function softmaxRows(x: usize, out: usize, rows: i32, n: i32, log: i32): void {
  for (let r = 0; r < rows; r++) {
    const xi = x + ((<usize>(r * n)) << 2);
    const oi = out + ((<usize>(r * n)) << 2);
    let m: f32 = -Infinity;
    for (let i = 0; i < n; i++) m = max<f32>(m, load<f32>(xi + (<usize>i << 2)));
    let s: f64 = 0;
    for (let i = 0; i < n; i++) {
      const e = Mathf.exp(load<f32>(xi + (<usize>i << 2)) - m);
      s += <f64>e;
      if (log == 0) store<f32>(oi + (<usize>i << 2), e);
    }
    if (log == 0) {
      const inv = 1 / s;
      for (let i = 0; i < n; i++) store<f32>(oi + (<usize>i << 2), <f32>(<f64>load<f32>(oi + (<usize>i << 2)) * inv));
    } else {
      const ls = <f32>Math.log(s);
      for (let i = 0; i < n; i++) store<f32>(oi + (<usize>i << 2), load<f32>(xi + (<usize>i << 2)) - m - ls);
    }
  }
}
