import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { get as getHttp, type IncomingMessage } from 'node:http';
import { get as getHttps } from 'node:https';
import { join } from 'node:path';
import { FormatError } from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';
import { BundleIntegrityError, SizeLimitError, UpdateServerError } from '../errors.js';
import { compareVersions } from '../manifest.js';
import { type InstallOptions, type InstallResult, installBundle, storeStatus } from './store.js';
import type { UpdateIndex, UpdateIndexEntry } from './update-server.js';

/** Result of {@link checkForUpdate}. */
export interface UpdateCheck {
  /** `available` when a newer bundle is offered, `up-to-date` otherwise, `not-modified` on HTTP 304. */
  readonly status: 'available' | 'up-to-date' | 'not-modified';
  /** The bundle to fetch (a delta from the installed version when offered, else a full bundle). */
  readonly entry?: UpdateIndexEntry;
  /** The index ETag, to pass back as `etag` next time. */
  readonly etag?: string;
}

/** Options of {@link checkForUpdate}. */
export interface CheckOptions {
  /** The installed version (none: any full bundle is newer). */
  readonly installedVersion?: string;
  /** Only consider bundles of this model name. */
  readonly name?: string;
  /** ETag of the last index seen; the server answers 304 when it did not change. */
  readonly etag?: string;
  /** Request timeout in milliseconds (default 30 000). */
  readonly timeoutMs?: number;
}

/** Options of {@link downloadAndInstall}. */
export interface DownloadOptions extends InstallOptions {
  /** Refuse bundles larger than this many bytes (default 256 MiB), whatever the index says. */
  readonly maxBytes?: number;
  /** Attempts after a dropped connection, each resuming where the last stopped (default 3). */
  readonly retries?: number;
  /** Per-request timeout in milliseconds (default 60 000). */
  readonly timeoutMs?: number;
}

/** Result of {@link downloadAndInstall}. */
export interface UpdateResult {
  /** `installed` or `up-to-date`. */
  readonly status: 'installed' | 'up-to-date';
  /** The install result when installed. */
  readonly install?: InstallResult;
  /** Bytes fetched over the network in this call (resumed bytes excluded). */
  readonly bytesDownloaded: number;
  /** How many requests it took. */
  readonly requests: number;
}

function parseIndex(v: unknown, url: string): UpdateIndex {
  const bundles = (v as UpdateIndex | null)?.bundles;
  if (!Array.isArray(bundles)) throw new FormatError(`${url}: 'bundles' is not an array`);
  for (const [i, b] of bundles.entries()) {
    if (
      typeof b?.file !== 'string' ||
      !/^[A-Za-z0-9._-]{1,200}\.tvb$/.test(b.file) ||
      typeof b.version !== 'string' ||
      typeof b.name !== 'string' ||
      !Number.isSafeInteger(b.size) ||
      b.size < 0 ||
      typeof b.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(b.sha256)
    ) {
      throw new FormatError(`${url}: bundles[${i}] is not {file, name, version, size, sha256}`);
    }
  }
  return { bundles };
}

/**
 * Asks an update server whether a newer bundle exists. Picks the highest version above `installedVersion`,
 * preferring a delta whose base is the installed version, else a full bundle. The index is only a hint: the
 * bundle is verified on install.
 * @param serverUrl - base URL of an update server (see `serveUpdates`)
 * @param opts - installed version, name filter, cached ETag
 * @returns what is available
 * @throws {UpdateServerError} when the server is unreachable or answers an unexpected status
 * @throws {FormatError} when the index is malformed
 * @example
 * ```ts
 * const u = await checkForUpdate('http://updates.local', { installedVersion: '1.0.0' });
 * if (u.status === 'available') console.log(u.entry?.version);
 * ```
 */
