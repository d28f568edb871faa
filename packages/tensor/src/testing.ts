/**
 * `@tinyvision/tensor/testing`: the conformance suite every backend runs against itself, and its helpers.
 * Needs vitest (a peer dependency) and Node's `fs` to read the torch fixtures.
 * @packageDocumentation
 */

export { ADAPTERS, type Adapter } from './testing/cases/index.js';
export {
  type ConformanceOptions,
  DEFAULT_TOLERANCE,
  defaultFixturesDir,
  expectClose,
  type FixtureArray,
  type FixtureCase,
  loadArray,
  loadFixtures,
  runCase,
  runConformance,
} from './testing/conformance.js';
export { finiteDifferenceCheck } from './testing/finite-difference.js';
export { compareClose, type Mismatch, type Tolerance } from './testing/tolerance.js';
