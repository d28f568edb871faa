import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/** Runs `fn`, reporting any error as `tinyvision <cmd>: <ErrorName>: <message>` with exit code 1. */
function guarded<A extends unknown[]>(
  cmd: string,
  io: CliIO,
  setExit: (code: number) => void,
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const err = e as Error;
      io.err(`tinyvision ${cmd}: ${err.name ?? 'Error'}: ${err.message}\n`);
      setExit(1);
    }
  };
}

const numberList = (v: string): number[] => v.split(',').map((s) => Number(s.trim()));

async function readLabels(path: string | undefined): Promise<string[] | undefined> {
  if (!path) return undefined;
  const { readFile } = await import('node:fs/promises');
  return (await readFile(path, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
}

/** Waits until SIGINT/SIGTERM, then closes the server. */
function untilSignal(close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

interface CreateFlags {
  readonly version: string;
  readonly key: string;
  readonly output: string;
  readonly name?: string;
  readonly inputShape?: number[];
  readonly labels?: string;
  readonly targetBackend: string;
  readonly ttlDays: string;
  readonly base?: string;
  readonly mean?: number[];
  readonly std?: number[];
  readonly scale?: string;
  readonly layout?: 'NCHW' | 'NHWC';
}

async function createCmd(model: string, o: CreateFlags, io: CliIO): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const { basename } = await import('node:path');
  const { InvalidArgumentError } = await import('@tinyvision/tensor');
  const { writeFileAtomic, loadTvm } = await import('@tinyvision/tensor/node');
  const d = await import('@tinyvision/deploy');
  const dn = await import('@tinyvision/deploy/node');
  const signer = await dn.loadSigner(o.key);
  const modelName = basename(model);
  let inputShape = o.inputShape;
  if (!inputShape && model.endsWith('.tvm')) {
    const g = await loadTvm(model);
    const s = g.values.get(g.inputs[0]!)?.shape;
    if (s?.every((x) => typeof x === 'number')) inputShape = s as number[];
  }
  if (!inputShape || inputShape.some((x) => !Number.isSafeInteger(x) || x < 0)) {
    throw new InvalidArgumentError(
      `bundle create: give --input-shape (e.g. 1,3,32,32); it cannot be read from '${model}'`,
    );
  }
  const files: Record<string, Uint8Array> = { [modelName]: new Uint8Array(await readFile(model)) };
  const labels = await readLabels(o.labels);
  if (o.labels) files['labels.txt'] = new Uint8Array(await readFile(o.labels));
  let base: { version: string; files: Record<string, Uint8Array> } | undefined;
  if (o.base) {
    const old = await d.readBundle(new Uint8Array(await readFile(o.base)), { publicKey: signer.publicKey });
    if (old.manifest.baseVersion)
      throw new InvalidArgumentError(`bundle create: --base '${o.base}' is itself a delta bundle`);
    base = { version: old.manifest.version, files: Object.fromEntries(await d.resolveFiles(old)) };
  }
  const preprocessing = {
    ...(o.layout ? { layout: o.layout } : {}),
    ...(o.scale !== undefined ? { scale: Number(o.scale) } : {}),
    ...(o.mean ? { mean: o.mean } : {}),
    ...(o.std ? { std: o.std } : {}),
  };
  const bytes = await d.createBundle(
    {
      name: o.name ?? modelName.replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9._-]/g, '_'),
      version: o.version,
      model: modelName,
      files,
      metadata: {
        inputShape,
        targetBackend: o.targetBackend,
        ...(labels ? { labels } : {}),
        ...(Object.keys(preprocessing).length ? { preprocessing } : {}),
      },
      ttlSeconds: Number(o.ttlDays) * 86400,
      ...(base ? { base } : {}),
    },
    signer,
  );
  await writeFileAtomic(o.output, bytes);
  const m = d.inspectBundle(bytes);
  io.out(
    `${o.output}: ${m.name} ${m.version}${m.baseVersion ? ` (delta from ${m.baseVersion})` : ''}, ${bytes.length} bytes, ${m.files.length} file(s), expires ${m.expiresAt}\n`,
  );
}

async function healthFromFile(path: string | undefined) {
  if (!path) return undefined;
  const { readFile } = await import('node:fs/promises');
  const { registerBackend, FormatError } = await import('@tinyvision/tensor');
  const { cpu } = await import('@tinyvision/backend-cpu');
  const dn = await import('@tinyvision/deploy/node');
  registerBackend(cpu());
  const h = JSON.parse(await readFile(path, 'utf8')) as {
    input?: number[];
    expected?: number[];
    tolerance?: number;
    maxLatencyMs?: number;
  };
  if (!Array.isArray(h.input) || !Array.isArray(h.expected)) {
    throw new FormatError(`${path}: health check file needs 'input' and 'expected' arrays`);
  }
  return dn.modelHealthCheck({
    input: h.input,
    expected: h.expected,
    ...(h.tolerance !== undefined ? { tolerance: h.tolerance } : {}),
    ...(h.maxLatencyMs !== undefined ? { maxLatencyMs: h.maxLatencyMs } : {}),
  });
}

