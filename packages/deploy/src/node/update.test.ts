import { writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import { decodeTvm, registerBackend, runGraph, tensor } from '@tinyvision/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_INPUT, tempDir, testSigner, tinyModel, traceModel } from '../__fixtures__/helpers.js';
import { createBundle } from '../bundle.js';
import { BundleIntegrityError, BundleSignatureError, HealthCheckError, SizeLimitError } from '../errors.js';
import { modelHealthCheck } from './health.js';
import { installBundle, storeStatus } from './store.js';
import { checkForUpdate, downloadAndInstall } from './update-client.js';
import { listen, type RunningServer, serveUpdates } from './update-server.js';

registerBackend(cpu());

const signer = testSigner();
const publicKey = signer.publicKey;
const meta = { inputShape: [1, 16], targetBackend: 'cpu' };
const m1 = tinyModel(21, 256);
const m2bytes = traceModel(m1.w1, m1.b1, m1.w2.mul(-1), m1.b2);
const mk = (version: string, bytes: Uint8Array, base?: Uint8Array) =>
  createBundle(
    {
      name: 'tiny',
      version,
      model: 'model.tvm',
      files: { 'model.tvm': bytes },
      metadata: meta,
      ...(base ? { base: { version: '1.0.0', files: { 'model.tvm': base } } } : {}),
    },
    signer,
  );

let releases: string;
let srv: RunningServer;
let b1: Uint8Array;
let b2: Uint8Array;
let d2: Uint8Array;

beforeAll(async () => {
  releases = await tempDir('tv-releases-');
  b1 = await mk('1.0.0', m1.bytes);
  b2 = await mk('1.1.0', m2bytes);
  d2 = await mk('1.1.0', m2bytes, m1.bytes);
  await writeFile(join(releases, 'tiny-1.0.0.tvb'), b1);
  await writeFile(join(releases, 'tiny-1.1.0.tvb'), b2);
  await writeFile(join(releases, 'tiny-1.1.0-from-1.0.0.tvb'), d2);
  await writeFile(join(releases, 'notes.txt'), 'not a bundle');
  srv = await serveUpdates(releases);
});
afterAll(() => srv?.close());

/** A TCP proxy in front of `target` that cuts the first `cuts` bundle responses after `cutAt` bytes. */
async function flakyProxy(target: string, cutAt: number, cuts: number) {
  const { port } = new URL(target);
  const seen = { ranges: [] as string[], cut: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const up = connect(Number(port), '127.0.0.1');
    sockets.add(client).add(up);
    let budget = -1;
    client.on('data', (d) => {
      const text = d.toString('latin1');
      if (text.includes('GET /bundles/')) {
        const range = /\r\nrange: ([^\r]+)/i.exec(text);
        if (range) seen.ranges.push(range[1]!);
        if (seen.cut < cuts) {
          seen.cut++;
          budget = cutAt;
        }
      }
      up.write(d);
    });
    up.on('data', (d) => {
      if (budget < 0) {
        client.write(d);
        return;
      }
      if (d.length >= budget) {
        // FIN after a partial response: the client sees a connection closed mid-body
        client.end(d.subarray(0, budget));
        up.destroy();
        budget = -1;
      } else {
        budget -= d.length;
        client.write(d);
      }
    });
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
    client.on('close', () => up.destroy());
  });
  const r = await listen(server as never, {});
  return {
    url: r.url,
    seen,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}

describe('update server', () => {
  it('serves an index with ETag/304 and bundles with Range/206/416', async () => {
    const res = await fetch(`${srv.url}/index.json`);
    const index = (await res.json()) as {
      bundles: { file: string; version: string; baseVersion?: string; size: number }[];
    };
    expect(index.bundles.map((b) => [b.file, b.version, b.baseVersion])).toEqual([
      ['tiny-1.0.0.tvb', '1.0.0', undefined],
      ['tiny-1.1.0-from-1.0.0.tvb', '1.1.0', '1.0.0'],
      ['tiny-1.1.0.tvb', '1.1.0', undefined],
    ]);
    const etag = res.headers.get('etag')!;
    expect((await fetch(`${srv.url}/index.json`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const part = await fetch(`${srv.url}/bundles/tiny-1.0.0.tvb`, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${b1.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(Buffer.from(b1.subarray(100, 200)))).toBe(true);
    const full = await fetch(`${srv.url}/bundles/tiny-1.0.0.tvb`);
    const bEtag = full.headers.get('etag')!;
    await full.arrayBuffer();
    expect(
      (await fetch(`${srv.url}/bundles/tiny-1.0.0.tvb`, { headers: { 'if-none-match': bEtag } })).status,
    ).toBe(304);
    const stale = await fetch(`${srv.url}/bundles/tiny-1.0.0.tvb`, {
      headers: { range: 'bytes=100-', 'if-range': '"old"' },
    });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
    expect(
      (await fetch(`${srv.url}/bundles/tiny-1.0.0.tvb`, { headers: { range: `bytes=${b1.length}-` } }))
        .status,
    ).toBe(416);
    expect((await fetch(`${srv.url}/bundles/..%2Fnotes.txt`)).status).toBe(404);
    expect((await fetch(`${srv.url}/bundles/notes.txt`)).status).toBe(404);
  });

  it('checkForUpdate picks the newest version, preferring a delta from the installed one', async () => {
    const fresh = await checkForUpdate(srv.url);
    expect(fresh.entry?.file).toBe('tiny-1.1.0.tvb');
    const fromV1 = await checkForUpdate(srv.url, { installedVersion: '1.0.0' });
    expect(fromV1.entry?.file).toBe('tiny-1.1.0-from-1.0.0.tvb');
    expect((await checkForUpdate(srv.url, { installedVersion: '1.1.0' })).status).toBe('up-to-date');
    expect((await checkForUpdate(srv.url, { etag: fromV1.etag! })).status).toBe('not-modified');
  });
});

describe('downloadAndInstall', () => {
  it('installs the full bundle, then only the delta', async () => {
    const dir = await tempDir();
    await installBundle(dir, b1, { publicKey });
    const r = await downloadAndInstall(srv.url, dir, { publicKey });
    expect(r.status).toBe('installed');
    expect(r.install).toEqual({ version: '1.1.0', previousVersion: '1.0.0' });
    expect(r.bytesDownloaded).toBe(d2.length);
    expect(d2.length).toBeLessThan(b2.length * 0.4);
    expect((await downloadAndInstall(srv.url, dir, { publicKey })).status).toBe('up-to-date');
    const fresh = await tempDir();
    expect((await downloadAndInstall(srv.url, fresh, { publicKey })).bytesDownloaded).toBe(b2.length);
  });

  it('resumes with Range after the connection is cut mid-transfer', async () => {
    const proxy = await flakyProxy(srv.url, 4000, 2);
    try {
      const dir = await tempDir();
      const r = await downloadAndInstall(proxy.url, dir, { publicKey });
      expect(r.install?.version).toBe('1.1.0');
      expect(proxy.seen.cut).toBe(2);
      expect(proxy.seen.ranges.length).toBe(2);
      expect(proxy.seen.ranges[0]).toMatch(/^bytes=\d+-$/);
      // nothing was fetched twice: the resumed parts add up to exactly the bundle
      expect(r.bytesDownloaded).toBe(b2.length);
      expect(r.requests).toBe(4);
      expect((await storeStatus(dir, { verify: true })).current?.version).toBe('1.1.0');
    } finally {
      await proxy.close();
    }
  });

  it('aborts an endless download and rejects corrupt or tampered bundles', async () => {
    const evil = createHttpServer((req, res) => {
      if (req.url === '/index.json') {
        res.end(
          JSON.stringify({
            bundles: [{ file: 'x.tvb', name: 'tiny', version: '9.0.0', size: 5000, sha256: 'a'.repeat(64) }],
          }),
        );
        return;
      }
      res.writeHead(200);
      const chunk = Buffer.alloc(16384, 7);
      const pump = () => {
        while (res.write(chunk)) if (res.destroyed) return;
        res.once('drain', pump);
      };
      pump();
      res.on('error', () => undefined);
    });
    const e = await listen(evil, {});
    try {
      const dir = await tempDir();
      await expect(downloadAndInstall(e.url, dir, { publicKey })).rejects.toThrow(
        /more than the 5000 bytes announced/,
      );
      await expect(downloadAndInstall(e.url, dir, { publicKey, maxBytes: 1000 })).rejects.toThrow(
        SizeLimitError,
      );
      expect((await storeStatus(dir)).current).toBeNull();
    } finally {
      await e.close();
    }
    // a tampered release directory: the index matches the file, the signature does not
    const bad = await tempDir('tv-bad-');
    const t = b2.slice();
    t[20 + new DataView(t.buffer).getUint32(12, true) + 5] ^= 1; // a signature byte
    await writeFile(join(bad, 'tiny-1.1.0.tvb'), t);
    const s2 = await serveUpdates(bad);
    try {
      await expect(downloadAndInstall(s2.url, await tempDir(), { publicKey })).rejects.toThrow(
        BundleSignatureError,
      );
      // corrupt on the wire: bytes differ from the index sha256
      const liar = createHttpServer(async (req, res) => {
        const upstream = await fetch(`${s2.url}${req.url}`);
        const body = Buffer.from(await upstream.arrayBuffer());
        if (req.url?.startsWith('/bundles/')) body[body.length - 1] ^= 1;
        res.end(
          req.url === '/index.json'
            ? body.toString().replace(/"sha256":"[0-9a-f]+"/, `"sha256":"${await sha(b2)}"`)
            : body,
        );
      });
      await writeFile(join(bad, 'tiny-1.1.0.tvb'), b2);
      const l = await listen(liar, {});
      try {
        await expect(downloadAndInstall(l.url, await tempDir(), { publicKey })).rejects.toThrow(
          BundleIntegrityError,
        );
      } finally {
        await l.close();
      }
    } finally {
      await s2.close();
    }
  });

  it('runs the health check and keeps the old version when the update is unhealthy', async () => {
    const dir = await tempDir();
    await installBundle(dir, b1, { publicKey });
    const expected = Array.from(
      runGraph(decodeTvm(m1.bytes), [tensor(HEALTH_INPUT, [1, 16])]).outputs[0]!.dataSync(),
    );
    const hc = modelHealthCheck({ input: HEALTH_INPUT, expected });
    await expect(downloadAndInstall(srv.url, dir, { publicKey, healthCheck: hc })).rejects.toThrow(
      HealthCheckError,
    );
    expect((await storeStatus(dir)).current?.version).toBe('1.0.0');
  });
});

async function sha(b: Uint8Array): Promise<string> {
  const { sha256 } = await import('../crypto.js');
  return sha256(b);
}
