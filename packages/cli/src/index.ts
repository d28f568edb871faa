/**
 * `@tinyvision/cli`: the `tinyvision` command line (`tinyvision doctor`, `tinyvision --version`), also
 * usable in-process.
 *
 * @example
 * ```ts
 * import { main } from '@tinyvision/cli';
 * process.exitCode = await main(['doctor', '--json']);
 * ```
 * @packageDocumentation
 */
export {
  collectDoctorReport,
  type DoctorBackend,
  type DoctorReport,
  formatDoctorReport,
  OPTIONAL_BACKENDS,
  runDoctor,
} from './commands/doctor-report.js';
export { type EnvironmentFacts, environmentFacts } from './commands/environment.js';
export type { CliIO } from './io.js';
export { processIO } from './io.js';
export { CLI_VERSION, main } from './program.js';
export { type Progress, startProgress } from './progress.js';
