import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { InvalidArgumentError } from '@tinyvision/tensor';
import { inspectBundle } from '../bundle.js';

/** One bundle offered by an update server (untrusted hint: clients verify the bundle itself). */
export interface UpdateIndexEntry {
  /** File name under `/bundles/`. */
  readonly file: string;
  /** Model name from the manifest. */
  readonly name: string;
  /** Version from the manifest. */
  readonly version: string;
  /** For delta bundles, the version the patches apply to. */
  readonly baseVersion?: string;
  /** Size of the bundle in bytes (the client refuses to download more). */
  readonly size: number;
  /** sha256 of the whole bundle file (hex). */
  readonly sha256: string;
}

/** The JSON served at `/index.json`. */
export interface UpdateIndex {
  /** Every valid bundle in the directory. */
  readonly bundles: readonly UpdateIndexEntry[];
}

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:43123`. */
  readonly url: string;
  /** The node:http server. */
  readonly server: Server;
  /**
   * Stops listening and closes open connections.
   * @returns resolves once closed
   */
  close(): Promise<void>;
}

/** Options of {@link serveUpdates} and `serveModel`. */
export interface ServeOptions {
  /** TCP port (default 0: any free port). */
  readonly port?: number;
  /** Interface (default `127.0.0.1`). */
  readonly host?: string;
}

const FILE = /^[A-Za-z0-9._-]{1,200}\.tvb$/;

async function buildIndex(dir: string): Promise<Map<string, { entry: UpdateIndexEntry; etag: string }>> {
  const out = new Map<string, { entry: UpdateIndexEntry; etag: string }>();
  for (const file of (await readdir(dir)).sort()) {
    if (!FILE.test(file)) continue;
    const bytes = new Uint8Array(await readFile(join(dir, file)));
    let m: ReturnType<typeof inspectBundle>;
    try {
      m = inspectBundle(bytes);
    } catch {
      continue; // not a valid bundle: not offered
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const entry: UpdateIndexEntry = {
      file,
      name: m.name,
      version: m.version,
      ...(m.baseVersion ? { baseVersion: m.baseVersion } : {}),
      size: bytes.length,
      sha256,
    };
    out.set(file, { entry, etag: `"${sha256.slice(0, 32)}"` });
  }
  return out;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => t.trim() === etag || t.trim() === '*' || t.trim() === `W/${etag}`);
}

/** @internal */
export async function listen(server: Server, opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(dir: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const index = await buildIndex(dir);
  if (path === '/index.json') {
    const body = Buffer.from(
      JSON.stringify({ bundles: [...index.values()].map((v) => v.entry) } satisfies UpdateIndex),
    );
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': body.length,
      etag,
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  const m = /^\/bundles\/([^/]+)$/.exec(path);
  const hit = m ? index.get(decodeURIComponent(m[1]!)) : undefined;
  if (!hit) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const full = join(dir, hit.entry.file);
  const size = (await stat(full)).size;
  const headers = { etag: hit.etag, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  if (etagMatches(req.headers['if-none-match'], hit.etag)) {
    res.writeHead(304, headers).end();
    return;
  }
  let start = 0;
  let end = size - 1;
  let partial = false;
  const range = req.headers.range;
  const ifRange = req.headers['if-range'];
  if (range && (!ifRange || ifRange === hit.etag)) {
    const r = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (r && (r[1] !== '' || r[2] !== '')) {
      if (r[1] === '') {
        start = Math.max(0, size - Number(r[2]));
      } else {
        start = Number(r[1]);
        if (r[2] !== '') end = Math.min(end, Number(r[2]));
      }
      if (start > end || start >= size) {
        res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
        return;
      }
      partial = true;
    }
  }
  const data = (await readFile(full)).subarray(start, end + 1);
  res.writeHead(partial ? 206 : 200, {
    ...headers,
    'content-length': data.length,
    ...(partial ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : data);
}

/**
 * Serves the bundles (`*.tvb`) of a directory over HTTP with `node:http`: `GET /index.json` lists them
 * (name, version, delta base, size, sha256), `GET /bundles/<file>` returns one. Both carry ETags and answer
 * `If-None-Match` with 304; bundles honour `Range` (206, 416) and `If-Range` so clients can resume.
 * @param dir - directory of bundles (re-scanned on every request)
 * @param opts - port and host
 * @returns the running server
 * @throws {InvalidArgumentError} when `dir` is not a directory; ENOENT when it does not exist; a listen error
 * @example
 * ```ts
 * const srv = await serveUpdates('releases', { port: 8080 });
 * // …
 * await srv.close();
 * ```
 */
export async function serveUpdates(dir: string, opts: ServeOptions = {}): Promise<RunningServer> {
  if (!(await stat(dir)).isDirectory())
    throw new InvalidArgumentError(`serveUpdates: '${dir}' is not a directory`);
  const server = createServer((req, res) => {
    handle(dir, req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`error: ${(e as Error).message}\n`);
    });
  });
  return listen(server, opts);
}
