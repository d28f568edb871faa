// Ops of the 'conv' family (see docs/guides/adding-an-op.md).
export {};
