/**
 * BatchNorm, LayerNorm and GroupNorm are composites: their gradients flow through the ops of their
 * implementations, so nothing is registered here.
 * @internal
 */
export function registerNormGradients(): void {}
