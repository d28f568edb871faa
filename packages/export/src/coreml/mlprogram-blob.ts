// MIL blob storage v2 (`weights/weight.bin`): a 64-byte storage_header {count u32, version u32 = 2, reserved},
// then per blob a 64-byte blob_metadata {sentinel u32 0xDEADBEEF, mil_dtype u32, sizeInBytes u64, offset u64,
// padding_size_in_bits u64, 4 reserved u64} followed by the data; every metadata and data start is 64-aligned.
import { FormatError } from '@tinyvision/tensor';

/** The weight file name an ML Program const refers to (relative to the `.mlmodel`'s folder). @internal */
export const WEIGHT_BIN_REF = '@model_path/weights/weight.bin';
/** Blob sentinel. @internal */
export const BLOB_SENTINEL = 0xdeadbeef;
const ALIGN = 64;
const HEADER = 64;
const META = 64;

/** MIL blob dtype codes (BlobDataType.hpp) the ML Program writer uses, with their element sizes. @internal */
export const BLOB_DTYPES: Readonly<Record<number, { name: string; bytes: number }>> = {
  1: { name: 'float16', bytes: 2 },
  2: { name: 'float32', bytes: 4 },
  3: { name: 'uint8', bytes: 1 },
  4: { name: 'int8', bytes: 1 },
};

const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** Builds a weight.bin in memory. @internal */
export class BlobWriter {
  private readonly parts: Uint8Array[] = [];
  private size = HEADER;
  private count = 0;

  /**
   * Appends one blob.
   * @param dtype - BlobDataType code
   * @param data - the raw little-endian bytes
   * @returns the offset of its blob_metadata (what `BlobFileValue.offset` holds)
   */
  add(dtype: number, data: Uint8Array): bigint {
    const metaOffset = this.size;
    const meta = new Uint8Array(META);
    const dv = new DataView(meta.buffer);
    dv.setUint32(0, BLOB_SENTINEL, true);
    dv.setUint32(4, dtype, true);
    dv.setBigUint64(8, BigInt(data.byteLength), true);
    dv.setBigUint64(16, BigInt(metaOffset + META), true);
    this.parts.push(meta, data);
    const end = metaOffset + META + data.byteLength;
    const padded = align(end);
    if (padded > end) this.parts.push(new Uint8Array(padded - end));
    this.size = padded;
    this.count++;
    return BigInt(metaOffset);
  }

  /**
   * The whole file.
   * @returns weight.bin bytes
   */
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, this.count, true);
    dv.setUint32(4, 2, true);
    let at = HEADER;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

/** One blob of a weight.bin. @internal */
export interface BlobEntry {
  /** Offset of its blob_metadata. */
  readonly metaOffset: number;
  /** BlobDataType code. */
  readonly dtype: number;
  /** Offset of its data. */
  readonly dataOffset: number;
  /** Data size in bytes. */
  readonly size: number;
}

/**
 * Reads and checks the storage header.
 * @internal
 */
export function readBlobHeader(bin: Uint8Array): { count: number; version: number } {
  if (bin.byteLength < HEADER) {
    throw new FormatError(`mlpackage: weight.bin has ${bin.byteLength} bytes, less than its 64-byte header`);
  }
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const count = dv.getUint32(0, true);
  const version = dv.getUint32(4, true);
  if (version !== 2) throw new FormatError(`mlpackage: weight.bin storage version ${version}, expected 2`);
  return { count, version };
}

/**
 * Reads and checks the blob_metadata at `offset` (sentinel, dtype, 64-byte alignment, data within the file).
 * @internal
 */
export function readBlob(bin: Uint8Array, offset: bigint | number, where: string): BlobEntry {
  readBlobHeader(bin);
  const off = BigInt(offset);
  if (off < BigInt(HEADER) || off + BigInt(META) > BigInt(bin.byteLength) || off % BigInt(ALIGN) !== 0n) {
    throw new FormatError(
      `mlpackage: ${where}: blob offset ${off} is not a 64-aligned metadata offset inside weight.bin (${bin.byteLength} bytes)`,
    );
  }
  const metaOffset = Number(off);
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const sentinel = dv.getUint32(metaOffset, true);
  if (sentinel !== BLOB_SENTINEL) {
    throw new FormatError(
      `mlpackage: ${where}: bad blob sentinel 0x${sentinel.toString(16)} at byte ${metaOffset} of weight.bin`,
    );
  }
  const dtype = dv.getUint32(metaOffset + 4, true);
  const info = BLOB_DTYPES[dtype];
  if (!info)
    throw new FormatError(`mlpackage: ${where}: unsupported blob dtype ${dtype} at byte ${metaOffset}`);
  const size = dv.getBigUint64(metaOffset + 8, true);
  const dataOffset = dv.getBigUint64(metaOffset + 16, true);
  if (
    dataOffset < off + BigInt(META) ||
    dataOffset % BigInt(ALIGN) !== 0n ||
    dataOffset + size > BigInt(bin.byteLength)
  ) {
    throw new FormatError(
      `mlpackage: ${where}: blob at byte ${metaOffset} has data [${dataOffset}, +${size}) outside weight.bin (${bin.byteLength} bytes)`,
    );
  }
  if (size % BigInt(info.bytes) !== 0n) {
    throw new FormatError(`mlpackage: ${where}: blob size ${size} is not a multiple of ${info.name}`);
  }
  return { metaOffset, dtype, dataOffset: Number(dataOffset), size: Number(size) };
}

/**
 * Walks the blobs of a weight.bin from the header on; checks that there are exactly `count` of them.
 * @internal
 */
export function scanBlobs(bin: Uint8Array): BlobEntry[] {
  const { count } = readBlobHeader(bin);
  const out: BlobEntry[] = [];
  let at = HEADER;
  while (at < bin.byteLength) {
    if (out.length >= count) {
      throw new FormatError(
        `mlpackage: weight.bin holds more data after its ${count} blobs (byte ${at} of ${bin.byteLength})`,
      );
    }
    const b = readBlob(bin, at, `blob ${out.length}`);
    out.push(b);
    at = align(b.dataOffset + b.size);
  }
  if (out.length !== count) {
    throw new FormatError(`mlpackage: weight.bin header counts ${count} blobs, the file holds ${out.length}`);
  }
  return out;
}

/**
 * The blob's data as a view (little-endian bytes copied so typed arrays can be aligned).
 * @internal
 */
export function blobBytes(bin: Uint8Array, b: BlobEntry): Uint8Array {
  return bin.slice(b.dataOffset, b.dataOffset + b.size);
}
