/** @internal */
export function registerLinalgGradients(): void {}
