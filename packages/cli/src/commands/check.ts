import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/** Options of `tinyvision check`, as commander parses them. */
interface CheckFlags {
  readonly target: string;
  readonly apiLevel?: string;
  readonly width?: string;
  readonly resolution?: string;
  readonly json?: boolean;
  readonly strict?: boolean;
}

const TARGET_NAMES = ['edgetpu', 'nnapi', 'ane', 'webnn'] as const;

/**
 * Adds `check <model> --target edgetpu|nnapi|ane|webnn [--api-level N] [--json] [--strict]`: per node, whether
 * the accelerator can run it, where the graph would be split and what to change. Exit 0 after a report
 * (`--strict`: 2 when the graph does not run whole on the accelerator), 1 on bad input.
 * @param program - the program
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the program
 * @internal
 */
export function addCheckCommand(program: Command, io: CliIO, setExit: (code: number) => void): Command {
  program
    .command('check')
    .description(
      'accelerator compatibility report: which nodes run on the target, where the graph splits, what to change',
    )
    .argument('<model>', 'zoo name or model file (.tvm)')
    .requiredOption('--target <target>', `one of ${TARGET_NAMES.join(', ')}`)
    .option('--api-level <n>', 'NNAPI: Android API level of the device (default 30)')
    .option('--width <w>', 'zoo models: width multiplier')
    .option('--resolution <r>', 'zoo models: input resolution')
    .option('--json', 'print the report as JSON')
    .option('--strict', 'exit 2 unless the whole graph runs on the accelerator')
    .action(async (model: string, o: CheckFlags) => {
      if (!(TARGET_NAMES as readonly string[]).includes(o.target)) {
        io.err(
          `tinyvision check: unknown target '${o.target}'; expected one of ${TARGET_NAMES.join(', ')}\n`,
        );
        setExit(1);
        return;
      }
      const num = (v: string | undefined, flag: string): number | undefined => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n) || v.trim() === '')
          throw new RangeError(`${flag} must be a number, got '${v}'`);
        return n;
      };
      try {
        const apiLevel = num(o.apiLevel, '--api-level');
        const width = num(o.width, '--width');
        const resolution = num(o.resolution, '--resolution');
        const [{ loadModelGraph }, webnn] = await Promise.all([
          import('../model-source.js'),
          import('@tinyvision/backend-webnn'),
        ]);
        const graph = await loadModelGraph(model, {
          ...(width === undefined ? {} : { width }),
          ...(resolution === undefined ? {} : { resolution }),
        });
        const report = webnn.checkCompatibility(graph, o.target as (typeof TARGET_NAMES)[number], {
          ...(apiLevel === undefined ? {} : { apiLevel }),
        });
        io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : webnn.formatCompatibilityReport(report));
        if (o.strict && !report.summary.fullyOnAccelerator) setExit(2);
      } catch (e) {
        io.err(`tinyvision check: ${e instanceof Error ? e.message : String(e)}\n`);
        setExit(1);
      }
    });
  return program;
}
