// A bounds-checked FlatBuffer reader for the subset of schema.fbs tinyvision reads. The JS flatbuffers runtime
// has no verifier (out-of-range reads return garbage or throw RangeError), so every offset, vtable, vector
// length and string is checked against the file size here before it is read; every failure is a FormatError
// naming the byte offset. Tables are read at a fixed depth (Model → SubGraph → Tensor → Quantization), so a
// hostile file cannot cause recursion or loops, and vector counts are bounded by the file size.
import { FormatError } from '@tinyvision/tensor';
import type { BuiltinOptions } from './generated/schema_generated.js';
import { OPTION_SPECS, type TflModel, type TflOperator, type TflOptionValue, type TflTensor } from './ir.js';
import { TFLITE_IDENTIFIER } from './serialize.js';

class Bytes {
  readonly dv: DataView;
  constructor(readonly u8: Uint8Array) {
    this.dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  }
  check(off: number, n: number, what: string): void {
    if (!Number.isInteger(off) || off < 0 || n < 0 || off + n > this.u8.length) {
      throw new FormatError(
        `tflite: ${what} at byte ${off} (+${n}) is outside the ${this.u8.length}-byte file`,
      );
    }
  }
  u8at(off: number, what: string): number {
    this.check(off, 1, what);
    return this.u8[off]!;
  }
  u16(off: number, what: string): number {
    this.check(off, 2, what);
    return this.dv.getUint16(off, true);
  }
  i32(off: number, what: string): number {
    this.check(off, 4, what);
    return this.dv.getInt32(off, true);
  }
  u32(off: number, what: string): number {
    this.check(off, 4, what);
    return this.dv.getUint32(off, true);
  }
  table(pos: number, what: string): Table {
    this.check(pos, 4, what);
    const vt = pos - this.i32(pos, what);
    const vtLen = this.u16(vt, `${what} vtable`);
    const objLen = this.u16(vt + 2, `${what} vtable`);
    if (vtLen < 4 || vtLen % 2 !== 0)
      throw new FormatError(`tflite: ${what} vtable at byte ${vt} has length ${vtLen}`);
    this.check(vt, vtLen, `${what} vtable`);
    this.check(pos, objLen, what);
    return new Table(this, pos, vt, vtLen, objLen, what);
  }
}

