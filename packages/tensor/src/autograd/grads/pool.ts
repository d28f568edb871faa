/** @internal */
export function registerPoolGradients(): void {}
