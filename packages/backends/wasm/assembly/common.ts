// Shared helpers of the kernels: fused activations (vector and scalar forms).
// Activation codes (must match src/codes.ts): 0 none, 1 relu, 2 relu6, 3 hardSwish, 4 hardSigmoid,
// 5 sigmoid, 6 silu, 7 tanh. Unary-only codes: 10 neg, 11 abs, 12 sqrt, 13 square, 14 exp.

/** Whether `act` has a vector form (codes 0..4); the others run lane by lane. */
@inline
export function actIsVector(act: i32): bool {
  return act <= 4;
}

/** Scalar activation (NaN propagates through every code, as in the reference kernels). */
@inline
export function acts(v: f32, act: i32): f32 {
  switch (act) {
    case 0:
      return v;
    case 1:
      return max<f32>(v, 0);
    case 2:
      return min<f32>(max<f32>(v, 0), 6);
    case 3:
      return (v * min<f32>(max<f32>(v + 3, 0), 6)) / 6;
    case 4:
      return min<f32>(max<f32>(v + 3, 0), 6) / 6;
    case 5:
      return 1 / (1 + Mathf.exp(-v));
    case 6:
      return v / (1 + Mathf.exp(-v));
    case 7:
      return Mathf.tanh(v);
    case 10:
      return -v;
    case 11:
      return abs<f32>(v);
    case 12:
      return sqrt<f32>(v);
    case 13:
      return v * v;
    case 14:
      return Mathf.exp(v);
    default:
      return v;
  }
}

/** Vector activation for codes with a vector form (see {@link actIsVector}); others pass through. */
@inline
export function actv(v: v128, act: i32): v128 {
  if (act == 1) return f32x4.max(v, f32x4.splat(0));
  if (act == 2) return f32x4.min(f32x4.max(v, f32x4.splat(0)), f32x4.splat(6));
  if (act == 3) {
    const r = f32x4.min(f32x4.max(f32x4.add(v, f32x4.splat(3)), f32x4.splat(0)), f32x4.splat(6));
    return f32x4.div(f32x4.mul(v, r), f32x4.splat(6));
  }
  if (act == 4) {
    const r = f32x4.min(f32x4.max(f32x4.add(v, f32x4.splat(3)), f32x4.splat(0)), f32x4.splat(6));
    return f32x4.div(r, f32x4.splat(6));
  }
  return v;
}

/** Applies `act` in place to `n` floats at `p`. */
export function actRange(p: usize, n: i32, act: i32): void {
  if (act == 0) return;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (actIsVector(act)) {
      for (; i + 4 <= n; i += 4) {
        const q = p + (<usize>i << 2);
        v128.store(q, actv(v128.load(q), act));
      }
    }
  }
  for (; i < n; i++) {
    const q = p + (<usize>i << 2);
    store<f32>(q, acts(load<f32>(q), act));
  }
}
