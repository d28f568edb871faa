// Ops of the 'quant' family (see docs/guides/adding-an-op.md).
export {};
