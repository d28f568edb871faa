/** @internal */
export function registerQuantGradients(): void {}
