import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/** Flags of `tinyvision export`, as commander parses them. */
interface ExportFlags {
  readonly format: string;
  readonly quant: string;
  readonly opset?: string;
  readonly output: string;
  readonly width?: string;
  readonly resolution?: string;
  readonly numClasses?: string;
  readonly layout: string;
}

const FORMATS = ['tflite', 'onnx', 'coreml', 'mlpackage'];
const QUANTS = ['none', 'fp16', 'int8'];

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  return v.trim() === '' ? Number.NaN : Number(v);
}

/** Loads a `.tvm` graph, or builds, traces and optimises a zoo model (eval mode, random weights). */
async function loadGraph(model: string, o: ExportFlags) {
  const tensor = await import('@tinyvision/tensor');
  const { cpu } = await import('@tinyvision/backend-cpu');
  tensor.registerBackend(cpu());
  if (model.endsWith('.tvm')) return (await import('@tinyvision/tensor/node')).loadTvm(model);
  const models = await import('@tinyvision/models');
  if (!models.isModelName(model)) {
    throw new tensor.InvalidArgumentError(
      `'${model}' is neither a .tvm file nor a zoo model; valid names: ${models.MODEL_NAMES.join(', ')}`,
    );
  }
  const width = num(o.width);
  const resolution = num(o.resolution);
  const numClasses = num(o.numClasses);
  const m = models.createModel(model, {
    ...(width === undefined ? {} : { width }),
    ...(resolution === undefined ? {} : { resolution }),
    ...(numClasses === undefined ? {} : { numClasses }),
  });
  m.eval();
  const r = m.resolution;
  return tensor.optimizeGraph(models.traceModule(m, [tensor.zeros([2, 3, r, r])], { dynamicBatch: true }));
}

/** `{ ops, params, sizeBytes, inputs, outputs, metadata }` of a .tflite, .onnx or .tvm file. */
async function describe(path: string) {
  const { readFile, stat } = await import('node:fs/promises');
  const size = (await stat(path)).size;
  if (path.endsWith('.tflite')) {
    const { inspectTflite } = await import('@tinyvision/export');
    const s = inspectTflite(new Uint8Array(await readFile(path)));
    return {
      format: 'tflite',
      sizeBytes: size,
      ops: s.ops,
      operators: s.operators,
      params: s.params,
      inputs: s.inputs,
      outputs: s.outputs,
      metadata: { description: s.description, ...s.metadata },
    };
  }
  let graph: import('@tinyvision/tensor').Graph;
  let format: string;
  if (path.endsWith('.onnx')) {
    graph = await (await import('@tinyvision/export/node')).loadOnnx(path);
    format = 'onnx';
  } else if (path.endsWith('.tvm')) {
    graph = await (await import('@tinyvision/tensor/node')).loadTvm(path);
    format = 'tvm';
  } else {
    const { InvalidArgumentError } = await import('@tinyvision/tensor');
    throw new InvalidArgumentError(`'${path}' is not a .tflite, .onnx or .tvm file`);
  }
  const ops: Record<string, number> = {};
  for (const n of graph.nodes) ops[n.op] = (ops[n.op] ?? 0) + 1;
  let params = 0;
  for (const init of graph.initializers.values()) params += init.shape.reduce((a, b) => a * b, 1);
  const io = (name: string) => {
    const v = graph.values.get(name);
    return { name, shape: v?.shape ?? [], type: v?.dtype ?? 'unknown' };
  };
  return {
    format,
    sizeBytes: size,
    ops,
    operators: graph.nodes.length,
    params,
    inputs: graph.inputs.map(io),
    outputs: graph.outputs.map(io),
    metadata: graph.metadata,
  };
}

/** Prints a typed tinyvision error as a one-line message and exit code 1; rethrows anything else. */
async function report(io: CliIO, setExit: (code: number) => void, cmd: string, e: unknown): Promise<void> {
  const { TinyVisionError } = await import('@tinyvision/tensor');
  const code = (e as { code?: unknown } | null)?.code;
  if (!TinyVisionError.isInstance(e) && typeof code !== 'string') throw e;
  io.err(`tinyvision ${cmd}: ${(e as Error).message}\n`);
  setExit(1);
}

/**
 * Adds `export <model> --format tflite|onnx|coreml|mlpackage [--quant none|fp16|int8] [--opset N] -o PATH` (model: a `.tvm` file or
 * a zoo name with `--width/--resolution/--num-classes`) and `info <file> [--json]` (operators, parameters,
 * size, inputs/outputs, metadata of a `.tflite`, `.onnx` or `.tvm` file). TFLite `--quant int8` writes
 * dynamic-range int8 weights for a float graph, full-integer int8 for a QDQ `.tvm` graph.
 * @param program - the program
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the program
 * @internal
 */
