import { FormatError } from '@tinyvision/tensor';
import { BundleSignatureError } from './errors.js';

/** Signs bundle manifests with Ed25519. `@tinyvision/deploy/node` makes one from a PEM key file. */
export interface BundleSigner {
  /** The raw 32-byte Ed25519 public key matching the private key. */
  readonly publicKey: Uint8Array;
  /**
   * Signs bytes.
   * @param data - the message
   * @returns the 64-byte Ed25519 signature
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** Prefix of every signed message, so a bundle signature can never be replayed as another kind of signature. */
const DOMAIN = new TextEncoder().encode('tinyvision-bundle-v1\n');

/** @internal */
export function signedMessage(manifestBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(DOMAIN.length + manifestBytes.length);
  out.set(DOMAIN);
  out.set(manifestBytes, DOMAIN.length);
  return out;
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new BundleSignatureError('WebCrypto (crypto.subtle) is not available in this runtime');
  return s;
}

const buf = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b) as Uint8Array<ArrayBuffer>;

/**
 * SHA-256 of bytes via WebCrypto.
 * @param bytes - the message
 * @returns 64 lowercase hex characters
 * @throws {BundleSignatureError} when WebCrypto is unavailable
 * @example
 * ```ts
 * await sha256(new TextEncoder().encode('abc')); // 'ba7816bf…'
 * ```
 */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await subtle().digest('SHA-256', buf(bytes)));
  return toHex(d);
}

/** @internal */
export function toHex(d: Uint8Array): string {
  let s = '';
  for (const b of d) s += b.toString(16).padStart(2, '0');
  return s;
}

/**
 * The key id of an Ed25519 public key: the first 16 hex chars of sha256 of its raw 32 bytes.
 * @param publicKey - raw 32-byte Ed25519 public key
 * @returns 16 hex characters
 * @throws {FormatError} when the key is not 32 bytes
 * @example
 * ```ts
 * const id = await keyIdOf(signer.publicKey);
 * ```
 */
export async function keyIdOf(publicKey: Uint8Array): Promise<string> {
  if (publicKey.length !== 32)
    throw new FormatError(`Ed25519 public key: expected 32 raw bytes, got ${publicKey.length}`);
  return (await sha256(publicKey)).slice(0, 16);
}

/**
 * Verifies an Ed25519 signature with WebCrypto.
 * @param publicKey - raw 32-byte public key
 * @param signature - 64-byte signature
 * @param data - the signed message
 * @returns whether the signature is valid
 * @throws {FormatError} when the key is not 32 bytes
 * @example
 * ```ts
 * const ok = await verifyEd25519(pub, sig, msg);
 * ```
 */
export async function verifyEd25519(
  publicKey: Uint8Array,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== 32)
    throw new FormatError(`Ed25519 public key: expected 32 raw bytes, got ${publicKey.length}`);
  if (signature.length !== 64) return false;
  const key = await subtle().importKey('raw', buf(publicKey), { name: 'Ed25519' }, false, ['verify']);
  return subtle().verify({ name: 'Ed25519' }, key, buf(signature), buf(data));
}