/** One bounds-checked table. */
class Table {
  constructor(
    private readonly b: Bytes,
    readonly pos: number,
    private readonly vt: number,
    private readonly vtLen: number,
    private readonly objLen: number,
    readonly what: string,
  ) {}
  /** Absolute position of field `slot`, or 0 when absent. */
  field(slot: number, size: number): number {
    const at = 4 + 2 * slot;
    if (at + 2 > this.vtLen) return 0;
    const o = this.b.u16(this.vt + at, this.what);
    if (o === 0) return 0;
    if (o + size > this.objLen) {
      throw new FormatError(`tflite: ${this.what} field ${slot} at byte ${this.pos + o} overruns its table`);
    }
    return this.pos + o;
  }
  int(slot: number, dflt: number): number {
    const p = this.field(slot, 4);
    return p ? this.b.i32(p, this.what) : dflt;
  }
  uint(slot: number, dflt: number): number {
    const p = this.field(slot, 4);
    return p ? this.b.u32(p, this.what) : dflt;
  }
  byte(slot: number, dflt: number, signed = false): number {
    const p = this.field(slot, 1);
    if (!p) return dflt;
    const v = this.b.u8at(p, this.what);
    return signed && v > 127 ? v - 256 : v;
  }
  float(slot: number, dflt: number): number {
    const p = this.field(slot, 4);
    if (!p) return dflt;
    this.b.check(p, 4, this.what);
    return this.b.dv.getFloat32(p, true);
  }
  private ref(slot: number, what: string): number {
    const p = this.field(slot, 4);
    if (!p) return 0;
    const target = p + this.b.u32(p, what);
    this.b.check(target, 4, what);
    return target;
  }
  table(slot: number, what: string): Table | undefined {
    const t = this.ref(slot, what);
    return t ? this.b.table(t, what) : undefined;
  }
  /** A vector's element start and count, bounds-checked for `elemSize`-byte elements. */
  vector(slot: number, elemSize: number, what: string): { start: number; n: number } {
    const t = this.ref(slot, what);
    if (!t) return { start: 0, n: 0 };
    const n = this.b.u32(t, what);
    this.b.check(t + 4, n * elemSize, `${what} (${n} elements)`);
    return { start: t + 4, n };
  }
  ints(slot: number, what: string): number[] {
    const { start, n } = this.vector(slot, 4, what);
    return Array.from({ length: n }, (_, i) => this.b.dv.getInt32(start + 4 * i, true));
  }
  floats(slot: number, what: string): number[] {
    const { start, n } = this.vector(slot, 4, what);
    return Array.from({ length: n }, (_, i) => this.b.dv.getFloat32(start + 4 * i, true));
  }
  longs(slot: number, what: string): number[] {
    const { start, n } = this.vector(slot, 8, what);
    return Array.from({ length: n }, (_, i) => Number(this.b.dv.getBigInt64(start + 8 * i, true)));
  }
  bytes(slot: number, what: string): { data: Uint8Array; offset: number } {
    const { start, n } = this.vector(slot, 1, what);
    return { data: this.b.u8.subarray(start, start + n), offset: start };
  }
  string(slot: number, what: string): string {
    const { data } = this.bytes(slot, what);
    return new TextDecoder('utf-8', { fatal: false }).decode(data);
  }
  tables(slot: number, what: string): Table[] {
    const { start, n } = this.vector(slot, 4, what);
    return Array.from({ length: n }, (_, i) => {
      const p = start + 4 * i;
      return this.b.table(p + this.b.u32(p, what), `${what}[${i}]`);
    });
  }
}

/** One operator code of the file. @internal */
export interface TflOpcode {
  readonly builtin: number;
  readonly deprecated: number;
  readonly version: number;
  readonly custom: string;
}

/** A parsed file: the model plus layout facts the tests check. @internal */
export interface ParsedTflite {
  readonly version: number;
  readonly model: TflModel;
  readonly opcodes: readonly TflOpcode[];
  readonly buffers: readonly Uint8Array[];
  /** Byte offset of each non-empty buffer's data. */
  readonly bufferOffsets: readonly number[];
}

function options(t: Table | undefined, type: number, what: string): Record<string, TflOptionValue> {
  const spec = OPTION_SPECS[type as BuiltinOptions];
  const out: Record<string, TflOptionValue> = {};
  if (!spec || !t) return out;
  spec.forEach((f, slot) => {
    if (!f) return;
    const [name, kind, dflt] = f;
    if (kind === 'intVector') out[name] = t.ints(slot, `${what}.${name}`);
    else if (kind === 'bool') out[name] = t.byte(slot, dflt) !== 0;
    else if (kind === 'byte') out[name] = t.byte(slot, dflt, true);
    else if (kind === 'int') out[name] = t.int(slot, dflt);
    else out[name] = t.float(slot, dflt);
  });
  return out;
}

/**
 * Parses a `.tflite` file with full bounds checking (first subgraph only).
 * @param bytes - the file
 * @returns the model, its operator codes and buffers
 * @throws {FormatError} on a bad identifier, schema version, out-of-range offset, index or a malformed table
 * @internal
 */
