import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeTvm, linear, Rng, randn, relu, softmax, type Tensor, trace } from '@tinyvision/tensor';
import type { BundleSigner } from '../crypto.js';

/** A fresh Ed25519 signer (node:crypto) for tests. */
export function testSigner(): BundleSigner {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url'));
  return { publicKey: raw, sign: async (d) => new Uint8Array(sign(null, d, privateKey)) };
}

/** A tiny traced classifier (16 → hidden → 4, softmax) with seeded random weights, as .tvm bytes. */
export function tinyModel(seed: number, hidden = 64): { bytes: Uint8Array; w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor } {
  const rng = new Rng(seed);
  const w1 = randn([hidden, 16], { rng });
  const b1 = randn([hidden], { rng });
  const w2 = randn([4, hidden], { rng });
  const b2 = randn([4], { rng });
  return { bytes: traceModel(w1, b1, w2, b2), w1, b1, w2, b2 };
}

/** Traces the two-layer classifier with the given weights. */
export function traceModel(w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor): Uint8Array {
  w1.name = 'fc1.weight';
  b1.name = 'fc1.bias';
  w2.name = 'fc2.weight';
  b2.name = 'fc2.bias';
  const g = trace((x) => softmax(linear(relu(linear(x, w1, b1)), w2, b2), -1), [randn([1, 16], { rng: new Rng(1) })]);
  return encodeTvm(g);
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'tv-deploy-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** The fixed health-check input (16 values). */
export const HEALTH_INPUT: number[] = Array.from({ length: 16 }, (_, i) => Math.sin(i + 1));
