import type { FoldAttrs, ResizeAttrs, ResizeCoordinateMode, UnfoldAttrs } from '../backend/kernel-names.js';
import * as K from '../backend/kernel-names.js';
import { runKernel } from '../engine.js';
import { InvalidArgumentError, ShapeError } from '../errors/index.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { reshape } from './movement.js';
import { assertFloat, assertRank, assertTensor, pair } from './util.js';

/** Options of {@link resize} (PyTorch `F.interpolate` semantics for 2-D inputs). */
export interface ResizeOptions {
  /** Output `[H, W]` (or one number for both); give exactly one of `size` and `scaleFactor`. */
  readonly size?: number | readonly [number, number];
  /** Output/input ratio; the output is `floor(input · scaleFactor)` and the mapping uses `1 / scaleFactor`. */
  readonly scaleFactor?: number | readonly [number, number];
  /** 'nearest' (default) or 'bilinear'. */
  readonly mode?: 'nearest' | 'bilinear';
  /**
   * How output pixels map to input coordinates (ONNX names). Default: 'asymmetric' for nearest (torch
   * 'nearest'), 'half_pixel' for bilinear (torch `align_corners=False`); 'align_corners' is torch
   * `align_corners=True`.
   */
  readonly coordinateMode?: ResizeCoordinateMode;
}

/** Options of {@link unfold} (PyTorch `F.unfold`). */
export interface UnfoldOptions {
  /** Block size `k` or `[kH, kW]`. */
  readonly kernelSize: number | readonly [number, number];
  /** Step between blocks; default 1. */
  readonly stride?: number | readonly [number, number];
  /** Zero padding on both sides of H and W; default 0. */
  readonly padding?: number | readonly [number, number];
  /** Spacing between taps of a block; default 1. */
  readonly dilation?: number | readonly [number, number];
}

/** Options of {@link fold} (PyTorch `F.fold`). */
export interface FoldOptions extends UnfoldOptions {
  /** Spatial size `[H, W]` of the reassembled output. */
  readonly outputSize: number | readonly [number, number];
}

const COORD_MODES: readonly ResizeCoordinateMode[] = [
  'half_pixel',
  'align_corners',
  'asymmetric',
  'pytorch_half_pixel',
];

function positivePair(
  v: number | readonly number[],
  name: string,
  op: string,
  min: number,
): [number, number] {
  const p = pair(v, name, op);
  if (p[0] < min || p[1] < min)
    throw new InvalidArgumentError(`${op}: '${name}' must be >= ${min}, got [${p.join(',')}]`);
  return p;
}

/**
 * Resizes the spatial dims of an NCHW tensor by nearest or bilinear interpolation (PyTorch `F.interpolate`:
 * 'nearest' picks `floor(dst · in / out)`, 'bilinear' with `align_corners` False or True).
 * @param x - input `[N, C, H, W]` (float)
 * @param opts - size or scale factor, mode, coordinate mapping
 * @returns `[N, C, outH, outW]`
 * @throws {InvalidArgumentError} when both or neither of `size`/`scaleFactor` are given, or an option is invalid
 * @throws {ShapeError} when the output would be empty
 * @throws {DTypeError} for non-float inputs
 * @example
 * ```ts
 * resize(x, { scaleFactor: 2, mode: 'bilinear' }); // [N, C, 2H, 2W]
 * ```
 */
export function resize(x: Tensor, opts: ResizeOptions): Tensor {
  const op = 'resize';
  assertTensor(x, 'x', op);
  assertRank(x, 4, 'x', op);
  assertFloat(x, 'x', op);
  const mode = opts.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'bilinear') {
    throw new InvalidArgumentError(`${op}: 'mode' must be 'nearest' or 'bilinear', got '${mode}'`);
  }
  const coordinateMode = opts.coordinateMode ?? (mode === 'nearest' ? 'asymmetric' : 'half_pixel');
  if (!COORD_MODES.includes(coordinateMode)) {
    throw new InvalidArgumentError(
      `${op}: 'coordinateMode' must be one of ${COORD_MODES.join(', ')}, got '${coordinateMode}'`,
    );
  }
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) {
    throw new InvalidArgumentError(`${op}: give exactly one of 'size' and 'scaleFactor'`);
  }
  const inHW = [x.shape[2]!, x.shape[3]!];
  let size: [number, number];
  let scales: [number, number] | undefined;
  if (opts.size !== undefined) {
    size = positivePair(opts.size, 'size', op, 1);
  } else {
    const sf =
      typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : opts.scaleFactor!;
    if (sf.length !== 2 || !sf.every((s) => Number.isFinite(s) && s > 0)) {
      throw new InvalidArgumentError(
        `${op}: 'scaleFactor' must be a positive number or pair, got ${JSON.stringify(opts.scaleFactor)}`,
      );
    }
    size = [Math.floor(inHW[0]! * sf[0]!), Math.floor(inHW[1]! * sf[1]!)];
    if (size[0] < 1 || size[1] < 1) {
      throw new ShapeError(
        `${op}: scaleFactor [${sf.join(',')}] maps ${fmtShape(x.shape)} to an empty output [${size.join(',')}]`,
      );
    }
    // torch maps with 1/scaleFactor, except that an unchanged size copies (and nearest doubling halves).
    scales = [0, 1].map((i) => {
      const ratio = size[i]! / inHW[i]!;
      return ratio === 1 || (mode === 'nearest' && ratio === 2) ? ratio : sf[i]!;
    }) as [number, number];
  }
  const attrs: ResizeAttrs =
    scales && coordinateMode !== 'align_corners'
      ? { size, mode, coordinateMode, scales }
      : { size, mode, coordinateMode };
  return runKernel(K.Resize, [x], { ...attrs })[0]!;
}

