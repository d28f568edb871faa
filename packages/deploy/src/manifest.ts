import { FormatError } from '@tinyvision/tensor';
import { SizeLimitError, UnsafePathError } from './errors.js';

/** The `format` tag every bundle manifest carries. */
export const BUNDLE_FORMAT = 'tinyvision-bundle';
/** The manifest/container format version this library writes and reads. */
export const BUNDLE_FORMAT_VERSION = 1;
/** The runtime version of this library, compared with a manifest's `metadata.minRuntimeVersion`. */
export const RUNTIME_VERSION = '0.1.0';

/** How the payload of a file entry is stored when it is a delta against the installed version. */
export interface FilePatch {
  /** sha256 (hex) of the base file the patch applies to (the installed file with the same path). */
  readonly baseSha256: string;
  /** Size in bytes of the patch stored in the bundle. */
  readonly size: number;
  /** sha256 (hex) of the patch bytes. */
  readonly sha256: string;
}

/** One file of a bundle, as bound by the signed manifest. */
export interface BundleFileEntry {
  /** Relative path inside the bundle (`a-z A-Z 0-9 . _ -` and `/`, no `..`). */
  readonly path: string;
  /** Size in bytes of the file once installed. */
  readonly size: number;
  /** sha256 (hex) of the file once installed. */
  readonly sha256: string;
  /** Present when the bundle carries a delta patch instead of the file itself. */
  readonly patch?: FilePatch;
}

/** How to turn an image into the model's input tensor. */
export interface Preprocessing {
  /** Memory layout of the input tensor. */
  readonly layout?: 'NCHW' | 'NHWC';
  /** Multiplier applied to raw pixel values first (e.g. 1/255). */
  readonly scale?: number;
  /** Per-channel mean subtracted after scaling. */
  readonly mean?: readonly number[];
  /** Per-channel standard deviation divided by after the mean. */
  readonly std?: readonly number[];
}

/** What a device needs to know to run the model of a bundle. */
export interface ModelMetadata {
  /** Input shape, batch included (e.g. `[1, 3, 32, 32]`). */
  readonly inputShape: readonly number[];
  /** Preprocessing of images into the input tensor. */
  readonly preprocessing?: Preprocessing;
  /** Class labels, index = output position. */
  readonly labels?: readonly string[];
  /** The oldest tinyvision runtime able to run the model (semver `x.y.z`). */
  readonly minRuntimeVersion: string;
  /** Backend the model was prepared for (`'cpu'`, `'wasm'`, `'webgpu'`, …). */
  readonly targetBackend: string;
}

/** The signed manifest of a bundle: binds the version, expiry and every file's size and sha256. */
export interface BundleManifest {
  /** Always {@link BUNDLE_FORMAT}. */
  readonly format: typeof BUNDLE_FORMAT;
  /** Always {@link BUNDLE_FORMAT_VERSION}. */
  readonly formatVersion: number;
  /** Model name (`[A-Za-z0-9._-]`, ≤ 128 chars). */
  readonly name: string;
  /** Model version, semver `MAJOR.MINOR.PATCH`; updates must strictly increase it. */
  readonly version: string;
  /** When the bundle was made (ISO 8601). */
  readonly createdAt: string;
  /** After this instant (ISO 8601) the bundle is refused (freeze-attack defence). */
  readonly expiresAt: string;
  /** First 16 hex chars of sha256 of the raw Ed25519 public key that signed it. */
  readonly keyId: string;
  /** Path of the model file among `files`. */
  readonly model: string;
  /** Metadata needed to run the model. */
  readonly metadata: ModelMetadata;
  /** Every file, in payload order. */
  readonly files: readonly BundleFileEntry[];
  /** For delta bundles: the installed version the patches apply to. */
  readonly baseVersion?: string;
}

/** Upper bounds the reader enforces before allocating anything (endless-data defence). */
export interface BundleLimits {
  /** Largest manifest in bytes (default 1 MiB). */
  readonly maxManifestBytes?: number;
  /** Most files in a bundle (default 64). */
  readonly maxFiles?: number;
  /** Largest single file in bytes (default 512 MiB). */
  readonly maxFileBytes?: number;
  /** Largest sum of payload sizes in bytes (default 1 GiB). */
  readonly maxTotalBytes?: number;
}

/** @internal */
export const DEFAULT_LIMITS: Required<BundleLimits> = {
  maxManifestBytes: 1 << 20,
  maxFiles: 64,
  maxFileBytes: 512 * 2 ** 20,
  maxTotalBytes: 2 ** 30,
};

