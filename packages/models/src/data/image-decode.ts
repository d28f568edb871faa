import { FormatError, InvalidArgumentError } from '@tinyvision/tensor';

/** A decoded image: interleaved 8-bit RGB pixels, row-major (`HWC`). */
export interface DecodedImage {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Always 3 (RGB; alpha is dropped, grey is replicated). */
  readonly channels: 3;
  /** `height × width × 3` bytes, `R G B R G B …` row by row. */
  readonly data: Uint8Array;
}

/** Image container formats {@link decodeImage} understands. */
export type ImageFormat = 'png' | 'jpeg';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Largest image {@link decodeImage} accepts (pixels), a guard against decompression bombs. */
const MAX_PIXELS = 64 * 1024 * 1024;

/**
 * Detects an image format from its magic bytes: PNG (`89 50 4E 47 0D 0A 1A 0A`) or JPEG (`FF D8 FF`).
 * @param bytes - the file contents (only the first 8 bytes are read)
 * @returns `'png'`, `'jpeg'`, or `null` when the bytes match neither
 * @example
 * ```ts
 * imageFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])); // 'jpeg'
 * ```
 */
export function imageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function hex(bytes: Uint8Array): string {
  return [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

function checkSize(width: number, height: number, where: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new FormatError(`${where}: image has invalid size ${width}×${height}`);
  }
  if (width * height > MAX_PIXELS) {
    throw new FormatError(
      `${where}: image size ${width}×${height} exceeds the limit of ${MAX_PIXELS} pixels`,
    );
  }
}

/** RGBA (or RGB) interleaved → RGB, dropping alpha. */
function toRgb(src: Uint8Array, pixels: number, stride: number): Uint8Array {
  if (stride === 3) return src.length === pixels * 3 ? src : src.slice(0, pixels * 3);
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, s = 0, d = 0; p < pixels; p++, s += stride, d += 3) {
    out[d] = src[s]!;
    out[d + 1] = src[s + 1]!;
    out[d + 2] = src[s + 2]!;
  }
  return out;
}

async function decodePng(bytes: Uint8Array, where: string): Promise<DecodedImage> {
  // Loaded lazily: pngjs needs Node's zlib/stream (browser bundles alias 'pngjs' to 'pngjs/browser.js').
  const { PNG } = await import('pngjs');
  let png: { width: number; height: number; data: Uint8Array };
  try {
    // pngjs reads through Buffer methods; wrap the bytes without copying where Buffer exists (Node).
    const buf =
      typeof Buffer === 'undefined' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    png = PNG.sync.read(buf as Buffer);
  } catch (err) {
    throw new FormatError(`${where}: corrupt or truncated PNG: ${message(err)}`);
  }
  checkSize(png.width, png.height, where);
  const pixels = png.width * png.height;
  if (!png.data || png.data.length < pixels * 4) {
    throw new FormatError(`${where}: PNG decoded to ${png.data?.length ?? 0} bytes, expected ${pixels * 4}`);
  }
  const data = toRgb(new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength), pixels, 4);
  return { width: png.width, height: png.height, channels: 3, data };
}

async function decodeJpeg(bytes: Uint8Array, where: string): Promise<DecodedImage> {
  const jpeg = await import('jpeg-js');
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: MAX_PIXELS / 1e6,
      maxMemoryUsageInMB: 1024,
    });
  } catch (err) {
    throw new FormatError(`${where}: corrupt or truncated JPEG: ${message(err)}`);
  }
  checkSize(img.width, img.height, where);
  const pixels = img.width * img.height;
  if (img.data.length < pixels * 3) {
    throw new FormatError(`${where}: JPEG decoded to ${img.data.length} bytes, expected ${pixels * 3}`);
  }
  return { width: img.width, height: img.height, channels: 3, data: toRgb(img.data, pixels, 3) };
}

/**
 * Decodes a PNG or JPEG image (format detected by its magic bytes) to 8-bit RGB with the pure-JS decoders
 * `pngjs` and `jpeg-js`, which run in Node and in browsers. Alpha channels are dropped, grey images are
 * replicated to three channels, 16-bit PNGs are scaled to 8 bits.
 * @param bytes - the file contents
 * @param where - a name for error messages (the file name)
 * @returns width, height and interleaved RGB bytes
 * @throws {InvalidArgumentError} when `bytes` is not a Uint8Array
 * @throws {FormatError} naming `where` when the bytes are neither PNG nor JPEG, or the image is corrupt,
 *   truncated or larger than 64 Mpixel
 * @example
 * ```ts
 * const img = await decodeImage(new Uint8Array(await readFile('cat.png')), 'cat.png');
 * img.width; img.height; img.data; // RGB bytes
 * ```
 */
export async function decodeImage(bytes: Uint8Array, where = 'image'): Promise<DecodedImage> {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidArgumentError(`decodeImage: 'bytes' must be a Uint8Array, got ${typeof bytes}`);
  }
  const format = imageFormat(bytes);
  if (format === 'png') return decodePng(bytes, where);
  if (format === 'jpeg') return decodeJpeg(bytes, where);
  throw new FormatError(
    `${where}: unknown image format (magic '${hex(bytes)}'${bytes.length === 0 ? ', empty file' : ''}), expected PNG or JPEG`,
  );
}

/**
 * Resizes an interleaved 8-bit image with bilinear interpolation, half-pixel centres and no antialiasing
 * (PyTorch `F.interpolate(mode='bilinear', align_corners=False)`), writing planar float32 `CHW` output
 * scaled to [0, 1] and normalised per channel as `(x / 255 - mean[c]) / std[c]`.
 * @param img - the decoded image
 * @param outH - output height
 * @param outW - output width
 * @param mean - per-channel mean (3 values)
 * @param std - per-channel standard deviation (3 values)
 * @param out - destination of `3 × outH × outW` floats
 * @param offset - where in `out` to start writing
 * @internal
 */
export function resizeToChw(
  img: DecodedImage,
  outH: number,
  outW: number,
  mean: readonly number[],
  std: readonly number[],
  out: Float32Array,
  offset: number,
): void {
  const { width: W, height: H, data } = img;
  const plane = outH * outW;
  const sy = H / outH;
  const sx = W / outW;
  const x0s = new Int32Array(outW);
  const x1s = new Int32Array(outW);
  const fxs = new Float32Array(outW);
  for (let x = 0; x < outW; x++) {
    const src = Math.max(0, (x + 0.5) * sx - 0.5);
    const x0 = Math.min(Math.floor(src), W - 1);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, W - 1);
    fxs[x] = src - x0;
  }
  const scale = [0, 1, 2].map((c) => 1 / (255 * std[c]!));
  const shift = [0, 1, 2].map((c) => mean[c]! / std[c]!);
  for (let y = 0; y < outH; y++) {
    const src = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(Math.floor(src), H - 1);
    const y1 = Math.min(y0 + 1, H - 1);
    const fy = src - y0;
    const r0 = y0 * W * 3;
    const r1 = y1 * W * 3;
    for (let x = 0; x < outW; x++) {
      const a = x0s[x]! * 3;
      const b = x1s[x]! * 3;
      const fx = fxs[x]!;
      for (let c = 0; c < 3; c++) {
        const top = data[r0 + a + c]! + (data[r0 + b + c]! - data[r0 + a + c]!) * fx;
        const bot = data[r1 + a + c]! + (data[r1 + b + c]! - data[r1 + a + c]!) * fx;
        const v = top + (bot - top) * fy;
        out[offset + c * plane + y * outW + x] = v * scale[c]! - shift[c]!;
      }
    }
  }
}
