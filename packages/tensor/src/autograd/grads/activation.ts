/** @internal */
export function registerActivationGradients(): void {}