const SEMVER = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;
const HEX64 = /^[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9._-]{1,128}$/;
const SEGMENT = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Compares two semver `MAJOR.MINOR.PATCH` versions numerically.
 * @param a - first version
 * @param b - second version
 * @returns negative when a < b, 0 when equal, positive when a > b
 * @throws {FormatError} when either is not `MAJOR.MINOR.PATCH`
 * @example
 * ```ts
 * compareVersions('1.10.0', '1.9.3'); // > 0
 * ```
 */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a, 'a');
  const pb = parseVersion(b, 'b');
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

function parseVersion(v: string, where: string): number[] {
  const m = typeof v === 'string' ? SEMVER.exec(v) : null;
  if (!m) throw new FormatError(`version ${where}: '${String(v)}' is not MAJOR.MINOR.PATCH`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/**
 * Checks that a bundle file name is a safe relative path: segments of `[A-Za-z0-9._-]` joined by `/`, no
 * empty, `.` or `..` segment, no absolute path, backslash, NUL or control character, ≤ 255 chars.
 * @param path - the name
 * @param where - context for the message (e.g. `files[2].path`)
 * @returns nothing
 * @throws {UnsafePathError} naming the rule that is broken
 * @example
 * ```ts
 * assertSafePath('weights/model.tvm', 'files[0].path'); // ok
 * assertSafePath('../x', 'files[0].path'); // throws UnsafePathError
 * ```
 */
export function assertSafePath(path: string, where: string): void {
  if (typeof path !== 'string' || path.length === 0 || path.length > 255) {
    throw new UnsafePathError(`${where}: path must be a string of 1..255 chars`);
  }
  const shown = JSON.stringify(path);
  if (path.includes('\0')) throw new UnsafePathError(`${where}: path ${shown} contains a NUL byte`);
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) {
    throw new UnsafePathError(`${where}: path ${shown} is absolute`);
  }
  if (path.includes('\\')) throw new UnsafePathError(`${where}: path ${shown} contains a backslash`);
  for (const seg of path.split('/')) {
    if (seg === '..') throw new UnsafePathError(`${where}: path ${shown} contains '..'`);
    if (seg === '' || seg === '.')
      throw new UnsafePathError(`${where}: path ${shown} has an empty or '.' segment`);
    if (!SEGMENT.test(seg)) {
      throw new UnsafePathError(`${where}: path ${shown} has characters outside [A-Za-z0-9._-]`);
    }
  }
}

function fail(where: string, what: string): never {
  throw new FormatError(`bundle manifest: ${where} ${what}`);
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'must be an object');
  return v as Record<string, unknown>;
}

function str(v: unknown, where: string, re?: RegExp): string {
  if (typeof v !== 'string' || v.length > 4096) fail(where, 'must be a string of ≤ 4096 chars');
  if (re && !re.test(v)) fail(where, `${JSON.stringify(v)} does not match ${re.source}`);
  return v;
}

function size(v: unknown, where: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    fail(where, 'must be a non-negative integer');
  if (v > max) throw new SizeLimitError(`bundle manifest: ${where} is ${v} bytes, over the limit of ${max}`);
  return v;
}

function date(v: unknown, where: string): string {
  const s = str(v, where);
  if (!/^\d{4}-\d\d-\d\dT/.test(s) || Number.isNaN(Date.parse(s)))
    fail(where, `${JSON.stringify(s)} is not an ISO 8601 date`);
  return s;
}

function numArray(v: unknown, where: string, max: number, integer: boolean): number[] {
  if (!Array.isArray(v) || v.length > max) fail(where, `must be an array of ≤ ${max} numbers`);
  return v.map((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x) || (integer && (!Number.isSafeInteger(x) || x < 0))) {
      fail(`${where}[${i}]`, integer ? 'must be a non-negative integer' : 'must be a finite number');
    }
    return x;
  });
}

function parseMetadata(v: unknown): ModelMetadata {
  const m = obj(v, 'metadata');
  const out: {
    inputShape: number[];
    minRuntimeVersion: string;
    targetBackend: string;
    labels?: string[];
    preprocessing?: Preprocessing;
  } = {
    inputShape: numArray(m.inputShape, 'metadata.inputShape', 8, true),
    minRuntimeVersion: str(m.minRuntimeVersion, 'metadata.minRuntimeVersion', SEMVER),
    targetBackend: str(m.targetBackend, 'metadata.targetBackend', /^[a-z0-9-]{1,32}$/),
  };
  if (m.labels !== undefined) {
    if (!Array.isArray(m.labels) || m.labels.length > 100_000)
      fail('metadata.labels', 'must be an array of ≤ 100000 strings');
    out.labels = m.labels.map((l, i) => str(l, `metadata.labels[${i}]`));
  }
  if (m.preprocessing !== undefined) {
    const p = obj(m.preprocessing, 'metadata.preprocessing');
    const pre: { layout?: 'NCHW' | 'NHWC'; scale?: number; mean?: number[]; std?: number[] } = {};
    if (p.layout !== undefined)
      pre.layout = str(p.layout, 'metadata.preprocessing.layout', /^(NCHW|NHWC)$/) as 'NCHW';
    if (p.scale !== undefined) pre.scale = numArray([p.scale], 'metadata.preprocessing.scale', 1, false)[0]!;
    if (p.mean !== undefined) pre.mean = numArray(p.mean, 'metadata.preprocessing.mean', 64, false);
    if (p.std !== undefined) pre.std = numArray(p.std, 'metadata.preprocessing.std', 64, false);
    out.preprocessing = pre;
  }
  return out;
}

