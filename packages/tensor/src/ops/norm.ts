// Ops of the 'norm' family (see docs/guides/adding-an-op.md).
export {};