export function readTfliteModel(bytes: Uint8Array): ParsedTflite {
  if (!(bytes instanceof Uint8Array)) throw new FormatError('tflite: input is not a Uint8Array');
  const b = new Bytes(bytes);
  if (bytes.length < 8) throw new FormatError(`tflite: file has ${bytes.length} bytes, too short`);
  const ident = String.fromCharCode(...bytes.subarray(4, 8));
  if (ident !== TFLITE_IDENTIFIER) throw new FormatError(`tflite: file identifier '${ident}' is not 'TFL3'`);
  const root = b.table(b.u32(0, 'root offset'), 'Model');
  const version = root.uint(0, 0);
  if (version !== 3) throw new FormatError(`tflite: schema version ${version} is not 3`);
  const opcodes = root.tables(1, 'operator_codes').map((t, i) => {
    const deprecated = t.byte(0, 0, true);
    const builtin = t.int(3, 0);
    return {
      deprecated,
      builtin: Math.max(builtin, deprecated),
      version: t.int(2, 1),
      custom: t.string(1, `operator_codes[${i}].custom_code`),
    };
  });
  const bufferTables = root.tables(4, 'buffers');
  const buffers: Uint8Array[] = [];
  const bufferOffsets: number[] = [];
  bufferTables.forEach((t, i) => {
    const { data, offset } = t.bytes(0, `buffers[${i}].data`);
    if (t.field(1, 8) || t.field(2, 8)) {
      throw new FormatError(`tflite: buffers[${i}] uses external data (offset/size), not supported`);
    }
    buffers.push(data);
    if (data.length) bufferOffsets.push(offset);
  });
  const subgraphs = root.tables(2, 'subgraphs');
  if (subgraphs.length === 0) throw new FormatError('tflite: model has no subgraph');
  const sg = subgraphs[0]!;
  const tensors = sg.tables(0, 'tensors').map((t, i): TflTensor => {
    const what = `tensors[${i}]`;
    const buffer = t.uint(2, 0);
    if (buffer >= buffers.length)
      throw new FormatError(`tflite: ${what} uses buffer ${buffer} of ${buffers.length}`);
    const q = t.table(4, `${what}.quantization`);
    const scale = q ? q.floats(2, `${what}.quantization.scale`) : [];
    const zeroPoint = q ? q.longs(3, `${what}.quantization.zero_point`) : [];
    const tensor: TflTensor = {
      name: t.string(3, `${what}.name`),
      shape: t.ints(0, `${what}.shape`),
      type: t.byte(1, 0, true),
      buffer,
    };
    return scale.length ? { ...tensor, quant: { scale, zeroPoint, axis: q!.int(6, 0) } } : tensor;
  });
  const checkIndex = (i: number, what: string, allowOmitted: boolean) => {
    if ((allowOmitted && i === -1) || (i >= 0 && i < tensors.length)) return i;
    throw new FormatError(`tflite: ${what} refers to tensor ${i} of ${tensors.length}`);
  };
  const operators = sg.tables(3, 'operators').map((t, i): TflOperator => {
    const what = `operators[${i}]`;
    const idx = t.uint(0, 0);
    const code = opcodes[idx];
    if (!code) throw new FormatError(`tflite: ${what} uses opcode ${idx} of ${opcodes.length}`);
    const optionsType = t.byte(3, 0);
    return {
      code: code.builtin,
      version: code.version,
      inputs: t.ints(1, `${what}.inputs`).map((v) => checkIndex(v, `${what}.inputs`, true)),
      outputs: t.ints(2, `${what}.outputs`).map((v) => checkIndex(v, `${what}.outputs`, false)),
      optionsType,
      options: options(t.table(4, `${what}.builtin_options`), optionsType, `${what}.builtin_options`),
    };
  });
  const metadata = root.tables(6, 'metadata').map((t, i) => {
    const buffer = t.uint(1, 0);
    if (buffer >= buffers.length) throw new FormatError(`tflite: metadata[${i}] uses buffer ${buffer}`);
    return { name: t.string(0, `metadata[${i}].name`), buffer };
  });
  return {
    version,
    opcodes,
    buffers,
    bufferOffsets,
    model: {
      description: root.string(3, 'description'),
      subgraphName: sg.string(4, 'subgraph name'),
      tensors,
      operators,
      inputs: sg.ints(1, 'subgraph inputs').map((v) => checkIndex(v, 'subgraph inputs', false)),
      outputs: sg.ints(2, 'subgraph outputs').map((v) => checkIndex(v, 'subgraph outputs', false)),
      buffers,
      metadata,
    },
  };
}