/**
 * Parses and validates manifest JSON bytes, enforcing `limits` and path safety. Does not verify the signature
 * (see `readBundle`).
 * @param bytes - UTF-8 JSON
 * @param limits - size limits (defaults: see {@link BundleLimits})
 * @returns the manifest
 * @throws {FormatError} on malformed JSON or a missing/invalid field (the message names the field)
 * @throws {UnsafePathError} on an unsafe file path
 * @throws {SizeLimitError} when the manifest, a file or the total exceeds a limit
 * @example
 * ```ts
 * const m = parseManifest(new TextEncoder().encode(json));
 * m.files.map((f) => f.path);
 * ```
 */
export function parseManifest(bytes: Uint8Array, limits: BundleLimits = {}): BundleManifest {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  if (bytes.length > lim.maxManifestBytes) {
    throw new SizeLimitError(
      `bundle manifest: ${bytes.length} bytes, over the limit of ${lim.maxManifestBytes}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new FormatError(`bundle manifest: not valid UTF-8 JSON (${(e as Error).message})`);
  }
  const m = obj(raw, 'root');
  if (m.format !== BUNDLE_FORMAT) fail('format', `must be '${BUNDLE_FORMAT}'`);
  if (m.formatVersion !== BUNDLE_FORMAT_VERSION) {
    fail(
      'formatVersion',
      `${String(m.formatVersion)} is not supported (this reader handles ${BUNDLE_FORMAT_VERSION})`,
    );
  }
  if (!Array.isArray(m.files) || m.files.length === 0 || m.files.length > lim.maxFiles) {
    if (Array.isArray(m.files) && m.files.length > lim.maxFiles) {
      throw new SizeLimitError(`bundle manifest: ${m.files.length} files, over the limit of ${lim.maxFiles}`);
    }
    fail('files', `must be a non-empty array`);
  }
  let total = 0;
  const seen = new Set<string>();
  const files = m.files.map((f, i): BundleFileEntry => {
    const w = `files[${i}]`;
    const e = obj(f, w);
    const path = str(e.path, `${w}.path`);
    assertSafePath(path, `bundle manifest: ${w}.path`);
    if (seen.has(path)) fail(`${w}.path`, `${JSON.stringify(path)} appears twice`);
    seen.add(path);
    const entry = {
      path,
      size: size(e.size, `${w}.size`, lim.maxFileBytes),
      sha256: str(e.sha256, `${w}.sha256`, HEX64),
    };
    if (e.patch === undefined) {
      total += entry.size;
      return entry;
    }
    const p = obj(e.patch, `${w}.patch`);
    const patch = {
      baseSha256: str(p.baseSha256, `${w}.patch.baseSha256`, HEX64),
      size: size(p.size, `${w}.patch.size`, lim.maxFileBytes),
      sha256: str(p.sha256, `${w}.patch.sha256`, HEX64),
    };
    total += patch.size;
    return { ...entry, patch };
  });
  if (total > lim.maxTotalBytes) {
    throw new SizeLimitError(
      `bundle manifest: payload totals ${total} bytes, over the limit of ${lim.maxTotalBytes}`,
    );
  }
  const model = str(m.model, 'model');
  if (!seen.has(model)) fail('model', `${JSON.stringify(model)} is not one of the files`);
  const version = str(m.version, 'version', SEMVER);
  const out: BundleManifest = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    name: str(m.name, 'name', NAME),
    version,
    createdAt: date(m.createdAt, 'createdAt'),
    expiresAt: date(m.expiresAt, 'expiresAt'),
    keyId: str(m.keyId, 'keyId', /^[0-9a-f]{16}$/),
    model,
    metadata: parseMetadata(m.metadata),
    files,
    ...(m.baseVersion !== undefined ? { baseVersion: str(m.baseVersion, 'baseVersion', SEMVER) } : {}),
  };
  if (out.baseVersion === undefined && files.some((f) => f.patch))
    fail('baseVersion', 'is required when files carry patches');
  if (out.baseVersion !== undefined && compareVersions(out.baseVersion, version) >= 0) {
    fail('baseVersion', `${out.baseVersion} must be older than version ${version}`);
  }
  return out;
}
