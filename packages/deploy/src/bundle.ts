import { FormatError } from '@tinyvision/tensor';
import { type BundleSigner, keyIdOf, sha256, signedMessage, verifyEd25519 } from './crypto.js';
import { applyDelta, createDelta } from './delta.js';
import {
  BundleExpiredError,
  BundleIntegrityError,
  BundleSignatureError,
  BundleVersionError,
  SizeLimitError,
} from './errors.js';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  type BundleFileEntry,
  type BundleLimits,
  type BundleManifest,
  compareVersions,
  DEFAULT_LIMITS,
  type ModelMetadata,
  parseManifest,
  RUNTIME_VERSION,
} from './manifest.js';

/**
 * Container layout (little-endian): magic `TVBUNDLE` (8 bytes) · u32 container version (1) · u32 manifest length
 * M · M bytes of manifest JSON · u32 signature length (64) · Ed25519 signature of `"tinyvision-bundle-v1\n" +
 * manifest` · payloads of `manifest.files` in order (the file, or its patch when `patch` is set), nothing after.
 */
const MAGIC = new TextEncoder().encode('TVBUNDLE');
const CONTAINER_VERSION = 1;

/** What {@link createBundle} packs. */
export interface CreateBundleOptions {
  /** Model name (`[A-Za-z0-9._-]`). */
  readonly name: string;
  /** Version, `MAJOR.MINOR.PATCH`. */
  readonly version: string;
  /** Files by relative path. */
  readonly files: Readonly<Record<string, Uint8Array>>;
  /** Path of the model file among `files`. */
  readonly model: string;
  /** Metadata needed to run the model (`minRuntimeVersion` defaults to this runtime's version). */
  readonly metadata: Omit<ModelMetadata, 'minRuntimeVersion'> & {
    /** The oldest runtime able to run the model (default {@link RUNTIME_VERSION}). */
    readonly minRuntimeVersion?: string;
  };
  /** Lifetime in seconds before the manifest expires (default 30 days). */
  readonly ttlSeconds?: number;
  /** Creation time (default now); expiry is `now + ttlSeconds`. */
  readonly now?: Date;
  /** Make a delta bundle against this installed version: patches replace files where they are smaller. */
  readonly base?: {
    /** The base's version (recorded as `baseVersion`). */
    readonly version: string;
    /** The base's files by path. */
    readonly files: Readonly<Record<string, Uint8Array>>;
  };
}

/** A bundle whose signature, expiry and payload hashes were verified by {@link readBundle}. */
export interface VerifiedBundle {
  /** The parsed manifest. */
  readonly manifest: BundleManifest;
  /** The exact signed manifest bytes (kept so the installed copy can be re-verified). */
  readonly manifestBytes: Uint8Array;
  /** The 64-byte signature. */
  readonly signature: Uint8Array;
  /** Payload of each file by path: the file itself, or its patch when the entry has `patch`. */
  readonly payloads: ReadonlyMap<string, Uint8Array>;
}

/** Options of {@link readBundle}. */
export interface ReadBundleOptions {
  /** The trusted raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** The current time (default now), compared with `expiresAt`. */
  readonly now?: Date;
  /** Size limits. */
  readonly limits?: BundleLimits;
  /** Runtime version compared with `metadata.minRuntimeVersion` (default {@link RUNTIME_VERSION}). */
  readonly runtimeVersion?: string;
}

/** The unverified parts of a container, bounds-checked. */
interface RawBundle {
  readonly manifestBytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly payloadStart: number;
}

