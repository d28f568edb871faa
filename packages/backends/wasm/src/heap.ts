import { WasmMemoryError } from './errors.js';

const PAGE = 65536;
/** Every block is rounded to this and carries this much slack (kernels may read a vector past the end). */
const ALIGN = 64;
const SLACK = 64;

/**
 * A size-class allocator over the kernels' linear memory: freed blocks are reused for requests of the same
 * rounded size (inference repeats the same sizes), new ones are bumped from the top, growing the memory.
 * @internal
 */
export class WasmHeap {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  /** Bytes currently handed out. */
  inUse = 0;
  /** Highest `inUse` seen since the last {@link resetPeak}. */
  peak = 0;

  /**
   * @param memory - the kernels' memory
   * @param base - first usable byte
   * @param maxBytes - optional cap on the memory size
   */
  constructor(
    readonly memory: WebAssembly.Memory,
    base: number,
    private readonly maxBytes = 4 * 1024 * 1024 * 1024 - PAGE,
  ) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
  }

  /**
   * @param bytes - requested size
   * @returns the block size actually reserved for `bytes`
   */
  static blockSize(bytes: number): number {
    return Math.ceil((bytes + SLACK) / ALIGN) * ALIGN;
  }

  /**
   * Allocates a block.
   * @param bytes - size
   * @returns its byte offset
   * @throws {WasmMemoryError} when the memory cannot grow enough
   */
  alloc(bytes: number): number {
    const size = WasmHeap.blockSize(bytes);
    const list = this.freeLists.get(size);
    let ptr = list?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      const end = ptr + size;
      const have = this.memory.buffer.byteLength;
      if (end > have) {
        if (end > this.maxBytes) {
          throw new WasmMemoryError(bytes, end, `limit ${this.maxBytes} bytes`);
        }
        try {
          this.memory.grow(Math.ceil((end - have) / PAGE));
        } catch (e) {
          throw new WasmMemoryError(bytes, end, 'WebAssembly.Memory.grow failed', { cause: e });
        }
      }
      this.top = end;
    }
    this.inUse += size;
    if (this.inUse > this.peak) this.peak = this.inUse;
    return ptr;
  }

  /**
   * Returns a block to its size class.
   * @param ptr - byte offset from {@link alloc}
   * @param bytes - the size passed to {@link alloc}
   */
  release(ptr: number, bytes: number): void {
    const size = WasmHeap.blockSize(bytes);
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, (list = []));
    list.push(ptr);
    this.inUse -= size;
  }

  /** Starts a new peak measurement from the current use. */
  resetPeak(): void {
    this.peak = this.inUse;
  }

  /** @returns the memory's current size in bytes */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }
}
