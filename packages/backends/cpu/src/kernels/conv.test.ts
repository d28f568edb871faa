import type { Conv2DAttrs } from '@tinyvision/tensor';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../host.js';
import { conv2dBackpropFilterImpl, conv2dImpl, convTranspose2dImpl } from './conv.js';

function rand(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from(
    { length: n },
    () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1,
  );
}

function host(shape: number[], seed: number): HostTensor {
  return {
    values: rand(
      shape.reduce((a, d) => a * d, 1),
      seed,
    ),
    shape,
    dtype: 'float32',
  };
}

type Dims = [number, number, number, number];

/**
 * Calls `visit(yIndex, xIndex, wIndex)` for every multiply of a direct convolution (the definition, with bounds
 * checks; pads may be negative). Shared by the three references below.
 */
function eachTap(
  xs: Dims,
  ws: Dims,
  a: Conv2DAttrs,
  visit: (yi: number, xi: number, wi: number) => void,
): Dims {
  const [n, c, h, w] = xs;
  const [o, cg, kh, kw] = ws;
  const oh = Math.floor((h + a.pads[0] + a.pads[2] - a.dilations[0] * (kh - 1) - 1) / a.strides[0]) + 1;
  const ow = Math.floor((w + a.pads[1] + a.pads[3] - a.dilations[1] * (kw - 1) - 1) / a.strides[1]) + 1;
  const og = o / a.groups;
  for (let ni = 0; ni < n; ni++)
    for (let oc = 0; oc < o; oc++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++)
          for (let ci = 0; ci < cg; ci++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * a.strides[0] - a.pads[0] + ky * a.dilations[0];
                const ix = ox * a.strides[1] - a.pads[1] + kx * a.dilations[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const xc = Math.floor(oc / og) * cg + ci;
                visit(
                  ((ni * o + oc) * oh + oy) * ow + ox,
                  ((ni * c + xc) * h + iy) * w + ix,
                  ((oc * cg + ci) * kh + ky) * kw + kx,
                );
              }
  return [n, o, oh, ow];
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / (1 + Math.abs(expected[i]!)));
  }
  expect(worst).toBeLessThan(tol);
}

const CASES: { name: string; x: Dims; w: Dims; a: Conv2DAttrs }[] = [
  // 288-row column matrix × 40-wide rows: the im2col runs in several row chunks.
  { name: '3x3 chunked im2col', x: [1, 32, 40, 40], w: [16, 32, 3, 3], a: attrs(1, [1, 1, 1, 1], 1, 1) },
  { name: 'grouped strided dilated', x: [2, 6, 13, 11], w: [9, 2, 3, 3], a: attrs(2, [2, 1, 0, 2], 2, 3) },
  { name: 'pointwise groups 2', x: [2, 8, 7, 9], w: [6, 4, 1, 1], a: attrs(1, [0, 0, 0, 0], 1, 2) },
  { name: 'depthwise 3x3 stride 2', x: [2, 5, 12, 13], w: [10, 1, 3, 3], a: attrs(2, [1, 1, 1, 1], 1, 5) },
  { name: 'depthwise 5x5 dilated', x: [1, 3, 14, 12], w: [3, 1, 5, 5], a: attrs(1, [4, 3, 4, 5], 2, 3) },
  { name: 'negative pads crop', x: [1, 4, 9, 8], w: [3, 4, 3, 3], a: attrs(1, [-1, 0, 1, -2], 1, 1) },
  { name: 'depthwise negative pads', x: [1, 2, 9, 8], w: [2, 1, 3, 3], a: attrs(2, [-1, 2, 0, -1], 1, 2) },
];

function attrs(s: number, pads: number[], d: number, groups: number): Conv2DAttrs {
  return { strides: [s, s], pads: pads as Dims, dilations: [d, d], groups };
}

describe('cpu conv kernels against the direct definition', () => {
  for (const { name, x: xs, w: ws, a } of CASES) {
    const x = host(xs, 1);
    const w = host(ws, 2);
    const bias = host([ws[0]], 3);

    it(`conv2d: ${name}`, () => {
      const want: number[] = [];
      const shape = eachTap(xs, ws, a, (yi, xi, wi) => {
        want[yi] = (want[yi] ?? 0) + x.values[xi]! * w.values[wi]!;
      });
      const size = shape.reduce((p, d) => p * d, 1);
      const expected = Float64Array.from(
        { length: size },
        (_, i) => (want[i] ?? 0) + bias.values[Math.floor(i / (shape[2] * shape[3])) % shape[1]]!,
      );
      const got = conv2dImpl(x, w, bias, a);
      expect(got.shape).toEqual(shape);
      close(got.values, expected);
      const relu6 = conv2dImpl(x, w, bias, a, 'relu6');
      close(
        relu6.values,
        expected.map((v) => Math.min(Math.max(v, 0), 6)),
      );
    });

    it(`conv2dBackpropFilter: ${name}`, () => {
      const [, o, oh, ow] = eachTap(xs, ws, a, () => {});
      const dy = host([xs[0], o, oh, ow], 4);
      const expected = new Float64Array(ws.reduce((p, d) => p * d, 1));
      eachTap(xs, ws, a, (yi, xi, wi) => {
        expected[wi]! += dy.values[yi]! * x.values[xi]!;
      });
      const got = conv2dBackpropFilterImpl(x, dy, { ...a, filterShape: ws });
      expect(got.shape).toEqual(ws);
      close(got.values, expected, 1e-4);
    });

    it(`convTranspose2d is the adjoint of conv2d: ${name}`, () => {
      // convT(dy, w) with the conv's attrs must equal Σ dy·w scattered to x positions (dx of the conv).
      const [, o, oh, ow] = eachTap(xs, ws, a, () => {});
      const dy = host([xs[0], o, oh, ow], 5);
      const expected = new Float64Array(xs.reduce((p, d) => p * d, 1));
      eachTap(xs, ws, a, (yi, xi, wi) => {
        expected[xi]! += dy.values[yi]! * w.values[wi]!;
      });
      const outputPadding = [0, 1].map((i) => {
        const covered =
          ((i ? ow : oh) - 1) * a.strides[i]! -
          a.pads[i]! -
          a.pads[i + 2]! +
          a.dilations[i]! * (ws[2 + i]! - 1) +
          1;
        return xs[2 + i]! - covered;
      }) as [number, number];
      // ConvTranspose2D weights are [I, O/groups, kH, kW]: the conv's [O, C/groups] read the other way round.
      const got = convTranspose2dImpl(dy, w, null, { ...a, outputPadding });
      expect(got.shape).toEqual(xs);
      close(got.values, expected, 1e-4);
    });
  }
});
