import type { Attrs } from '../backend/backend-spec-v1.js';
import { DTYPES, type DType } from '../dtype.js';
import { DTypeError, GraphError, ShapeError } from '../errors/index.js';
import type { QuantParams } from '../quant.js';
import type { Dim, Node, ValueInfo } from './types.js';

/** What a shape rule computes for one output. */
export interface OutputInfo {
  /** Output dims. */
  readonly shape: readonly Dim[];
  /** Output dtype. */
  readonly dtype: DType;
  /** Output quantization (quantized outputs only). */
  readonly quant?: QuantParams;
}

/** A shape and dtype inference rule for one kernel name. */
export type ShapeRule = (ctx: InferContext) => OutputInfo[];

/** Formats dims for messages: `[N,3,32,32]`. */
export function fmtDims(shape: readonly Dim[]): string {
  return `[${shape.join(',')}]`;
}

/** Whether a dim is a concrete size. */
export function isStatic(d: Dim): d is number {
  return typeof d === 'number';
}

function atom(d: Dim): string {
  return typeof d === 'number' || /^[A-Za-z_][\w.]*$/.test(d) ? String(d) : `(${d})`;
}

/** `a + b` on dims (an expression string when either is symbolic). */
export function dimAdd(a: Dim, b: Dim): Dim {
  if (isStatic(a) && isStatic(b)) return a + b;
  if (b === 0) return a;
  if (a === 0) return b;
  return `${atom(a)}+${atom(b)}`;
}

/** `a * b` on dims. */
export function dimMul(a: Dim, b: Dim): Dim {
  if (isStatic(a) && isStatic(b)) return a * b;
  if (b === 1) return a;
  if (a === 1) return b;
  return `${atom(a)}*${atom(b)}`;
}

/** Product of dims (1 for a scalar). */
export function dimProd(dims: readonly Dim[]): Dim {
  return dims.reduce<Dim>((acc, d) => dimMul(acc, d), 1);
}

/** Applies a numeric function to a dim, or builds the expression `label(d)` for a symbolic dim. */
export function dimMap(d: Dim, f: (n: number) => number, label: string): Dim {
  return isStatic(d) ? f(d) : `${label}(${d})`;
}

/** Sliding-window output length (convolution, pooling, unfold), floor mode. */
export function windowOut(d: Dim, k: number, s: number, padTotal: number, dil: number): Dim {
  return dimMap(
    d,
    (n) => Math.floor((n + padTotal - dil * (k - 1) - 1) / s) + 1,
    `win${k}s${s}p${padTotal}d${dil}`,
  );
}

/** Reads and checks one node's attributes and inputs for a shape rule; errors name the node. */
export class InferContext {
  /**
   * @param node - the node (name, op, attrs)
   * @param inputs - value infos of its inputs (null for omitted optional inputs)
   */
  constructor(
    readonly node: Pick<Node, 'name' | 'op' | 'attrs'>,
    readonly inputs: readonly (ValueInfo | null)[],
  ) {}

  /** `graph: node 'x' (Op)` — the prefix of every message. */
  get where(): string {
    return `graph: node '${this.node.name}' (${this.node.op})`;
  }

  /** The attributes. */
  get attrs(): Attrs {
    return this.node.attrs;
  }

  /** Throws a {@link ShapeError} naming the node. */
  shapeError(msg: string): never {
    throw new ShapeError(`${this.where}: ${msg}`);
  }

  /** Throws a {@link GraphError} naming the node. */
  graphError(msg: string): never {
    throw new GraphError(`${this.where}: ${msg}`);
  }

  /** Required input `i`, named `arg` in messages. */
  input(i: number, arg: string): ValueInfo {
    const v = this.inputs[i];
    if (!v) this.graphError(`missing required input ${i} '${arg}'`);
    return v;
  }

  /** Optional input `i` (null when omitted). */
  optional(i: number): ValueInfo | null {
    return this.inputs[i] ?? null;
  }

  /** Checks the number of inputs is in `[min, max]`. */
  arity(min: number, max = min): void {
    const n = this.inputs.length;
    if (n < min || n > max) {
      this.graphError(`expects ${min === max ? min : `${min}..${max}`} inputs, got ${n}`);
    }
  }

  /** Checks the rank of an input. */
  rank(v: ValueInfo, rank: number, arg: string): void {
    if (v.shape.length !== rank) {
      this.shapeError(`'${arg}' (${v.name}) shape ${fmtDims(v.shape)} must have rank ${rank}`);
    }
  }

  /** Checks two dims are equal (symbolic dims must be the same symbol). */
  sameDim(a: Dim, b: Dim, what: string): void {
    if (a !== b) this.shapeError(`${what}: ${a} != ${b}`);
  }

  /** Checks two inputs share a dtype. */
  sameDType(a: ValueInfo, b: ValueInfo, an: string, bn: string): void {
    if (a.dtype !== b.dtype) {
      throw new DTypeError(
        `${this.where}: '${an}' (${a.name}) is ${a.dtype} but '${bn}' (${b.name}) is ${b.dtype}`,
      );
    }
  }

