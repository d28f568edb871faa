// Direct kernels: depthwise convolution (f32, any kernel size, SIMD for stride 1 and 2), pooling, global average.
import { actIsVector, actRange, acts, actv } from './common';

const TAPS: usize = memory.data(64 * 16, 16);

/** Copies plane `src` (h×w) into `dst` (hp×wp) shifted by (pt, pl), zero elsewhere (negative pads crop). */
function padPlane(src: usize, h: i32, w: i32, dst: usize, hp: i32, wp: i32, pt: i32, pl: i32): void {
  // Only the border is zeroed: rows outside the image, and the columns left and right of each copied row.
  const x0 = max<i32>(0, pl);
  const i0 = x0 - pl;
  const n = max<i32>(0, min<i32>(wp - x0, w - i0));
  const rowBytes = (<usize>wp) << 2;
  for (let y = 0; y < hp; y++) {
    const row = dst + <usize>y * rowBytes;
    const iy = y - pt;
    if (iy < 0 || iy >= h || n == 0) {
      memory.fill(row, 0, rowBytes);
      continue;
    }
    if (x0 > 0) memory.fill(row, 0, (<usize>x0) << 2);
    memory.copy(row + ((<usize>x0) << 2), src + ((<usize>(iy * w + i0)) << 2), (<usize>n) << 2);
    const end = x0 + n;
    if (end < wp) memory.fill(row + ((<usize>end) << 2), 0, (<usize>(wp - end)) << 2);
  }
}

/** Padded-plane size (floats) the depthwise kernel needs; the host allocates that much scratch. */
export function dwScratch(kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, oh: i32, ow: i32): i32 {
  const hp = (oh - 1) * sh + (kh - 1) * dh + 1;
  const ow4 = (ow + 3) & ~3;
  const wp = ow4 * sw + (kw - 1) * dw + 8;
  return hp * wp;
}

/**
 * Depthwise convolution (groups = C, `mult` outputs per input channel) of one image, + bias + activation.
 * x [C,H,W], w [C·mult, kh, kw], out [C·mult, oh, ow]; `pad` is dwScratch(...) floats.
 */
export function depthwise(
  x: usize,
  w: usize,
  bias: usize,
  out: usize,
  C: i32,
  mult: i32,
  H: i32,
  W: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  pt: i32,
  pl: i32,
  dh: i32,
  dw: i32,
  oh: i32,
  ow: i32,
  act: i32,
  pad: usize,
): void {
  const hp = (oh - 1) * sh + (kh - 1) * dh + 1;
  const ow4 = (ow + 3) & ~3;
  const wp = ow4 * sw + (kw - 1) * dw + 8;
  const nt = kh * kw;
  const vecTaps = ASC_FEATURE_SIMD && nt <= 64;
  for (let ci = 0; ci < C; ci++) {
    padPlane(x + ((<usize>(ci * H * W)) << 2), H, W, pad, hp, wp, pt, pl);
    for (let mi = 0; mi < mult; mi++) {
      const oc = ci * mult + mi;
      const wk = w + ((<usize>(oc * nt)) << 2);
      const b: f32 = bias != 0 ? load<f32>(bias + ((<usize>oc) << 2)) : 0;
      const op = out + ((<usize>(oc * oh * ow)) << 2);
      if (ASC_FEATURE_SIMD) {
        if (vecTaps) {
          for (let t = 0; t < nt; t++)
            v128.store(TAPS + ((<usize>t) << 4), v128.load32_splat(wk + ((<usize>t) << 2)));
          const bv = f32x4.splat(b);
          for (let y = 0; y < oh; y++) {
            const orow = op + ((<usize>(y * ow)) << 2);
            for (let x0 = 0; x0 < ow; x0 += 4) {
              let acc = bv;
              for (let ky = 0; ky < kh; ky++) {
                const row = pad + ((<usize>((y * sh + ky * dh) * wp + x0 * sw)) << 2);
                const tp = TAPS + ((<usize>(ky * kw)) << 4);
                if (sw == 1) {
                  for (let kx = 0; kx < kw; kx++) {
                    const v = v128.load(row + ((<usize>(kx * dw)) << 2));
                    acc = f32x4.add(acc, f32x4.mul(v, v128.load(tp + ((<usize>kx) << 4))));
                  }
                } else if (sw == 2) {
                  for (let kx = 0; kx < kw; kx++) {
                    const p = row + ((<usize>(kx * dw)) << 2);
                    const v = v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
                    acc = f32x4.add(acc, f32x4.mul(v, v128.load(tp + ((<usize>kx) << 4))));
                  }
                } else {
                  for (let kx = 0; kx < kw; kx++) {
                    const p = row + ((<usize>(kx * dw)) << 2);
                    const s = (<usize>sw) << 2;
                    let v = f32x4.splat(load<f32>(p));
                    v = f32x4.replace_lane(v, 1, load<f32>(p + s));
                    v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * s));
                    v = f32x4.replace_lane(v, 3, load<f32>(p + 3 * s));
                    acc = f32x4.add(acc, f32x4.mul(v, v128.load(tp + ((<usize>kx) << 4))));
                  }
                }
              }
              if (actIsVector(act)) acc = actv(acc, act);
              const dst = orow + ((<usize>x0) << 2);
              if (x0 + 4 <= ow) v128.store(dst, acc);
              else {
                store<f32>(dst, f32x4.extract_lane(acc, 0));
                if (x0 + 1 < ow) store<f32>(dst, f32x4.extract_lane(acc, 1), 4);
                if (x0 + 2 < ow) store<f32>(dst, f32x4.extract_lane(acc, 2), 8);
              }
            }
          }
          if (!actIsVector(act)) actRange(op, oh * ow, act);
          continue;
        }
      }
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++) {
          let acc: f32 = b;
          for (let ky = 0; ky < kh; ky++) {
            const row = pad + ((<usize>((y * sh + ky * dh) * wp + xo * sw)) << 2);
            for (let kx = 0; kx < kw; kx++) {
              acc +=
                load<f32>(row + ((<usize>(kx * dw)) << 2)) * load<f32>(wk + ((<usize>(ky * kw + kx)) << 2));
            }
          }
          store<f32>(op + ((<usize>(y * ow + xo)) << 2), acts(acc, act));
        }
      }
    }
  }
}

