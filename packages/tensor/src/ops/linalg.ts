// Ops of the 'linalg' family (see docs/guides/adding-an-op.md).
export {};
