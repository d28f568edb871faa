/** @internal */
export function registerConvGradients(): void {}
