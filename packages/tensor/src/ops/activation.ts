// Ops of the 'activation' family (see docs/guides/adding-an-op.md).
export {};