export function addExportCommand(program: Command, io: CliIO, setExit: (code: number) => void): Command {
  program
    .command('export')
    .description('export a .tvm graph or a zoo model to TFLite, ONNX or Core ML (.mlmodel / .mlpackage)')
    .argument('<model>', 'a .tvm file or a zoo model name')
    .requiredOption('--format <format>', 'tflite, onnx, coreml (.mlmodel) or mlpackage')
    .option('--quant <mode>', 'none, fp16 or int8', 'none')
    .option('--opset <n>', 'ONNX opset (13-17)')
    .requiredOption('-o, --output <path>', 'output file')
    .option('--width <w>', 'zoo model width multiplier')
    .option('--resolution <r>', 'zoo model input resolution')
    .option('--num-classes <n>', 'zoo model classifier outputs')
    .option('--layout <layout>', 'TFLite image layout: nhwc or nchw', 'nhwc')
    .action(async (model: string, o: ExportFlags) => {
      try {
        const { InvalidArgumentError } = await import('@tinyvision/tensor');
        if (!FORMATS.includes(o.format)) {
          throw new InvalidArgumentError(`--format must be one of ${FORMATS.join(', ')}, got '${o.format}'`);
        }
        if (!QUANTS.includes(o.quant)) {
          throw new InvalidArgumentError(`--quant must be one of ${QUANTS.join(', ')}, got '${o.quant}'`);
        }
        if (o.layout !== 'nhwc' && o.layout !== 'nchw') {
          throw new InvalidArgumentError(`--layout must be nhwc or nchw, got '${o.layout}'`);
        }
        const graph = await loadGraph(model, o);
        const node = await import('@tinyvision/export/node');
        if (o.format === 'tflite') {
          if (o.opset !== undefined) throw new InvalidArgumentError('--opset applies to --format onnx only');
          const quantization = o.quant === 'int8' ? 'dynamic' : (o.quant as 'none' | 'fp16');
          await node.saveTflite(o.output, graph, { quantization, layout: o.layout });
        } else if (o.format === 'coreml' || o.format === 'mlpackage') {
          if (o.opset !== undefined) throw new InvalidArgumentError('--opset applies to --format onnx only');
          const weights = o.quant === 'int8' ? 'int8' : o.quant === 'fp16' ? 'float16' : 'float32';
          if (o.format === 'coreml') await node.saveCoreML(o.output, graph, { weights });
          else await node.saveMLPackage(o.output, graph, { weights });
        } else {
          if (o.quant === 'int8') {
            throw new InvalidArgumentError(
              'ONNX int8 export needs a QDQ .tvm graph (from compress); use --quant none',
            );
          }
          const opset = num(o.opset);
          await node.saveOnnx(o.output, graph, {
            ...(opset === undefined ? {} : { opset }),
            ...(o.quant === 'fp16' ? { dtype: 'float16' as const } : {}),
          });
        }
        const { stat } = await import('node:fs/promises');
        io.out(`wrote ${o.output} (${o.format}, ${(await stat(o.output)).size} bytes)\n`);
      } catch (e) {
        await report(io, setExit, 'export', e);
      }
    });
  program
    .command('info')
    .description('operators, parameters, size, inputs/outputs and metadata of a .tflite, .onnx or .tvm file')
    .argument('<file>', 'model file')
    .option('--json', 'print one JSON object')
    .action(async (file: string, o: { json?: boolean }) => {
      try {
        const d = await describe(file);
        if (o.json) {
          io.out(`${JSON.stringify(d)}\n`);
          return;
        }
        const fmt = (t: { name: string; shape: readonly (number | string)[]; type: string }) =>
          `${t.name} [${t.shape.join(', ')}] ${t.type}`;
        io.out(
          [
            `${file} (${d.format}, ${d.sizeBytes} bytes)`,
            `  operators  ${d.operators}: ${Object.entries(d.ops)
              .map(([k, v]) => `${k}×${v}`)
              .join(' ')}`,
            `  params     ${d.params}`,
            ...d.inputs.map((t) => `  input      ${fmt(t)}`),
            ...d.outputs.map((t) => `  output     ${fmt(t)}`),
            ...Object.entries(d.metadata).map(([k, v]) => `  metadata   ${k}: ${v}`),
          ].join('\n') + '\n',
        );
      } catch (e) {
        await report(io, setExit, 'info', e);
      }
    });
  return program;
}
