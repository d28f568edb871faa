import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FormatError, InvalidArgumentError } from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';
import { type ReadBundleOptions, readBundle, resolveFiles } from '../bundle.js';
import { sha256 } from '../crypto.js';
import { BundleIntegrityError, BundleVersionError, HealthCheckError } from '../errors.js';
import { type BundleManifest, compareVersions, parseManifest } from '../manifest.js';

/**
 * Directory layout: `current.json` (the pointer, replaced by atomic rename) names the `current` and `previous`
 * slots; each slot `slots/<version>-<random>/` holds `manifest.json` (the exact signed bytes), `manifest.sig` and
 * the files under `files/`. New slots are written under `slots/.tmp-*` and renamed into place once fsynced.
 */
const POINTER = 'current.json';

/** One installed version. */
export interface InstalledModel {
  /** The version. */
  readonly version: string;
  /** Absolute-or-relative path of the slot directory. */
  readonly slotDir: string;
  /** Path of the model file. */
  readonly modelPath: string;
  /** The signed manifest. */
  readonly manifest: BundleManifest;
}

/** What {@link storeStatus} reports. */
export interface StoreStatus {
  /** The active version, or null when nothing is installed. */
  readonly current: InstalledModel | null;
  /** The version kept for rollback, or null. */
  readonly previous: InstalledModel | null;
}

/**
 * A health check run on a freshly written slot before it becomes current (and by {@link checkHealth}); it
 * throws (any error) when the model is not fit to serve.
 */
export type HealthCheck = (model: InstalledModel) => Promise<void> | void;

/** Result of {@link checkHealth}. */
export interface HealthReport {
  /** Whether the current version passed. */
  readonly ok: boolean;
  /** The version that was checked. */
  readonly version: string;
  /** The version rolled back to after a failure (absent when there was none to roll back to). */
  readonly rolledBackTo?: string;
  /** Why the check failed. */
  readonly error?: string;
}

/** Options of {@link installBundle}. */
export interface InstallOptions extends ReadBundleOptions {
  /** Checked on the new slot before the pointer switch; a failure leaves the previous version current. */
  readonly healthCheck?: HealthCheck;
  /**
   * Called at each step (`verified`, `file:<path>`, `slot-written`, `health-checked`, `switched`); for fault
   * injection in tests.
   * @internal
   */
  readonly onStep?: (step: string) => void;
}

/** Result of an install or rollback. */
export interface InstallResult {
  /** The version now current. */
  readonly version: string;
  /** The version kept as previous (null on a first install). */
  readonly previousVersion: string | null;
}

interface SlotRef {
  readonly slot: string;
  readonly version: string;
}

interface Pointer {
  readonly format: 'tinyvision-store';
  readonly current: SlotRef | null;
  readonly previous: SlotRef | null;
}

const SLOT = /^[0-9.]+-[0-9a-f]{12}$/;

async function readPointer(dir: string): Promise<Pointer> {
  let text: string;
  try {
    text = await readFile(join(dir, POINTER), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      return { format: 'tinyvision-store', current: null, previous: null };
    throw e;
  }
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch {
    throw new FormatError(`${join(dir, POINTER)}: not valid JSON`);
  }
  const ref = (v: unknown, key: string): SlotRef | null => {
    if (v === null) return null;
    const r = v as SlotRef;
    if (
      typeof r !== 'object' ||
      typeof r.slot !== 'string' ||
      !SLOT.test(r.slot) ||
      typeof r.version !== 'string'
    ) {
      throw new FormatError(`${join(dir, POINTER)}: '${key}' is not {slot, version}`);
    }
    return { slot: r.slot, version: r.version };
  };
  const o = p as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.format !== 'tinyvision-store') {
    throw new FormatError(`${join(dir, POINTER)}: 'format' is not 'tinyvision-store'`);
  }
  return {
    format: 'tinyvision-store',
    current: ref(o.current ?? null, 'current'),
    previous: ref(o.previous ?? null, 'previous'),
  };
}

