// Test helper shared by the CLI tests (not part of the package): a CliIO that records what a command writes.
import type { CliIO } from '../io.js';

/** A {@link CliIO} whose output and diagnostics are kept for assertions. */
export type CapturedIO = CliIO & { stdout: () => string; stderr: () => string };

/** @returns a fresh capturing io */
export function capture(): CapturedIO {
  let out = '';
  let err = '';
  return {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    stdout: () => out,
    stderr: () => err,
  };
}
