// Ops of the 'pool' family (see docs/guides/adding-an-op.md).
export {};
