import type { AxisAttrs, Pool2DAttrs } from '@tinyvision/tensor';
import { kernelNames as K, pool2dOutputShape } from '@tinyvision/tensor';
import { run1d } from './elementwise.js';
import type { GpuKernel } from './hybrid.js';
import { bindings, kernel1d } from './wgsl.js';

/** Pool window loop; params: n, H, W, OH, OW, KH, KW, sh, sw, pt, pl, pb, pr, dh, dw, countIncludePad. */
function poolCode(max: boolean): string {
  return kernel1d(
    bindings(['x'], ['y']),
    `  let H = p[1]; let W = p[2]; let OH = p[3]; let OW = p[4];
  let ox = i % OW; let t1 = i / OW; let oy = t1 % OH; let plane = t1 / OH;
  var best = inf_(0x80000000u);
  var sum = 0.0; var cnt = 0; var rows = 0; var cols = 0;
  for (var kh = 0; kh < p[5]; kh++) {
    let iy = oy * p[7] - p[9] + kh * p[13];
    if (iy >= -p[9] && iy < H + p[11]) { rows++; }
    if (iy < 0 || iy >= H) { continue; }
    for (var kw = 0; kw < p[6]; kw++) {
      let ix = ox * p[8] - p[10] + kw * p[14];
      if (ix < 0 || ix >= W) { continue; }
      let v = x[(plane * H + iy) * W + ix];
      if (v > best || isnan_(v)) { if (!isnan_(best)) { best = v; } }
      sum += v; cnt++;
    }
  }
  for (var kw = 0; kw < p[6]; kw++) {
    let ix = ox * p[8] - p[10] + kw * p[14];
    if (ix >= -p[10] && ix < W + p[12]) { cols++; }
  }
  ${max ? 'y[i] = best;' : 'y[i] = sum / f32(select(cnt, rows * cols, p[15] == 1));'}`,
  );
}

function pool(name: string, max: boolean): GpuKernel {
  const code = poolCode(max);
  return ([x], attrs, b) => {
    const a = attrs as unknown as Pool2DAttrs;
    if (x!.shape.length !== 4) return null;
    const out = pool2dOutputShape(x!.shape, a);
    if (out.some((d) => d <= 0)) return null;
    const [, , H, W] = x!.shape as [number, number, number, number];
    return run1d(b, name, code, [x!], out, [
      0,
      H,
      W,
      out[2]!,
      out[3]!,
      a.kernelSize[0],
      a.kernelSize[1],
      a.strides[0],
      a.strides[1],
      a.pads[0],
      a.pads[1],
      a.pads[2],
      a.pads[3],
      a.dilations[0],
      a.dilations[1],
      a.countIncludePad ? 1 : 0,
    ]);
  };
}

/** Softmax over one axis, one invocation per (outer, inner) row; params: n, L, inner. */
function softmaxCode(log: boolean): string {
  return kernel1d(
    bindings(['x'], ['y']),
    `  let L = p[1]; let inner = p[2];
  let base = (i / inner) * L * inner + i % inner;
  var m = inf_(0x80000000u);
  for (var k = 0; k < L; k++) { let v = x[base + k * inner]; if (v > m || isnan_(v)) { if (!isnan_(m)) { m = v; } } }
  var s = 0.0;
  for (var k = 0; k < L; k++) { s += exp(x[base + k * inner] - m); }
  for (var k = 0; k < L; k++) {
    let v = x[base + k * inner] - m;
    // A NaN or infinite maximum makes the whole row NaN (as in PyTorch).
    y[base + k * inner] = select(${log ? 'v - log(s)' : 'exp(v) / s'}, nan_(), isnan_(m) || isinf_(m));
  }`,
  );
}

function softmax(name: string, log: boolean): GpuKernel {
  const code = softmaxCode(log);
  return ([x], attrs, b) => {
    const r = x!.shape.length;
    const axis = ((attrs as unknown as AxisAttrs).axis + r) % r;
    const L = x!.shape[axis]!;
    const inner = x!.shape.slice(axis + 1).reduce((u, v) => u * v, 1);
    const rows = x!.shape.reduce((u, v) => u * v, 1) / L;
    const { info, buffer } = b.alloc(x!.shape, name);
    b.dispatch({
      code,
      buffers: [b.gpuBuffer(x!.handle), buffer],
      params: Int32Array.from([rows, L, inner]),
      groups: Math.ceil(rows / 256),
    });
    return [info];
  };
}

/** WGSL pooling and softmax kernels. @internal */
export const poolGpu: Readonly<Record<string, GpuKernel>> = {
  [K.MaxPool2D]: pool(K.MaxPool2D, true),
  [K.AvgPool2D]: pool(K.AvgPool2D, false),
  [K.Softmax]: softmax(K.Softmax, false),
  [K.LogSoftmax]: softmax(K.LogSoftmax, true),
};