export async function checkForUpdate(serverUrl: string, opts: CheckOptions = {}): Promise<UpdateCheck> {
  const url = new URL('index.json', serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`).href;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: opts.etag ? { 'if-none-match': opts.etag } : {},
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
  } catch (e) {
    throw new UpdateServerError(`GET ${url}: ${(e as Error).message}`, { cause: e });
  }
  const etag = res.headers.get('etag') ?? undefined;
  if (res.status === 304) return { status: 'not-modified', ...(etag ? { etag } : {}) };
  if (res.status !== 200) throw new UpdateServerError(`GET ${url}: HTTP ${res.status}`);
  const text = await res.text();
  if (text.length > 4 << 20) throw new SizeLimitError(`GET ${url}: index is over 4 MiB`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new FormatError(`${url}: not valid JSON`);
  }
  const { bundles } = parseIndex(json, url);
  const installed = opts.installedVersion;
  const candidates = bundles.filter(
    (b) =>
      (!opts.name || b.name === opts.name) &&
      (installed === undefined || compareVersions(b.version, installed) > 0) &&
      (b.baseVersion === undefined || b.baseVersion === installed),
  );
  if (candidates.length === 0) return { status: 'up-to-date', ...(etag ? { etag } : {}) };
  candidates.sort(
    (a, b) => compareVersions(b.version, a.version) || (a.baseVersion ? -1 : 0) - (b.baseVersion ? -1 : 0),
  );
  return { status: 'available', entry: candidates[0]!, ...(etag ? { etag } : {}) };
}

function httpGet(url: string, headers: Record<string, string>, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? getHttps : getHttp;
    const req = get(url, { headers, timeout: timeoutMs }, resolve);
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (e) => reject(new UpdateServerError(`GET ${url}: ${e.message}`, { cause: e })));
  });
}

/**
 * Downloads `entry` into `file`, resuming a previous partial download with `Range` + `If-Range`; never accepts
 * more than `entry.size` bytes.
 */
async function download(
  url: string,
  entry: UpdateIndexEntry,
  file: string,
  timeoutMs: number,
): Promise<{ complete: boolean; bytes: number }> {
  const etagFile = `${file}.etag`;
  let have = 0;
  let etag: string | undefined;
  try {
    have = (await stat(file)).size;
    etag = (await readFile(etagFile, 'utf8')).trim() || undefined;
  } catch {
    have = 0;
  }
  if (have > entry.size || !etag) {
    await rm(file, { force: true });
    have = 0;
  }
  if (have === entry.size) return { complete: true, bytes: 0 };
  const headers: Record<string, string> =
    have > 0 && etag ? { range: `bytes=${have}-`, 'if-range': etag } : {};
  const res = await httpGet(url, headers, timeoutMs);
  if (res.statusCode === 200) have = 0;
  else if (res.statusCode !== 206) {
    res.resume();
    // 416: the partial file does not fit the server's file any more; start over on the next attempt
    if (res.statusCode === 416) await rm(file, { force: true });
    throw new UpdateServerError(`GET ${url}: HTTP ${res.statusCode}`);
  } else {
    const cr = /^bytes (\d+)-\d+\/(\d+)$/.exec(res.headers['content-range'] ?? '');
    if (!cr || Number(cr[1]) !== have || Number(cr[2]) !== entry.size) {
      res.destroy();
      throw new UpdateServerError(
        `GET ${url}: Content-Range '${res.headers['content-range']}' does not resume at byte ${have}`,
      );
    }
  }
  // Collected with 'data' events, which deliver every byte received before a dropped connection is reported.
  const chunks: Buffer[] = [];
  let got = 0;
  const overflow = await new Promise<boolean>((resolve) => {
    res.on('data', (c: Buffer) => {
      if (have + got + c.length > entry.size) {
        res.destroy();
        resolve(true);
        return;
      }
      chunks.push(c);
      got += c.length;
    });
    res.on('end', () => resolve(false));
    res.on('error', () => resolve(false));
    res.on('close', () => resolve(false));
  });
  if (overflow)
    throw new SizeLimitError(`GET ${url}: server sent more than the ${entry.size} bytes announced`);
  const newTag = res.headers.etag;
  if (typeof newTag === 'string') await writeFileAtomic(etagFile, newTag);
  const fh = await open(file, have === 0 ? 'w' : 'a');
  try {
    for (const c of chunks) await fh.write(c);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { complete: have + got === entry.size, bytes: got };
}

/**
 * Checks an update server, downloads the newest applicable bundle into `dir/downloads/` (resuming after dropped
 * connections), checks its size and sha256 against the index, then installs it with {@link installBundle}
 * (signature, hashes, version, expiry, atomic switch, health check with automatic rollback).
 * @param serverUrl - base URL of an update server
 * @param dir - the model directory
 * @param opts - trusted key, limits, health check, retries
 * @returns what happened
 * @throws {SizeLimitError} when the bundle is over `maxBytes` or the server sends more than announced
 * @throws {UpdateServerError} when the server fails or the download does not complete after the retries
 * @throws {BundleIntegrityError} when the downloaded bytes do not match the index (the partial file is removed)
 * @throws every error of {@link installBundle}
 * @example
 * ```ts
 * const r = await downloadAndInstall('http://updates.local', 'models/digits', { publicKey });
 * ```
 */
export async function downloadAndInstall(
  serverUrl: string,
  dir: string,
  opts: DownloadOptions,
): Promise<UpdateResult> {
  const { current } = await storeStatus(dir);
  const check = await checkForUpdate(serverUrl, {
    ...(current ? { installedVersion: current.version, name: current.manifest.name } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  if (check.status !== 'available' || !check.entry)
    return { status: 'up-to-date', bytesDownloaded: 0, requests: 1 };
  const entry = check.entry;
  const maxBytes = opts.maxBytes ?? 256 * 2 ** 20;
  if (entry.size > maxBytes)
    throw new SizeLimitError(`update ${entry.file}: ${entry.size} bytes is over the limit of ${maxBytes}`);
  const url = new URL(
    `bundles/${encodeURIComponent(entry.file)}`,
    serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`,
  ).href;
  await mkdir(join(dir, 'downloads'), { recursive: true });
  const file = join(dir, 'downloads', `${entry.file}.part`);
  let bytes = 0;
  let requests = 1;
  let complete = false;
  let lastError: unknown;
  for (let attempt = 0; attempt <= (opts.retries ?? 3) && !complete; attempt++) {
    requests++;
    try {
      const r = await download(url, entry, file, opts.timeoutMs ?? 60_000);
      bytes += r.bytes;
      complete = r.complete;
    } catch (e) {
      if (!UpdateServerError.isInstance(e)) throw e;
      lastError = e; // unreachable or bad status: try again
    }
  }
  if (!complete) {
    throw new UpdateServerError(
      `GET ${url}: download incomplete after ${(opts.retries ?? 3) + 1} attempts${lastError ? ` (${(lastError as Error).message})` : ''}`,
      { cause: lastError },
    );
  }
  const data = new Uint8Array(await readFile(file));
  if (createHash('sha256').update(data).digest('hex') !== entry.sha256) {
    await rm(file, { force: true });
    await rm(`${file}.etag`, { force: true });
    throw new BundleIntegrityError(
      `update ${entry.file}: downloaded bytes do not match the sha256 in the index`,
    );
  }
  try {
    const install = await installBundle(dir, data, opts);
    return { status: 'installed', install, bytesDownloaded: bytes, requests };
  } finally {
    await rm(file, { force: true });
    await rm(`${file}.etag`, { force: true });
  }
}
