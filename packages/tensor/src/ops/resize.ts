// Ops of the 'resize' family (see docs/guides/adding-an-op.md).
export {};