  /** Checks equal dtypes, or a float32 `a` with a float16/bfloat16 `b` ("16-bit weights, f32 compute"). */
  mixedFloat(a: ValueInfo, b: ValueInfo, an: string, bn: string): void {
    if (a.dtype === 'float32' && (b.dtype === 'float16' || b.dtype === 'bfloat16')) return;
    this.sameDType(a, b, an, bn);
  }

  /** Checks an input has one of `dtypes`. */
  dtypeIn(v: ValueInfo, dtypes: readonly DType[], arg: string): void {
    if (!dtypes.includes(v.dtype)) {
      throw new DTypeError(
        `${this.where}: '${arg}' (${v.name}) has dtype ${v.dtype}, expected ${dtypes.join('|')}`,
      );
    }
  }

  private raw(key: string): unknown {
    const v = this.attrs[key];
    if (v === undefined) this.graphError(`missing attribute '${key}'`);
    return v;
  }

  /** A finite number attribute (or any number with `allowNonFinite`). */
  num(key: string, allowNonFinite = false): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || (!allowNonFinite && !Number.isFinite(v))) {
      this.graphError(`attribute '${key}' must be a finite number, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  /** An optional number attribute. */
  optNum(key: string): number | undefined {
    return this.attrs[key] === undefined ? undefined : this.num(key, true);
  }

  /** An integer attribute `>= min`. */
  int(key: string, min = Number.MIN_SAFE_INTEGER): number {
    const v = this.raw(key);
    if (!Number.isSafeInteger(v) || (v as number) < min) {
      this.graphError(`attribute '${key}' must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return v as number;
  }

  /** A list of integers (each `>= min`), of length `len` when given. */
  ints(key: string, len?: number, min = Number.MIN_SAFE_INTEGER): number[] {
    const v = this.raw(key);
    if (
      !Array.isArray(v) ||
      (len !== undefined && v.length !== len) ||
      !v.every((x) => Number.isSafeInteger(x) && x >= min)
    ) {
      const want = len === undefined ? 'a list of integers' : `${len} integers`;
      this.graphError(`attribute '${key}' must be ${want} >= ${min}, got ${JSON.stringify(v)}`);
    }
    return v as number[];
  }

  /** A boolean attribute. */
  bool(key: string): boolean {
    const v = this.raw(key);
    if (typeof v !== 'boolean')
      this.graphError(`attribute '${key}' must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A string attribute from `allowed`. */
  str<S extends string>(key: string, allowed: readonly S[]): S {
    const v = this.raw(key);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.graphError(`attribute '${key}' must be one of ${allowed.join('|')}, got ${JSON.stringify(v)}`);
    }
    return v as S;
  }

  /** A dtype attribute. */
  dtype(key: string): DType {
    return this.str(key, DTYPES);
  }

  /** A quantization-parameters attribute. */
  quant(key: string): QuantParams {
    const q = this.raw(key) as Partial<QuantParams> | null;
    const okList = (l: unknown, f: (x: number) => boolean) =>
      Array.isArray(l) && l.length > 0 && l.every((x) => typeof x === 'number' && f(x));
    if (
      typeof q !== 'object' ||
      q === null ||
      !okList(q.scale, (x) => x > 0 && Number.isFinite(x)) ||
      !okList(q.zeroPoint, Number.isSafeInteger) ||
      q.scale!.length !== q.zeroPoint!.length ||
      (q.axis !== undefined && !Number.isSafeInteger(q.axis))
    ) {
      this.graphError(`attribute '${key}' must be quantization params {scale, zeroPoint, axis?}`);
    }
    return q as QuantParams;
  }

  /** Resolves an axis attribute against `rank` (must already be non-negative). */
  axis(key: string, rank: number): number {
    const a = this.int(key, 0);
    if (a >= Math.max(rank, 1)) this.shapeError(`attribute '${key}' = ${a} out of range for rank ${rank}`);
    return a;
  }

  /** Broadcasts two shapes (NumPy rules); symbolic dims broadcast against 1 or themselves. */
  broadcast(a: readonly Dim[], b: readonly Dim[]): Dim[] {
    const n = Math.max(a.length, b.length);
    const out: Dim[] = [];
    for (let i = 0; i < n; i++) {
      const da = a[a.length - n + i] ?? 1;
      const db = b[b.length - n + i] ?? 1;
      if (da === db || db === 1) out.push(da);
      else if (da === 1) out.push(db);
      else if (isStatic(da) && isStatic(db)) {
        this.shapeError(`shapes ${fmtDims(a)} and ${fmtDims(b)} are not broadcastable (dim ${i})`);
      } else if (isStatic(da) || isStatic(db)) out.push(isStatic(da) ? da : db);
      else
        this.shapeError(
          `cannot broadcast symbolic dims ${da} and ${db} (shapes ${fmtDims(a)}, ${fmtDims(b)})`,
        );
    }
    return out;
  }
}
