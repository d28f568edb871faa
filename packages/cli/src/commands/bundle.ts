import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/**
 * Adds the `bundle, keygen, serve-updates, serve` command(s) to a commander program.
 * @param program - the program
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the program
 * @internal
 */
export function addBundleCommand(program: Command, io: CliIO, setExit: (code: number) => void): Command {
  void io;
  void setExit;
  return program; // bundle, keygen, serve-updates, serve (issue 9): not implemented yet
}
