import { Command, CommanderError } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { addBenchCommand } from './commands/bench.js';
import { addBundleCommand } from './commands/bundle.js';
import { addCheckCommand } from './commands/check.js';
import { addCompressCommand } from './commands/compress.js';
import { addDoctorCommand } from './commands/doctor.js';
import { addExportCommand } from './commands/export.js';
import { addRunCommand } from './commands/run.js';
import { addTrainCommand } from './commands/train.js';
import { addVerifyCommand } from './commands/verify.js';
import { addZooCommand } from './commands/zoo.js';
import { type CliIO, processIO } from './io.js';

/** The version of `@tinyvision/cli`, read from its package.json. */
export const CLI_VERSION: string = pkg.version;

/**
 * Runs the `tinyvision` command line in-process.
 * @param args - arguments after the program name, e.g. `['doctor', '--json']`
 * @param io - where to write (default: the process's stdout/stderr)
 * @returns the exit code (0 ok; non-zero on errors, unknown commands or failed checks)
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(args: readonly string[], io: CliIO = processIO()): Promise<number> {
  let code = 0;
  const program = new Command('tinyvision')
    .description('tinyvision: typed deep learning for vision on tiny devices')
    .version(CLI_VERSION, '-v, --version', 'print the version')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run `tinyvision --help` to list the commands)')
    .exitOverride()
    // Root options (--version) are read only before the subcommand, so `bundle create --version V` works.
    .enablePositionalOptions();
  addDoctorCommand(program, CLI_VERSION, io, (c) => {
    code = c;
  });
  const setExit = (c: number): void => {
    code = c;
  };
  addZooCommand(program, io, setExit);
  for (const add of [
    addTrainCommand,
    addExportCommand,
    addRunCommand,
    addCompressCommand,
    addBenchCommand,
    addCheckCommand,
    addBundleCommand,
    addVerifyCommand,
  ]) {
    add(program, io, setExit);
  }
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    io.err(`tinyvision: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
  return code;
}