function splitContainer(bytes: Uint8Array, limits: Required<BundleLimits>): RawBundle {
  if (bytes.length < 20)
    throw new FormatError(`bundle: ${bytes.length} bytes is shorter than the 20-byte header`);
  for (let k = 0; k < MAGIC.length; k++) {
    if (bytes[k] !== MAGIC[k]) throw new FormatError('bundle: bad magic at byte 0 (expected TVBUNDLE)');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ver = dv.getUint32(8, true);
  if (ver !== CONTAINER_VERSION) {
    throw new FormatError(
      `bundle: container version ${ver} at byte 8 is not supported (expected ${CONTAINER_VERSION})`,
    );
  }
  const m = dv.getUint32(12, true);
  if (m > limits.maxManifestBytes) {
    throw new SizeLimitError(
      `bundle: manifest length ${m} at byte 12 is over the limit of ${limits.maxManifestBytes}`,
    );
  }
  if (16 + m + 4 > bytes.length)
    throw new FormatError(`bundle: manifest length ${m} at byte 12 runs past the end`);
  const s = dv.getUint32(16 + m, true);
  if (s !== 64) throw new FormatError(`bundle: signature length ${s} at byte ${16 + m} is not 64`);
  if (20 + m + s > bytes.length)
    throw new FormatError(`bundle: signature at byte ${20 + m} runs past the end`);
  return {
    manifestBytes: bytes.subarray(16, 16 + m),
    signature: bytes.subarray(20 + m, 20 + m + s),
    payloadStart: 20 + m + s,
  };
}

/**
 * Reads a bundle's manifest WITHOUT verifying its signature: for display and for update-server indexes only.
 * @param bytes - the container
 * @param limits - size limits
 * @returns the parsed (untrusted) manifest
 * @throws {FormatError} / {SizeLimitError} / {UnsafePathError} on a malformed container or manifest
 * @example
 * ```ts
 * inspectBundle(bytes).version;
 * ```
 */
export function inspectBundle(bytes: Uint8Array, limits: BundleLimits = {}): BundleManifest {
  const raw = splitContainer(bytes, { ...DEFAULT_LIMITS, ...limits });
  return parseManifest(raw.manifestBytes, limits);
}

/**
 * Verifies and unpacks a bundle: container bounds, Ed25519 signature (before the manifest is trusted), key id,
 * manifest schema and limits, expiry, minimum runtime version, payload lengths (no trailing bytes) and the sha256
 * of every payload.
 * @param bytes - the container
 * @param opts - trusted key, clock, limits
 * @returns the verified bundle
 * @throws {FormatError} on a malformed container or manifest (names the field or byte offset)
 * @throws {BundleSignatureError} when the signature or key id does not match the trusted key
 * @throws {BundleExpiredError} when `expiresAt` is past
 * @throws {BundleVersionError} when the runtime is older than `metadata.minRuntimeVersion`
 * @throws {BundleIntegrityError} when a payload's sha256 or length is wrong
 * @throws {SizeLimitError} / {UnsafePathError} from the manifest checks
 * @example
 * ```ts
 * const b = await readBundle(bytes, { publicKey });
 * b.manifest.version;
 * ```
 */
export async function readBundle(bytes: Uint8Array, opts: ReadBundleOptions): Promise<VerifiedBundle> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const raw = splitContainer(bytes, limits);
  if (!(await verifyEd25519(opts.publicKey, raw.signature, signedMessage(raw.manifestBytes)))) {
    throw new BundleSignatureError(
      `bundle: signature does not verify with the trusted key ${await keyIdOf(opts.publicKey)} (wrong key or modified manifest)`,
    );
  }
  const manifest = parseManifest(raw.manifestBytes, limits);
  const keyId = await keyIdOf(opts.publicKey);
  if (manifest.keyId !== keyId) {
    throw new BundleSignatureError(
      `bundle: manifest keyId ${manifest.keyId} is not the trusted key ${keyId}`,
    );
  }
  const now = opts.now ?? new Date();
  if (Date.parse(manifest.expiresAt) <= now.getTime()) {
    throw new BundleExpiredError(
      `bundle ${manifest.name} ${manifest.version} expired at ${manifest.expiresAt}`,
    );
  }
  const runtime = opts.runtimeVersion ?? RUNTIME_VERSION;
  if (compareVersions(manifest.metadata.minRuntimeVersion, runtime) > 0) {
    throw new BundleVersionError(
      `bundle ${manifest.version} needs runtime ≥ ${manifest.metadata.minRuntimeVersion}, this is ${runtime}`,
    );
  }
  const payloads = new Map<string, Uint8Array>();
  let at = raw.payloadStart;
  for (const f of manifest.files) {
    const want = f.patch ?? f;
    if (at + want.size > bytes.length) {
      throw new BundleIntegrityError(
        `bundle: payload of '${f.path}' (${want.size} bytes at byte ${at}) runs past the end`,
      );
    }
    const data = bytes.subarray(at, at + want.size);
    const got = await sha256(data);
    if (got !== want.sha256) {
      throw new BundleIntegrityError(
        `bundle: ${f.patch ? 'patch of ' : ''}'${f.path}' sha256 is ${got.slice(0, 12)}…, manifest says ${want.sha256.slice(0, 12)}…`,
      );
    }
    payloads.set(f.path, data);
    at += want.size;
  }
  if (at !== bytes.length)
    throw new BundleIntegrityError(`bundle: ${bytes.length - at} unexpected bytes after the payloads`);
  return { manifest, manifestBytes: raw.manifestBytes, signature: raw.signature, payloads };
}

