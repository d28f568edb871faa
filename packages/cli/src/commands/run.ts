import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/** Options of the `run` command. */
interface RunOptions {
  readonly input: string[];
  readonly output: string[];
  readonly backend?: string;
  readonly json?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Registers and activates backend `name` (the CPU backend is built in; others load their plugin package). */
async function activate(name: string): Promise<void> {
  const t = await import('@tinyvision/tensor');
  const { cpu } = await import('@tinyvision/backend-cpu');
  t.registerBackend(cpu());
  if (name !== 'cpu') {
    const pkg = `@tinyvision/backend-${name}`;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pkg)) as Record<string, unknown>;
    } catch (e) {
      throw new t.BackendNotFoundError(`backend '${name}': cannot load ${pkg} (${(e as Error).message})`);
    }
    const factory = mod[name];
    if (typeof factory !== 'function')
      throw new t.BackendNotFoundError(`${pkg} exports no '${name}()' factory`);
    t.registerBackend(factory() as Parameters<typeof t.registerBackend>[0]);
  }
  await t.useBackend(name);
}

async function loadGraph(path: string) {
  const { InvalidArgumentError } = await import('@tinyvision/tensor');
  if (path.endsWith('.onnx')) return (await import('@tinyvision/export/node')).loadOnnx(path);
  if (path.endsWith('.tvm')) return (await import('@tinyvision/tensor/node')).loadTvm(path);
  throw new InvalidArgumentError(`run: '${path}' is not a model file (.onnx or .tvm)`);
}

async function runModel(model: string, o: RunOptions, io: CliIO): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const t = await import('@tinyvision/tensor');
  const { writeFileAtomic } = await import('@tinyvision/tensor/node');
  await activate(o.backend ?? 'cpu');
  const graph = await loadGraph(model);
  if (o.input.length !== graph.inputs.length) {
    throw new t.InvalidArgumentError(
      `run: the model takes ${graph.inputs.length} input(s) (${graph.inputs.join(', ')}), got ${o.input.length} --input`,
    );
  }
  if (o.output.length > graph.outputs.length) {
    throw new t.InvalidArgumentError(
      `run: the model has ${graph.outputs.length} output(s), got ${o.output.length} --output`,
    );
  }
  const inputs = await Promise.all(
    o.input.map(async (path, i) => {
      const dtype = graph.values.get(graph.inputs[i]!)!.dtype;
      const a = t.parseNpy(new Uint8Array(await readFile(path)), path, dtype);
      return t.fromStorage(a.data, a.shape, a.dtype);
    }),
  );
  const start = performance.now();
  const { outputs, fallbacks } = t.runGraph(graph, inputs);
  const ms = performance.now() - start;
  await Promise.all(
    o.output.map((path, i) => {
      const y = outputs[i]!;
      return writeFileAtomic(path, t.encodeNpy(y.dataSync(), y.shape, y.dtype));
    }),
  );
  const rows = outputs.map((y, i) => ({
    name: graph.outputs[i]!,
    shape: [...y.shape],
    dtype: y.dtype,
    ...(o.output[i] ? { file: o.output[i] } : {}),
  }));
  const backend = o.backend ?? 'cpu';
  if (o.json) {
    io.out(
      `${JSON.stringify({ model, backend, ms: Math.round(ms * 100) / 100, outputs: rows, fallbacks })}\n`,
    );
  } else {
    for (const r of rows)
      io.out(`${r.name} [${r.shape.join(', ')}] ${r.dtype}${r.file ? ` → ${r.file}` : ''}\n`);
    io.out(
      `ran on ${backend} in ${ms.toFixed(1)} ms${fallbacks.length ? `, ${fallbacks.length} CPU fallback(s)` : ''}\n`,
    );
  }
  for (const y of [...inputs, ...outputs]) y.dispose();
}

/**
 * Adds the `run` command: runs an `.onnx` or `.tvm` model on `.npy` inputs and writes `.npy` outputs.
 * @param program - the program
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the program
 * @internal
 */
export function addRunCommand(program: Command, io: CliIO, setExit: (code: number) => void): Command {
  program
    .command('run')
    .description('run a model (.onnx or .tvm) on .npy inputs and write .npy outputs')
    .argument('<model>', 'model file: .onnx or .tvm')
    .requiredOption('-i, --input <file.npy>', 'input tensor, once per model input in order', collect, [])
    .option('-o, --output <file.npy>', 'where to write an output, once per output in order', collect, [])
    .option('-b, --backend <name>', 'backend to run on (cpu, wasm, webgpu, …)', 'cpu')
    .option('--json', 'print one JSON object instead of text')
    .action(async (model: string, o: RunOptions) => {
      try {
        await runModel(model, o, io);
        setExit(0);
      } catch (e) {
        const { TinyVisionError } = await import('@tinyvision/tensor');
        if (!TinyVisionError.isInstance(e) && (e as { code?: string }).code !== 'ENOENT') throw e;
        io.err(`tinyvision run: ${(e as Error).message}\n`);
        setExit(1);
      }
    });
  return program;
}
