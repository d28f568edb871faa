/** @internal */
export function registerResizeGradients(): void {}