/**
 * Resolves the installed files of a verified bundle: full files as-is, patches applied to the base file with
 * the same path (the base's sha256 and the result's sha256 are both checked against the signed manifest).
 * @param bundle - from {@link readBundle}
 * @param base - reads an installed file of `manifest.baseVersion` by path (needed only for delta bundles)
 * @param installedVersion - the installed version, which must equal `manifest.baseVersion` for a delta
 * @returns the files by path
 * @throws {BundleVersionError} when a delta's base is not the installed version
 * @throws {BundleIntegrityError} when a base or result hash does not match
 * @example
 * ```ts
 * const files = await resolveFiles(b, (p) => readFile(join(slot, p)), '1.0.0');
 * ```
 */
export async function resolveFiles(
  bundle: VerifiedBundle,
  base?: (path: string) => Promise<Uint8Array>,
  installedVersion?: string,
): Promise<Map<string, Uint8Array>> {
  const { manifest } = bundle;
  if (manifest.baseVersion !== undefined && manifest.baseVersion !== installedVersion) {
    throw new BundleVersionError(
      `delta bundle ${manifest.version} applies to ${manifest.baseVersion}, installed is ${installedVersion ?? 'nothing'}`,
    );
  }
  const out = new Map<string, Uint8Array>();
  for (const f of manifest.files) {
    let data = bundle.payloads.get(f.path)!;
    if (f.patch) {
      if (!base)
        throw new BundleVersionError(
          `delta bundle ${manifest.version}: no base to patch '${f.path}' against`,
        );
      const b = await base(f.path);
      if ((await sha256(b)) !== f.patch.baseSha256) {
        throw new BundleIntegrityError(
          `delta bundle: installed '${f.path}' is not the base the patch was made against`,
        );
      }
      data = await applyDelta(b, data, f.size);
    }
    if (data.length !== f.size || (await sha256(data)) !== f.sha256) {
      throw new BundleIntegrityError(`bundle: '${f.path}' does not match the size/sha256 in the manifest`);
    }
    out.set(f.path, data);
  }
  return out;
}

/**
 * Packs and signs a bundle (see the package README for the format). With `base`, files whose delta against the
 * base file of the same path is smaller are stored as `TVDELTA1` patches.
 * @param opts - files, version, metadata, lifetime, optional delta base
 * @param signer - the Ed25519 signer
 * @returns the container bytes
 * @throws {FormatError} / {UnsafePathError} when the resulting manifest would be invalid
 * @example
 * ```ts
 * const bytes = await createBundle(
 *   { name: 'digits', version: '1.0.0', model: 'model.tvm', files: { 'model.tvm': tvm },
 *     metadata: { inputShape: [1, 1, 28, 28], targetBackend: 'cpu' } },
 *   signer,
 * );
 * ```
 */
export async function createBundle(opts: CreateBundleOptions, signer: BundleSigner): Promise<Uint8Array> {
  const now = opts.now ?? new Date();
  const files: BundleFileEntry[] = [];
  const payloads: Uint8Array[] = [];
  for (const [path, data] of Object.entries(opts.files)) {
    const entry = { path, size: data.length, sha256: await sha256(data) };
    const baseFile = opts.base?.files[path];
    if (baseFile) {
      const patch = await createDelta(baseFile, data);
      if (patch.length < data.length) {
        files.push({
          ...entry,
          patch: { baseSha256: await sha256(baseFile), size: patch.length, sha256: await sha256(patch) },
        });
        payloads.push(patch);
        continue;
      }
    }
    files.push(entry);
    payloads.push(data);
  }
  const usesPatch = files.some((f) => f.patch);
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    name: opts.name,
    version: opts.version,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + (opts.ttlSeconds ?? 30 * 86400) * 1000).toISOString(),
    keyId: await keyIdOf(signer.publicKey),
    model: opts.model,
    metadata: { ...opts.metadata, minRuntimeVersion: opts.metadata.minRuntimeVersion ?? RUNTIME_VERSION },
    files,
    ...(usesPatch && opts.base ? { baseVersion: opts.base.version } : {}),
  };
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
  parseManifest(manifestBytes); // the writer never emits what the reader would refuse
  const signature = await signer.sign(signedMessage(manifestBytes));
  if (signature.length !== 64)
    throw new BundleSignatureError(`createBundle: signer returned ${signature.length} bytes, expected 64`);
  const total = 20 + manifestBytes.length + 64 + payloads.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(MAGIC);
  dv.setUint32(8, CONTAINER_VERSION, true);
  dv.setUint32(12, manifestBytes.length, true);
  out.set(manifestBytes, 16);
  dv.setUint32(16 + manifestBytes.length, 64, true);
  out.set(signature, 20 + manifestBytes.length);
  let at = 20 + manifestBytes.length + 64;
  for (const p of payloads) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
