import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FormatError } from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';
import { type BundleSigner, keyIdOf } from '../crypto.js';

/** Paths and id of a freshly generated signing key pair. */
export interface GeneratedKeys {
  /** PKCS#8 PEM private key (mode 0600). */
  readonly privateKeyPath: string;
  /** SPKI PEM public key, to ship to devices. */
  readonly publicKeyPath: string;
  /** The key id written into manifests. */
  readonly keyId: string;
}

function rawPublic(key: KeyObject, where: string): Uint8Array {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new FormatError(`${where}: expected an Ed25519 key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  const jwk = key.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'));
}

/**
 * Generates an Ed25519 key pair with `node:crypto` and writes `bundle-signing.key` (private, mode 0600) and
 * `bundle-signing.pub` (public) into `dir` (created if needed).
 * @param dir - output directory
 * @returns the paths and key id
 * @throws a file-system error when `dir` cannot be written
 * @example
 * ```ts
 * const { privateKeyPath, publicKeyPath } = await generateSigningKeys('keys');
 * ```
 */
export async function generateSigningKeys(dir: string): Promise<GeneratedKeys> {
  await mkdir(dir, { recursive: true });
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const privateKeyPath = join(dir, 'bundle-signing.key');
  const publicKeyPath = join(dir, 'bundle-signing.pub');
  await writeFileAtomic(privateKeyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  await chmod(privateKeyPath, 0o600);
  await writeFileAtomic(publicKeyPath, publicKey.export({ format: 'pem', type: 'spki' }) as string);
  return { privateKeyPath, publicKeyPath, keyId: await keyIdOf(rawPublic(publicKey, publicKeyPath)) };
}

/**
 * Loads a PEM Ed25519 private key as a {@link BundleSigner} (signing with `node:crypto`).
 * @param path - PKCS#8 PEM file
 * @returns the signer
 * @throws {FormatError} when the file is not an Ed25519 private key
 * @example
 * ```ts
 * const signer = await loadSigner('keys/bundle-signing.key');
 * ```
 */
export async function loadSigner(path: string): Promise<BundleSigner> {
  let key: KeyObject;
  try {
    key = createPrivateKey(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
    throw new FormatError(`${path}: not a PEM private key (${(e as Error).message})`);
  }
  const publicKey = rawPublic(createPublicKey(key), path);
  return { publicKey, sign: async (data) => new Uint8Array(sign(null, data, key)) };
}

/**
 * Loads a PEM (SPKI) Ed25519 public key, or a private key (its public half), as raw 32 bytes for
 * `readBundle`.
 * @param path - PEM file
 * @returns the raw public key
 * @throws {FormatError} when the file is not an Ed25519 key
 * @example
 * ```ts
 * const publicKey = await loadPublicKey('keys/bundle-signing.pub');
 * ```
 */
export async function loadPublicKey(path: string): Promise<Uint8Array> {
  let key: KeyObject;
  try {
    key = createPublicKey(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
    throw new FormatError(`${path}: not a PEM public key (${(e as Error).message})`);
  }
  return rawPublic(key, path);
}
