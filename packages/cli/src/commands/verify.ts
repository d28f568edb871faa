import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/** Options of `tinyvision verify`, as commander parses them. */
interface VerifyFlags {
  readonly formats: string;
  readonly tolerance?: string;
  readonly width?: string;
  readonly resolution?: string;
  readonly input?: string;
  readonly json?: boolean;
}

const FORMATS = ['onnx', 'tflite', 'coreml'] as const;

/**
 * Adds `verify <model> [--formats onnx,tflite,coreml] [--tolerance T] [--input x.npy] [--json]`: exports the
 * model to each format, runs each file in its reference runtime, and prints per-format max/mean error and, when
 * they differ, the first divergent node. Exit 0 when every format is within tolerance, 2 on a mismatch, 1 on
 * bad input.
 * @param program - the program
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the program
 * @internal
 */
export function addVerifyCommand(program: Command, io: CliIO, setExit: (code: number) => void): Command {
  program
    .command('verify')
    .description(
      'export to each format, run it in its reference runtime, compare with tinyvision (first divergent node)',
    )
    .argument('<model>', 'zoo name or model file (.tvm)')
    .option('--formats <list>', `comma-separated: ${FORMATS.join(',')}`, FORMATS.join(','))
    .option('--tolerance <t>', 'relative tolerance (max |Δ| / max |reference|)', '1e-4')
    .option('--input <file>', 'input tensor (.npy); default: a seeded random normal input')
    .option('--width <w>', 'zoo models: width multiplier')
    .option('--resolution <r>', 'zoo models: input resolution')
    .option('--json', 'print JSON')
    .action(async (model: string, o: VerifyFlags) => {
      try {
        const formats = o.formats.split(',').map((f) => f.trim());
        const bad = formats.filter((f) => !(FORMATS as readonly string[]).includes(f));
        if (bad.length > 0)
          throw new RangeError(`unknown format(s) ${bad.join(', ')}; expected ${FORMATS.join(', ')}`);
        const tolerance = Number(o.tolerance);
        if (!(tolerance > 0))
          throw new RangeError(`--tolerance must be a positive number, got '${o.tolerance}'`);
        const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
        const [{ loadModelGraph }, { verifyFormats, formatParity }] = await Promise.all([
          import('../model-source.js'),
          import('../verify.js'),
        ]);
        const width = num(o.width);
        const resolution = num(o.resolution);
        const graph = await loadModelGraph(model, {
          ...(width === undefined ? {} : { width }),
          ...(resolution === undefined ? {} : { resolution }),
        });
        let input: import('@tinyvision/tensor').Tensor | undefined;
        if (o.input) {
          const [{ readFile }, { parseNpy, tensor }] = await Promise.all([
            import('node:fs/promises'),
            import('@tinyvision/tensor'),
          ]);
          const npy = parseNpy(new Uint8Array(await readFile(o.input)), o.input, 'float32');
          input = tensor(npy.data as Float32Array, npy.shape, 'float32');
        }
        const rows = await verifyFormats(graph, formats as (typeof FORMATS)[number][], {
          tolerance,
          ...(input ? { input } : {}),
        });
        io.out(
          o.json ? `${JSON.stringify({ model, tolerance, formats: rows }, null, 2)}\n` : formatParity(rows),
        );
        if (rows.some((r) => r.status !== 'ok')) setExit(2);
      } catch (e) {
        io.err(`tinyvision verify: ${e instanceof Error ? e.message : String(e)}\n`);
        setExit(1);
      }
    });
  return program;
}
