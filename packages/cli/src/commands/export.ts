import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/**
 * Adds the `export and info` command(s) to a commander program.
 * @param program - the program
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the program
 * @internal
 */
export function addExportCommand(program: Command, io: CliIO, setExit: (code: number) => void): Command {
  void io;
  void setExit;
  return program; // export and info (issue 7): not implemented yet
}