async function writePointer(dir: string, p: Pointer): Promise<void> {
  await writeFileAtomic(join(dir, POINTER), `${JSON.stringify(p, null, 2)}\n`);
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } catch {
    // directories cannot be fsynced on every platform: best effort
  } finally {
    await fh.close();
  }
}

async function writeDurable(path: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function loadSlot(dir: string, ref: SlotRef | null, verify: boolean): Promise<InstalledModel | null> {
  if (!ref) return null;
  const slotDir = join(dir, 'slots', ref.slot);
  const manifest = parseManifest(new Uint8Array(await readFile(join(slotDir, 'manifest.json'))));
  if (manifest.version !== ref.version) {
    throw new BundleIntegrityError(
      `${slotDir}: manifest version ${manifest.version} is not ${ref.version} (pointer)`,
    );
  }
  if (verify) {
    for (const f of manifest.files) {
      const data = new Uint8Array(await readFile(join(slotDir, 'files', f.path)));
      if (data.length !== f.size || (await sha256(data)) !== f.sha256) {
        throw new BundleIntegrityError(
          `${slotDir}: installed '${f.path}' does not match its manifest size/sha256`,
        );
      }
    }
  }
  return { version: manifest.version, slotDir, modelPath: join(slotDir, 'files', manifest.model), manifest };
}

/**
 * Reports the current and previous versions of a model directory.
 * @param dir - the model directory
 * @param opts - `verify: true` re-hashes every installed file against its manifest
 * @returns the status (both null when nothing is installed)
 * @throws {FormatError} when the pointer or a manifest is malformed
 * @throws {BundleIntegrityError} when `verify` finds a modified file
 * @example
 * ```ts
 * (await storeStatus('models/digits')).current?.version;
 * ```
 */
export async function storeStatus(
  dir: string,
  opts: { readonly verify?: boolean } = {},
): Promise<StoreStatus> {
  const p = await readPointer(dir);
  return {
    current: await loadSlot(dir, p.current, opts.verify ?? false),
    previous: await loadSlot(dir, p.previous, false),
  };
}

async function cleanup(dir: string, keep: Pointer): Promise<void> {
  const names = await readdir(join(dir, 'slots')).catch(() => [] as string[]);
  const live = new Set([keep.current?.slot, keep.previous?.slot]);
  for (const n of names) if (!live.has(n)) await rm(join(dir, 'slots', n), { recursive: true, force: true });
}

/**
 * Verifies and installs a bundle into a model directory: the files go to a new slot (each fsynced, then the
 * slot renamed into place), the health check runs on it, then `current.json` is switched by atomic rename and
 * the old current becomes `previous`. A kill at any point leaves the old or the new version current, never a
 * partial one. Versions not newer than the current one are refused (use {@link rollbackModel} to go back).
 * @param dir - the model directory (created if needed)
 * @param bytes - the bundle container
 * @param opts - trusted key, clock, limits, health check
 * @returns the new and previous versions
 * @throws {BundleVersionError} when the version is not newer than the installed one, or a delta's base is not installed
 * @throws {HealthCheckError} when the health check fails (the previous version stays current)
 * @throws {BundleSignatureError} / {BundleIntegrityError} / {BundleExpiredError} / {FormatError} from verification
 * @example
 * ```ts
 * await installBundle('models/digits', bytes, { publicKey, healthCheck });
 * ```
 */
export async function installBundle(
  dir: string,
  bytes: Uint8Array,
  opts: InstallOptions,
): Promise<InstallResult> {
  const step = opts.onStep ?? (() => undefined);
  const bundle = await readBundle(bytes, opts);
  const { manifest } = bundle;
  await mkdir(join(dir, 'slots'), { recursive: true });
  const pointer = await readPointer(dir);
  const current = await loadSlot(dir, pointer.current, false);
  if (current) {
    if (current.manifest.name !== manifest.name) {
      throw new BundleVersionError(
        `install: bundle is model '${manifest.name}', the directory holds '${current.manifest.name}'`,
      );
    }
    if (compareVersions(manifest.version, current.version) <= 0) {
      throw new BundleVersionError(
        `install: bundle version ${manifest.version} is not newer than installed ${current.version} (use rollback to go back)`,
      );
    }
  }
  const files = await resolveFiles(
    bundle,
    current ? async (p) => new Uint8Array(await readFile(join(current.slotDir, 'files', p))) : undefined,
    current?.version,
  );
  step('verified');
  const slot = `${manifest.version}-${randomBytes(6).toString('hex')}`;
  const tmp = join(dir, 'slots', `.tmp-${slot}`);
  try {
    for (const [path, data] of files) {
      await writeDurable(join(tmp, 'files', path), data);
      step(`file:${path}`);
    }
    await writeDurable(join(tmp, 'manifest.json'), bundle.manifestBytes);
    await writeDurable(join(tmp, 'manifest.sig'), bundle.signature);
    for (const d of new Set([...files.keys()].map((p) => dirname(join(tmp, 'files', p))))) await fsyncPath(d);
    await fsyncPath(tmp);
    await rename(tmp, join(dir, 'slots', slot));
    await fsyncPath(join(dir, 'slots'));
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  step('slot-written');
  const ref = { slot, version: manifest.version };
  if (opts.healthCheck) {
    const model = (await loadSlot(dir, ref, false))!;
    try {
      await opts.healthCheck(model);
    } catch (e) {
      await rm(join(dir, 'slots', slot), { recursive: true, force: true });
      throw new HealthCheckError(
        `install: health check of ${manifest.version} failed, ${current?.version ?? 'nothing'} stays current: ${(e as Error).message}`,
        { cause: e },
      );
    }
    step('health-checked');
  }
  const next: Pointer = { format: 'tinyvision-store', current: ref, previous: pointer.current };
  await writePointer(dir, next);
  step('switched');
  await cleanup(dir, next);
  return { version: manifest.version, previousVersion: current?.version ?? null };
}

/**
 * Explicit rollback: makes the previous version current (and the current one previous).
 * @param dir - the model directory
 * @returns the versions after the switch
 * @throws {InvalidArgumentError} when there is no previous version
 * @example
 * ```ts
 * await rollbackModel('models/digits');
 * ```
 */
export async function rollbackModel(dir: string): Promise<InstallResult> {
  const p = await readPointer(dir);
  if (!p.previous) throw new InvalidArgumentError(`rollback: ${dir} has no previous version to roll back to`);
  await loadSlot(dir, p.previous, true);
  await writePointer(dir, { format: 'tinyvision-store', current: p.previous, previous: p.current });
  return { version: p.previous.version, previousVersion: p.current?.version ?? null };
}

/**
 * Runs a health check on the current version (e.g. at boot); when it fails and a previous version exists, rolls
 * back to it automatically.
 * @param dir - the model directory
 * @param check - the health check
 * @returns `{ ok: true, version }`, or `{ ok: false, rolledBackTo, error }`
 * @throws {InvalidArgumentError} when nothing is installed
 * @example
 * ```ts
 * const r = await checkHealth('models/digits', modelHealthCheck({ input, expected }));
 * ```
 */
export async function checkHealth(dir: string, check: HealthCheck): Promise<HealthReport> {
  const { current, previous } = await storeStatus(dir);
  if (!current) throw new InvalidArgumentError(`checkHealth: nothing is installed in ${dir}`);
  try {
    await loadSlot(dir, { slot: current.slotDir.split(/[\\/]/).pop()!, version: current.version }, true);
    await check(current);
    return { ok: true, version: current.version };
  } catch (e) {
    if (!previous) return { ok: false, version: current.version, error: (e as Error).message };
    const r = await rollbackModel(dir);
    return { ok: false, version: current.version, rolledBackTo: r.version, error: (e as Error).message };
  }
}
