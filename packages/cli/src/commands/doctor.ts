import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/**
 * Adds the `doctor` command to a commander program.
 * @param program - the program
 * @param version - the CLI version
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the command
 * @internal
 */
export function addDoctorCommand(
  program: Command,
  version: string,
  io: CliIO,
  setExit: (code: number) => void,
): Command {
  return program
    .command('doctor')
    .description('check the runtime and every installed backend (availability, self-check, threads, SIMD)')
    .option('--json', 'print one JSON object instead of text')
    .action(async (o: { json?: boolean }) => {
      // Loaded on demand so that `--version` and `--help` start without importing the tensor library.
      const { runDoctor } = await import('./doctor-report.js');
      setExit(await runDoctor(version, { json: o.json === true, io }));
    });
}
