/** @internal */
export function registerNormGradients(): void {}