function resolvePatches(opts: UnfoldOptions, op: string): UnfoldAttrs {
  if (opts === null || typeof opts !== 'object' || opts.kernelSize === undefined) {
    throw new InvalidArgumentError(`${op}: options with 'kernelSize' are required`);
  }
  return {
    kernelSize: positivePair(opts.kernelSize, 'kernelSize', op, 1),
    strides: positivePair(opts.stride ?? 1, 'stride', op, 1),
    pads: positivePair(opts.padding ?? 0, 'padding', op, 0),
    dilations: positivePair(opts.dilation ?? 1, 'dilation', op, 1),
  };
}

/**
 * Number of sliding blocks along H and W for {@link unfold}/{@link fold}.
 * @param hw - spatial size `[H, W]`
 * @param a - resolved patch attrs
 * @returns `[blocksH, blocksW]` (≤ 0 when the block does not fit)
 * @example
 * ```ts
 * unfoldBlocks([4, 4], { kernelSize: [2, 2], strides: [2, 2], pads: [0, 0], dilations: [1, 1] }); // [2, 2]
 * ```
 */
export function unfoldBlocks(hw: readonly number[], a: UnfoldAttrs): [number, number] {
  const f = (i: number) =>
    Math.floor((hw[i]! + 2 * a.pads[i]! - a.dilations[i]! * (a.kernelSize[i]! - 1) - 1) / a.strides[i]!) + 1;
  return [f(0), f(1)];
}

/**
 * Extracts sliding blocks (im2col, PyTorch `F.unfold`): `[N, C, H, W]` → `[N, C·kH·kW, L]`, where `L` is the
 * number of blocks and rows are ordered `(c, ki, kj)`. A 3-D `[C, H, W]` input gives `[C·kH·kW, L]`.
 * @param x - input `[N, C, H, W]` or `[C, H, W]` (float)
 * @param opts - kernel size, stride, padding, dilation
 * @returns the columns
 * @throws {InvalidArgumentError} on a wrong rank or malformed option
 * @throws {ShapeError} when no block fits
 * @example
 * ```ts
 * unfold(randn([1, 3, 8, 8]), { kernelSize: 2, stride: 2 }).shape; // [1, 12, 16]
 * ```
 */
export function unfold(x: Tensor, opts: UnfoldOptions): Tensor {
  const op = 'unfold';
  assertTensor(x, 'x', op);
  assertFloat(x, 'x', op);
  if (x.rank !== 3 && x.rank !== 4) {
    throw new InvalidArgumentError(`${op}: 'x' must have rank 3 or 4, got shape ${fmtShape(x.shape)}`);
  }
  const attrs = resolvePatches(opts, op);
  const blocks = unfoldBlocks(x.shape.slice(-2), attrs);
  if (blocks[0] < 1 || blocks[1] < 1) {
    throw new ShapeError(
      `${op}: input ${fmtShape(x.shape)} is too small for kernel [${attrs.kernelSize.join(',')}] (blocks [${blocks.join(',')}])`,
    );
  }
  if (x.rank === 3) {
    const y = runKernel(K.Unfold, [reshape(x, [1, ...x.shape])], { ...attrs })[0]!;
    return reshape(y, y.shape.slice(1));
  }
  return runKernel(K.Unfold, [x], { ...attrs })[0]!;
}

/**
 * Sums sliding blocks back into an image (col2im, PyTorch `F.fold`): `[N, C·kH·kW, L]` → `[N, C, H, W]`;
 * overlapping blocks add up. The adjoint of {@link unfold}. A 2-D input gives `[C, H, W]`.
 * @param cols - blocks `[N, C·kH·kW, L]` or `[C·kH·kW, L]` (float)
 * @param opts - output size, kernel size, stride, padding, dilation
 * @returns the reassembled image
 * @throws {InvalidArgumentError} on a wrong rank or malformed option
 * @throws {ShapeError} when the column count or `L` does not match the geometry
 * @example
 * ```ts
 * fold(unfold(x, { kernelSize: 2, stride: 2 }), { outputSize: [8, 8], kernelSize: 2, stride: 2 }); // == x
 * ```
 */
export function fold(cols: Tensor, opts: FoldOptions): Tensor {
  const op = 'fold';
  assertTensor(cols, 'cols', op);
  assertFloat(cols, 'cols', op);
  if (cols.rank !== 2 && cols.rank !== 3) {
    throw new InvalidArgumentError(`${op}: 'cols' must have rank 2 or 3, got shape ${fmtShape(cols.shape)}`);
  }
  const p = resolvePatches(opts, op);
  const attrs: FoldAttrs = { ...p, outputSize: positivePair(opts.outputSize, 'outputSize', op, 1) };
  const [bh, bw] = unfoldBlocks(attrs.outputSize, attrs);
  const kk = attrs.kernelSize[0] * attrs.kernelSize[1];
  const [rows, l] = cols.shape.slice(-2) as [number, number];
  if (rows % kk !== 0 || bh < 1 || bw < 1 || l !== bh * bw) {
    throw new ShapeError(
      `${op}: 'cols' ${fmtShape(cols.shape)} must be [N, C·${kk}, ${Math.max(bh, 0) * Math.max(bw, 0)}] for outputSize [${attrs.outputSize.join(',')}] and kernel [${attrs.kernelSize.join(',')}]`,
    );
  }
  if (cols.rank === 2) {
    const y = runKernel(K.Fold, [reshape(cols, [1, ...cols.shape])], { ...attrs })[0]!;
    return reshape(y, y.shape.slice(1));
  }
  return runKernel(K.Fold, [cols], { ...attrs })[0]!;
}
