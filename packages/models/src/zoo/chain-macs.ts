import { InvalidArgumentError } from '@tinyvision/tensor';
import { Conv2d, Linear, type Module } from '../nn/index.js';

/**
 * Multiply-accumulates of one `[1, 3, resolution, resolution]` image through a plain convolutional chain,
 * computed from the layer configurations alone (no forward pass, so instant at any size): every `Conv2d` is
 * taken to consume the output of the previous one in registration order, counting
 * `outH · outW · out · (in / groups) · kH · kW`, and every `Linear` counts `in · out`. This holds for networks
 * without side branches that change the spatial size or run on pooled features (MobileNetV1,
 * EfficientNet-Lite), not for squeeze-excitation models. It equals {@link countMacs} over a traced graph for
 * such models (the tests check it).
 * @param model - the model
 * @param resolution - input height and width
 * @returns the MACs of one image
 * @throws {InvalidArgumentError} when `resolution` is not a positive integer or a conv has non-numeric padding
 * @example
 * ```ts
 * chainMacs(new MobileNetV1(), 224); // 568740352 (≈ the paper's 569M)
 * ```
 */
export function chainMacs(model: Module, resolution: number): number {
  if (!Number.isInteger(resolution) || resolution < 1) {
    throw new InvalidArgumentError(`chainMacs: 'resolution' must be a positive integer, got ${resolution}`);
  }
  let h = resolution;
  let w = resolution;
  let total = 0;
  for (const [name, m] of model.namedModules()) {
    if (m instanceof Conv2d) {
      const p = m.padding;
      if (typeof p !== 'number') {
        throw new InvalidArgumentError(
          `chainMacs: conv '${name}' must have numeric padding, got ${String(p)}`,
        );
      }
      const [kh, kw] = m.kernelSize;
      const [sh, sw] = m.stride;
      const [dh, dw] = m.dilation;
      h = Math.floor((h + 2 * p - dh * (kh - 1) - 1) / sh) + 1;
      w = Math.floor((w + 2 * p - dw * (kw - 1) - 1) / sw) + 1;
      const [out, inPerGroup] = m.weight.shape as [number, number];
      total += h * w * out * inPerGroup * kh * kw;
    } else if (m instanceof Linear) {
      const [out, inp] = m.weight.shape as [number, number];
      total += out * inp;
    }
  }
  return total;
}