/**
 * Adds `keygen`, `bundle create|verify|install|update|rollback|status`, `serve-updates` and `serve` to a
 * commander program. Every failure (tampering, bad signature, wrong key, expired manifest, unsafe path, version
 * downgrade, failed health check) prints `tinyvision <cmd>: <ErrorName>: <message>` and exits 1.
 * @param program - the program
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the program
 * @internal
 */
export function addBundleCommand(program: Command, io: CliIO, setExit: (code: number) => void): Command {
  // `bundle create --version V` reaches the subcommand because program.ts enables positional options.
  program
    .command('keygen')
    .description('generate an Ed25519 key pair for signing model bundles')
    .requiredOption('-o, --output <dir>', 'directory for bundle-signing.key and bundle-signing.pub')
    .action(
      guarded('keygen', io, setExit, async (o: { output: string }) => {
        const dn = await import('@tinyvision/deploy/node');
        const k = await dn.generateSigningKeys(o.output);
        io.out(
          `private key: ${k.privateKeyPath} (keep secret)\npublic key:  ${k.publicKeyPath}\nkey id:      ${k.keyId}\n`,
        );
      }),
    );
  const bundle = program
    .command('bundle')
    .description('signed OTA model bundles: create, verify, install, roll back');
  bundle
    .command('create')
    .description('pack and sign a model into a bundle (a delta against --base when given)')
    .argument('<model>', 'model file (.tvm, .onnx, …)')
    .requiredOption('--version <v>', 'bundle version, MAJOR.MINOR.PATCH')
    .requiredOption('--key <file>', 'PEM Ed25519 private key (see `tinyvision keygen`)')
    .requiredOption('-o, --output <file>', 'bundle file to write (.tvb)')
    .option('--name <name>', 'model name (default: the model file name)')
    .option('--input-shape <dims>', 'input shape, e.g. 1,3,32,32 (default: read from a .tvm)', numberList)
    .option('--labels <file>', 'class labels, one per line')
    .option('--target-backend <name>', 'backend the model is prepared for', 'cpu')
    .option('--ttl-days <n>', 'days until the manifest expires', '30')
    .option('--base <bundle>', 'previous full bundle: store patches against it (delta update)')
    .option('--mean <values>', 'preprocessing: per-channel mean', numberList)
    .option('--std <values>', 'preprocessing: per-channel std', numberList)
    .option('--scale <s>', 'preprocessing: pixel scale (e.g. 0.00392156862745098)')
    .option('--layout <l>', 'preprocessing: NCHW or NHWC')
    .action(
      guarded('bundle create', io, setExit, (model: string, o: CreateFlags) => createCmd(model, o, io)),
    );
  bundle
    .command('verify')
    .description('verify a bundle: signature, key, expiry, sizes and sha256 of every file')
    .argument('<file>', 'bundle file')
    .requiredOption('--pubkey <file>', 'trusted PEM public key')
    .option('--json', 'print the manifest as JSON')
    .action(
      guarded('bundle verify', io, setExit, async (file: string, o: { pubkey: string; json?: boolean }) => {
        const { readFile } = await import('node:fs/promises');
        const d = await import('@tinyvision/deploy');
        const dn = await import('@tinyvision/deploy/node');
        const b = await d.readBundle(new Uint8Array(await readFile(file)), {
          publicKey: await dn.loadPublicKey(o.pubkey),
        });
        const m = b.manifest;
        if (o.json) io.out(`${JSON.stringify(m, null, 2)}\n`);
        else
          io.out(
            `OK ${file}: ${m.name} ${m.version}, key ${m.keyId}, expires ${m.expiresAt}, ${m.files.length} file(s)\n`,
          );
      }),
    );
  bundle
    .command('install')
    .description('verify and install a bundle into a model directory (atomic; keeps the previous version)')
    .argument('<file>', 'bundle file')
    .requiredOption('--dir <dir>', 'model directory')
    .requiredOption('--pubkey <file>', 'trusted PEM public key')
    .option(
      '--health <file>',
      'JSON {input, expected, tolerance?, maxLatencyMs?}: health check before switching',
    )
    .action(
      guarded(
        'bundle install',
        io,
        setExit,
        async (file: string, o: { dir: string; pubkey: string; health?: string }) => {
          const { readFile } = await import('node:fs/promises');
          const dn = await import('@tinyvision/deploy/node');
          const healthCheck = await healthFromFile(o.health);
          const r = await dn.installBundle(o.dir, new Uint8Array(await readFile(file)), {
            publicKey: await dn.loadPublicKey(o.pubkey),
            ...(healthCheck ? { healthCheck } : {}),
          });
          io.out(`installed ${r.version}${r.previousVersion ? ` (previous: ${r.previousVersion})` : ''}\n`);
        },
      ),
    );
  bundle
    .command('update')
    .description('fetch and install the newest bundle from an update server (resumes dropped downloads)')
    .argument('<url>', 'update server URL (see `tinyvision serve-updates`)')
    .requiredOption('--dir <dir>', 'model directory')
    .requiredOption('--pubkey <file>', 'trusted PEM public key')
    .option('--health <file>', 'JSON {input, expected, tolerance?, maxLatencyMs?}')
    .action(
      guarded(
        'bundle update',
        io,
        setExit,
        async (url: string, o: { dir: string; pubkey: string; health?: string }) => {
          const dn = await import('@tinyvision/deploy/node');
          const healthCheck = await healthFromFile(o.health);
          const r = await dn.downloadAndInstall(url, o.dir, {
            publicKey: await dn.loadPublicKey(o.pubkey),
            ...(healthCheck ? { healthCheck } : {}),
          });
          io.out(
            r.status === 'installed'
              ? `installed ${r.install!.version} (${r.bytesDownloaded} bytes)\n`
              : 'up to date\n',
          );
        },
      ),
    );
  bundle
    .command('rollback')
    .description('make the previous version current again')
    .requiredOption('--dir <dir>', 'model directory')
    .action(
      guarded('bundle rollback', io, setExit, async (o: { dir: string }) => {
        const dn = await import('@tinyvision/deploy/node');
        const r = await dn.rollbackModel(o.dir);
        io.out(`rolled back to ${r.version} (previous: ${r.previousVersion})\n`);
      }),
    );
  bundle
    .command('status')
    .description('show the current and previous versions of a model directory')
    .requiredOption('--dir <dir>', 'model directory')
    .option('--verify', 're-hash the installed files')
    .option('--json', 'print JSON')
    .action(
      guarded('bundle status', io, setExit, async (o: { dir: string; verify?: boolean; json?: boolean }) => {
        const dn = await import('@tinyvision/deploy/node');
        const s = await dn.storeStatus(o.dir, { verify: o.verify ?? false });
        const row = (m: typeof s.current) =>
          m
            ? {
                name: m.manifest.name,
                version: m.version,
                model: m.modelPath,
                expiresAt: m.manifest.expiresAt,
              }
            : null;
        if (o.json)
          io.out(`${JSON.stringify({ current: row(s.current), previous: row(s.previous) }, null, 2)}\n`);
        else {
          io.out(`current:  ${s.current ? `${s.current.manifest.name} ${s.current.version}` : '(none)'}\n`);
          io.out(
            `previous: ${s.previous ? `${s.previous.manifest.name} ${s.previous.version}` : '(none)'}\n`,
          );
        }
      }),
    );
  program
    .command('serve-updates')
    .description('serve the bundles (*.tvb) of a directory to update clients (ETag, Range)')
    .argument('<dir>', 'directory of bundles')
    .option('--port <p>', 'TCP port (0: any free port)', '8080')
    .option('--host <h>', 'interface to listen on', '127.0.0.1')
    .action(
      guarded('serve-updates', io, setExit, async (dir: string, o: { port: string; host: string }) => {
        const dn = await import('@tinyvision/deploy/node');
        const srv = await dn.serveUpdates(dir, { port: Number(o.port), host: o.host });
        io.out(`serving ${dir} at ${srv.url}/index.json (Ctrl-C to stop)\n`);
        await untilSignal(srv.close);
      }),
    );
  program
    .command('serve')
    .description('serve a model over HTTP: POST /predict {"input": [...], "shape"?: [...]} → JSON')
    .argument('<model>', '.tvm file, or a model directory managed by `bundle install`')
    .option('--port <p>', 'TCP port (0: any free port)', '8081')
    .option('--host <h>', 'interface to listen on', '127.0.0.1')
    .option('--labels <file>', 'class labels, one per line')
    .action(
      guarded(
        'serve',
        io,
        setExit,
        async (model: string, o: { port: string; host: string; labels?: string }) => {
          const { stat } = await import('node:fs/promises');
          const { registerBackend, InvalidArgumentError } = await import('@tinyvision/tensor');
          const { loadTvm } = await import('@tinyvision/tensor/node');
          const { cpu } = await import('@tinyvision/backend-cpu');
          const dn = await import('@tinyvision/deploy/node');
          registerBackend(cpu());
          let path = model;
          let labels = await readLabels(o.labels);
          if ((await stat(model)).isDirectory()) {
            const s = await dn.storeStatus(model);
            if (!s.current) throw new InvalidArgumentError(`serve: nothing is installed in ${model}`);
            path = s.current.modelPath;
            labels ??= s.current.manifest.metadata.labels
              ? [...s.current.manifest.metadata.labels]
              : undefined;
          }
          const srv = await dn.serveModel(await loadTvm(path), {
            port: Number(o.port),
            host: o.host,
            ...(labels ? { labels } : {}),
          });
          io.out(`serving ${path} at ${srv.url}/predict (Ctrl-C to stop)\n`);
          await untilSignal(srv.close);
        },
      ),
    );
  return program;
}
