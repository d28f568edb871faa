/** Where a command writes: stdout for results, stderr for diagnostics and progress. */
export interface CliIO {
  /** Writes command output (results, JSON). */
  readonly out: (text: string) => void;
  /** Writes diagnostics and errors. */
  readonly err: (text: string) => void;
  /** The stream progress bars draw on; undefined disables them. */
  readonly progressStream?: NodeJS.WriteStream;
}

/**
 * The process's stdio as a {@link CliIO}; progress bars only when stderr is a terminal.
 * @returns the default io
 * @example
 * ```ts
 * const io = processIO();
 * io.out('hello\n');
 * ```
 */
export function processIO(): CliIO {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    ...(process.stderr.isTTY && !process.env.CI ? { progressStream: process.stderr } : {}),
  };
}
