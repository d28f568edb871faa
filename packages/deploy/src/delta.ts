import { FormatError } from '@tinyvision/tensor';
import { sha256, toHex } from './crypto.js';
import { BundleIntegrityError, SizeLimitError } from './errors.js';

/**
 * Delta format `TVDELTA1` (little-endian): magic `TVDELTA1` · u32 base length · u32 result length · 32-byte
 * sha256 of the base · 32-byte sha256 of the result · ops. Each op is a tag byte: `1` COPY (u32 base offset,
 * u32 length), `2` INSERT (u32 length, then that many literal bytes), `0` END (must be the last byte).
 * Matches are found rsync-style: base blocks indexed by a rolling Adler-like checksum, confirmed byte-by-byte
 * and extended in both directions.
 */
const MAGIC = new TextEncoder().encode('TVDELTA1');
const HEADER = 8 + 4 + 4 + 32 + 32;
const OP_END = 0;
const OP_COPY = 1;
const OP_INSERT = 2;
const MAX_CANDIDATES = 8;

/** Options of {@link createDelta}. */
export interface DeltaOptions {
  /** Block size in bytes used to find matches (default 64; smaller finds more, costs more). */
  readonly blockSize?: number;
}

function hexToBytes(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

class Writer {
  private buf = new Uint8Array(1024);
  len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  u32(v: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setUint32(this.len, v, true);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/**
 * Computes a binary delta turning `base` into `target` (format `TVDELTA1`, see the package README).
 * @param base - the installed file
 * @param target - the new file
 * @param opts - block size
 * @returns the patch bytes; {@link applyDelta}(base, patch) gives back `target`
 * @throws {SizeLimitError} when a file is 4 GiB or larger
 * @example
 * ```ts
 * const patch = await createDelta(oldModel, newModel);
 * patch.length < newModel.length; // when most weights are unchanged
 * ```
 */
export async function createDelta(
  base: Uint8Array,
  target: Uint8Array,
  opts: DeltaOptions = {},
): Promise<Uint8Array> {
  if (base.length >= 2 ** 32 || target.length >= 2 ** 32)
    throw new SizeLimitError('createDelta: files must be < 4 GiB');
  const B = opts.blockSize ?? 64;
  const w = new Writer();
  w.bytes(MAGIC);
  w.u32(base.length);
  w.u32(target.length);
  w.bytes(hexToBytes(await sha256(base)));
  w.bytes(hexToBytes(await sha256(target)));
  const index = new Map<number, number[]>();
  for (let o = 0; o + B <= base.length; o += B) {
    const h = weakHash(base, o, B);
    const list = index.get(h);
    if (!list) index.set(h, [o]);
    else if (list.length < MAX_CANDIDATES) list.push(o);
  }
  let litStart = 0;
  const flushLiteral = (end: number): void => {
    if (end > litStart) {
      w.u8(OP_INSERT);
      w.u32(end - litStart);
      w.bytes(target.subarray(litStart, end));
    }
  };
  let i = 0;
  let a = 0;
  let b = 0;
  let fresh = true;
  while (i + B <= target.length) {
    if (fresh) {
      [a, b] = sums(target, i, B);
      fresh = false;
    }
    const cands = index.get(((b & 0xffff) << 16) | (a & 0xffff));
    let match = -1;
    if (cands) {
      for (const o of cands) {
        if (equalRange(base, o, target, i, B)) {
          match = o;
          break;
        }
      }
    }
    if (match >= 0) {
      let s = i;
      let bs = match;
      while (s > litStart && bs > 0 && base[bs - 1] === target[s - 1]) {
        s--;
        bs--;
      }
      let len = i + B - s;
      while (s + len < target.length && bs + len < base.length && base[bs + len] === target[s + len]) len++;
      flushLiteral(s);
      w.u8(OP_COPY);
      w.u32(bs);
      w.u32(len);
      i = s + len;
      litStart = i;
      fresh = true;
      continue;
    }
    // roll the window one byte forward
    if (i + B < target.length) {
      const out = target[i]!;
      const inn = target[i + B]!;
      a = (a - out + inn) | 0;
      b = (b - B * out + a) | 0;
    }
    i++;
  }
  flushLiteral(target.length);
  w.u8(OP_END);
  return w.result();
}

function sums(d: Uint8Array, o: number, n: number): [number, number] {
  let a = 0;
  let b = 0;
  for (let k = 0; k < n; k++) {
    a = (a + d[o + k]!) | 0;
    b = (b + a) | 0;
  }
  return [a, b];
}

function weakHash(d: Uint8Array, o: number, n: number): number {
  const [a, b] = sums(d, o, n);
  return ((b & 0xffff) << 16) | (a & 0xffff);
}

function equalRange(x: Uint8Array, xo: number, y: Uint8Array, yo: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (x[xo + k] !== y[yo + k]) return false;
  return true;
}

/**
 * Applies a `TVDELTA1` patch, checking the base's length and sha256 first and the result's afterwards; every op
 * is bounds-checked against the base, the patch and the announced result length.
 * @param base - the installed file the patch was made against
 * @param patch - patch bytes from {@link createDelta}
 * @param maxResultBytes - refuse patches announcing a larger result (default 512 MiB)
 * @returns the new file
 * @throws {FormatError} on a malformed patch (the message gives the byte offset)
 * @throws {BundleIntegrityError} when the base or the result does not match the sha256 in the patch
 * @throws {SizeLimitError} when the announced result is over `maxResultBytes`
 * @example
 * ```ts
 * const next = await applyDelta(installed, patch);
 * ```
 */
export async function applyDelta(
  base: Uint8Array,
  patch: Uint8Array,
  maxResultBytes = 512 * 2 ** 20,
): Promise<Uint8Array> {
  if (patch.length < HEADER + 1)
    throw new FormatError(`delta: ${patch.length} bytes is shorter than the header`);
  for (let k = 0; k < MAGIC.length; k++) {
    if (patch[k] !== MAGIC[k]) throw new FormatError('delta: bad magic at byte 0 (expected TVDELTA1)');
  }
  const dv = new DataView(patch.buffer, patch.byteOffset, patch.byteLength);
  const baseLen = dv.getUint32(8, true);
  const resultLen = dv.getUint32(12, true);
  if (resultLen > maxResultBytes) {
    throw new SizeLimitError(`delta: result of ${resultLen} bytes is over the limit of ${maxResultBytes}`);
  }
  const baseHash = toHex(patch.subarray(16, 48));
  const resultHash = toHex(patch.subarray(48, 80));
  if (base.length !== baseLen || (await sha256(base)) !== baseHash) {
    throw new BundleIntegrityError(
      `delta: the base (${base.length} bytes) is not the file the patch was made against (${baseLen} bytes, sha256 ${baseHash.slice(0, 12)}…)`,
    );
  }
  const out = new Uint8Array(resultLen);
  let o = 0;
  let p = HEADER;
  const need = (n: number): void => {
    if (p + n > patch.length) throw new FormatError(`delta: op at byte ${p} runs past the end of the patch`);
  };
  for (;;) {
    need(1);
    const tag = patch[p]!;
    const at = p;
    p++;
    if (tag === OP_END) {
      if (p !== patch.length)
        throw new FormatError(`delta: ${patch.length - p} trailing bytes after END at byte ${at}`);
      break;
    }
    if (tag === OP_COPY) {
      need(8);
      const off = dv.getUint32(p, true);
      const len = dv.getUint32(p + 4, true);
      p += 8;
      if (off + len > base.length)
        throw new FormatError(`delta: COPY at byte ${at} reads past the end of the base`);
      if (o + len > resultLen)
        throw new FormatError(`delta: COPY at byte ${at} writes past the result length`);
      out.set(base.subarray(off, off + len), o);
      o += len;
    } else if (tag === OP_INSERT) {
      need(4);
      const len = dv.getUint32(p, true);
      p += 4;
      need(len);
      if (o + len > resultLen)
        throw new FormatError(`delta: INSERT at byte ${at} writes past the result length`);
      out.set(patch.subarray(p, p + len), o);
      o += len;
      p += len;
    } else {
      throw new FormatError(`delta: unknown op ${tag} at byte ${at}`);
    }
  }
  if (o !== resultLen) throw new FormatError(`delta: ops produce ${o} bytes, header says ${resultLen}`);
  if ((await sha256(out)) !== resultHash)
    throw new BundleIntegrityError('delta: result sha256 does not match the patch header');
  return out;
}
