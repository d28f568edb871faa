// Ops of the 'loss' family (see docs/guides/adding-an-op.md).
export {};