/**
 * Max (mode 0) or average (mode 1: divisor from the tap counts; 2: count_include_pad divisor) pooling of
 * `planes` planes. Window taps per output row/col come from the host as i32 triples (first, count, padded).
 */
export function pool2d(
  x: usize,
  out: usize,
  planes: i32,
  H: i32,
  W: i32,
  oh: i32,
  ow: i32,
  dh: i32,
  dw: i32,
  rows: usize,
  cols: usize,
  mode: i32,
): void {
  let o = out;
  for (let p = 0; p < planes; p++) {
    const base = x + ((<usize>(p * H * W)) << 2);
    for (let y = 0; y < oh; y++) {
      const rf = load<i32>(rows + ((<usize>(y * 3)) << 2));
      const rc = load<i32>(rows + ((<usize>(y * 3 + 1)) << 2));
      const rp = load<i32>(rows + ((<usize>(y * 3 + 2)) << 2));
      for (let xo = 0; xo < ow; xo++) {
        const cf = load<i32>(cols + ((<usize>(xo * 3)) << 2));
        const cc = load<i32>(cols + ((<usize>(xo * 3 + 1)) << 2));
        const cp = load<i32>(cols + ((<usize>(xo * 3 + 2)) << 2));
        if (mode == 0) {
          let best: f32 = -Infinity;
          for (let i = 0; i < rc; i++) {
            const r = base + ((<usize>((rf + i * dh) * W + cf)) << 2);
            for (let j = 0; j < cc; j++) {
              const v = load<f32>(r + ((<usize>(j * dw)) << 2));
              if (v > best || v != v) best = v;
            }
          }
          store<f32>(o, best);
        } else {
          let s: f64 = 0;
          for (let i = 0; i < rc; i++) {
            const r = base + ((<usize>((rf + i * dh) * W + cf)) << 2);
            for (let j = 0; j < cc; j++) s += <f64>load<f32>(r + ((<usize>(j * dw)) << 2));
          }
          const div = mode == 2 ? rp * cp : rc * cc;
          store<f32>(o, <f32>(s / <f64>div));
        }
        o += 4;
      }
    }
  }
}

/** Mean over each of `planes` planes of `len` floats (global average pooling). */
export function meanPlanes(x: usize, out: usize, planes: i32, len: i32): void {
  for (let p = 0; p < planes; p++) {
    const base = x + ((<usize>(p * len)) << 2);
    let i = 0;
    let s: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      let a = f32x4.splat(0);
      for (; i + 4 <= len; i += 4) a = f32x4.add(a, v128.load(base + ((<usize>i) << 2)));
      s =
        <f64>f32x4.extract_lane(a, 0) +
        <f64>f32x4.extract_lane(a, 1) +
        <f64>f32x4.extract_lane(a, 2) +
        <f64>f32x4.extract_lane(a, 3);
    }
    for (; i < len; i++) s += <f64>load<f32>(base + ((<usize>i) << 2));
    store<f32>(out + ((<usize>p) << 2), <f32>(s / <f64>len));
  }
}
