/**
 * `@tinyvision/tensor/testing`: the conformance suite every backend runs against itself.
 * @packageDocumentation
 */
export {};
