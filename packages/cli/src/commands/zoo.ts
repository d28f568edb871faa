import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/** Options of `tinyvision zoo info`, as commander parses them. */
interface ZooInfoFlags {
  readonly width?: string;
  readonly resolution?: string;
  readonly numClasses?: string;
  readonly json?: boolean;
}

function toNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  // Non-numbers pass through as NaN, so that the model builder reports the valid range.
  return value.trim() === '' ? Number.NaN : n;
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/**
 * Adds `zoo list [--json]` and `zoo info <name> [--width W] [--resolution R] [--num-classes N] [--json]` to a
 * commander program. `info` prints `{ name, family, params, macs, inputShape, width, resolution }`; an unknown
 * name or an invalid option exits 1 with a message listing the valid values.
 * @param program - the program
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the `zoo` command
 * @internal
 */
export function addZooCommand(program: Command, io: CliIO, setExit: (code: number) => void): Command {
  const zoo = program
    .command('zoo')
    .description('list the model zoo and report parameter / MAC counts of a model');
  zoo
    .command('list')
    .description('list the zoo models')
    .option('--json', 'print a JSON array instead of a table')
    .action(async (o: { json?: boolean }) => {
      // Loaded on demand so that `--version` and `--help` start without importing the model library.
      const { MODEL_NAMES, ZOO } = await import('@tinyvision/models');
      const rows = MODEL_NAMES.map((name) => ({
        name,
        family: ZOO[name].family,
        description: ZOO[name].description,
      }));
      if (o.json) {
        io.out(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const w = Math.max(...rows.map((r) => r.name.length));
      io.out(`${rows.map((r) => `${r.name.padEnd(w)}  ${r.description}`).join('\n')}\n`);
    });
  zoo
    .command('info')
    .description('parameters, MACs (one image) and input shape of a zoo model')
    .argument('<name>', 'model name (see `tinyvision zoo list`)')
    .option('--width <w>', 'width multiplier')
    .option('--resolution <r>', 'input resolution')
    .option('--num-classes <n>', 'classifier outputs (default 1000)')
    .option('--json', 'print one JSON object instead of text')
    .action(async (name: string, o: ZooInfoFlags) => {
      const [{ registerBackend, InvalidArgumentError }, { cpu }, models] = await Promise.all([
        import('@tinyvision/tensor'),
        import('@tinyvision/backend-cpu'),
        import('@tinyvision/models'),
      ]);
      if (!models.isModelName(name)) {
        io.err(
          `tinyvision zoo info: unknown model '${name}'; valid names: ${models.MODEL_NAMES.join(', ')}\n`,
        );
        setExit(1);
        return;
      }
      registerBackend(cpu());
      const width = toNumber(o.width);
      const resolution = toNumber(o.resolution);
      const numClasses = toNumber(o.numClasses);
      let info: ReturnType<typeof models.modelInfo>;
      try {
        info = models.modelInfo(name, {
          ...(width === undefined ? {} : { width }),
          ...(resolution === undefined ? {} : { resolution }),
          ...(numClasses === undefined ? {} : { numClasses }),
        });
      } catch (e) {
        if (!InvalidArgumentError.isInstance(e)) throw e;
        io.err(`tinyvision zoo info: ${e.message}\n`);
        setExit(1);
        return;
      }
      const out = {
        name: info.name,
        family: info.family,
        params: info.params,
        macs: info.macs,
        inputShape: info.inputShape,
        width: info.width,
        resolution: info.resolution,
      };
      if (o.json) {
        io.out(`${JSON.stringify(out)}\n`);
        return;
      }
      io.out(
        [
          `${out.name} (${out.family})`,
          `  params      ${out.params} (${formatCount(out.params)})`,
          `  MACs        ${out.macs} (${formatCount(out.macs)})`,
          `  input       [${out.inputShape.join(', ')}]`,
          `  width       ${out.width}`,
          `  resolution  ${out.resolution}`,
        ].join('\n') + '\n',
      );
    });
  return zoo;
}
