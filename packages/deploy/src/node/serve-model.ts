import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createGraphRunner, type Graph, TinyVisionError, tensor } from '@tinyvision/tensor';
import { toPrediction } from '../router.js';
import { listen, type RunningServer, type ServeOptions } from './update-server.js';

/** Options of {@link serveModel}. */
export interface ModelServerOptions extends ServeOptions {
  /** Class names returned as `label`. */
  readonly labels?: readonly string[];
  /** Largest request body in bytes (default 16 MiB; larger requests get HTTP 413). */
  readonly maxBodyBytes?: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) throw new HttpError(413, `request body is over ${max} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Serves a model over HTTP (JSON in and out) with `node:http`: `POST /predict` with
 * `{"input": number[], "shape"?: number[]}` answers `{"output", "shape", "probs", "top", "confidence", "label",
 * "latencyMs"}`; `GET /health` answers `{"ok": true}`. Bad requests get 400 with `{"error", "code"}`. Runs on the
 * active backend.
 * @param graph - the model (first input, first output)
 * @param opts - port, host, labels, body limit
 * @returns the running server
 * @throws a listen error (e.g. EADDRINUSE)
 * @example
 * ```ts
 * const srv = await serveModel(await loadTvm('model.tvm'), { port: 8080, labels });
 * ```
 */
export async function serveModel(graph: Graph, opts: ModelServerOptions = {}): Promise<RunningServer> {
  const runner = createGraphRunner(graph);
  const inputShape = graph.values.get(graph.inputs[0]!)?.shape ?? [];
  const fixedShape = inputShape.every((d) => typeof d === 'number') ? (inputShape as number[]) : undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/health' && req.method === 'GET') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: true, inputShape }));
      return;
    }
    if (path !== '/predict') throw new HttpError(404, `no route ${path}`);
    if (req.method !== 'POST') throw new HttpError(405, 'use POST /predict');
    let body: { input?: unknown; shape?: unknown };
    try {
      body = JSON.parse(await readBody(req, opts.maxBodyBytes ?? 16 << 20));
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(400, 'body is not valid JSON');
    }
    const input = body?.input;
    if (!Array.isArray(input) || !input.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new HttpError(400, "'input' must be an array of finite numbers");
    }
    const shape = body.shape ?? fixedShape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new HttpError(
        400,
        "'shape' must be an array of non-negative integers (the model's input shape is dynamic)",
      );
    }
    const t0 = performance.now();
    const x = tensor(input as number[], shape as number[]);
    try {
      const r = runner.run([x]);
      const y = r.outputs[0]!;
      const output = Array.from(y.dataSync() as ArrayLike<number>);
      const outShape = [...y.shape];
      for (const t of r.outputs) t.dispose();
      const p = toPrediction(output, opts.labels);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ output, shape: outShape, ...p, latencyMs: performance.now() - t0 }));
    } finally {
      x.dispose();
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : TinyVisionError.isInstance(e) ? 400 : 500;
      const code = TinyVisionError.isInstance(e) ? e.code : e instanceof HttpError ? 'HTTP' : 'INTERNAL';
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (e as Error).message, code }));
    });
  });
  server.on('close', () => runner.dispose());
  return listen(server, opts);
}
