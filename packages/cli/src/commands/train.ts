import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/**
 * Adds the `train and eval` command(s) to a commander program.
 * @param program - the program
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the program
 * @internal
 */
export function addTrainCommand(program: Command, io: CliIO, setExit: (code: number) => void): Command {
  void io;
  void setExit;
  return program; // train and eval (issue 4): not implemented yet
}
