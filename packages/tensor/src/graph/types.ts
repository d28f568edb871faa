import type { Attrs } from '../backend/backend-spec-v1.js';
import type { DType, TypedArray } from '../dtype.js';
import type { QuantParams } from '../quant.js';

/** Version of the in-memory graph IR (bumped on breaking changes to {@link Graph}). */
export const GRAPH_IR_VERSION = 1;

/**
 * One dim of a value's shape: a size, or a symbol (e.g. `'N'` for a dynamic batch). Equal symbols denote equal
 * sizes; dims derived from symbols by arithmetic are written as expressions such as `'N*4'`.
 */
export type Dim = number | string;

/** A reference to a value by name (graph inputs, initializers and node outputs share one namespace). */
export type ValueRef = string;

/** Shape, dtype and quantization of one value of a {@link Graph}. */
export interface ValueInfo {
  /** Unique value name. */
  readonly name: string;
  /** Dims, outermost first; symbolic dims are strings. */
  readonly shape: readonly Dim[];
  /** Element type. */
  readonly dtype: DType;
  /** Quantization parameters of quantized values. */
  readonly quant?: QuantParams;
}

/** One op application: a kernel name from `kernel-names.ts`, its inputs, outputs and attributes. */
export interface Node {
  /** Unique node name. */
  readonly name: string;
  /** Kernel name (e.g. `'Conv2D'`). */
  readonly op: string;
  /** Input value names in the kernel's declared order; `null` for an omitted optional input. */
  readonly inputs: readonly (ValueRef | null)[];
  /** Output value names. */
  readonly outputs: readonly ValueRef[];
  /** Kernel attributes (JSON-compatible, see the `XxxAttrs` interfaces). */
  readonly attrs: Attrs;
}

/** A constant tensor of a graph (weights), held as host data so the graph stays backend-free. */
export interface Initializer {
  /** Value name. */
  readonly name: string;
  /** Element type (16-bit floats are raw bits in a Uint16Array). */
  readonly dtype: DType;
  /** Concrete shape. */
  readonly shape: readonly number[];
  /** Row-major contiguous data, `sizeOf(shape)` elements. Treated as immutable. */
  readonly data: TypedArray;
  /** Quantization parameters of quantized weights. */
  readonly quant?: QuantParams;
}

/**
 * The graph IR: the single structure that compression, backends and exporters consume. Nodes are kept in
 * topological order; every value (inputs, initializers, node outputs) has a {@link ValueInfo} in `values`.
 *
 * @example
 * ```ts
 * const g = trace((x) => relu(x), [randn([1, 3])]);
 * g.nodes[0]!.op; // 'Relu'
 * ```
 */
export interface Graph {
  /** IR version, {@link GRAPH_IR_VERSION}. */
  readonly version: number;
  /** Optional model name. */
  readonly name?: string;
  /** Graph input value names, in call order. */
  readonly inputs: readonly ValueRef[];
  /** Graph output value names, in return order. */
  readonly outputs: readonly ValueRef[];
  /** Nodes in topological order. */
  readonly nodes: readonly Node[];
  /** Value infos of every value, by name. */
  readonly values: ReadonlyMap<string, ValueInfo>;
  /** Constant tensors, by value name. */
  readonly initializers: ReadonlyMap<string, Initializer>;
  /** Free-form string metadata (author, license, preprocessing, labels…). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** The parts of a {@link Graph}; {@link makeGraph} fills the defaults. */
export interface GraphParts {
  /** IR version (default {@link GRAPH_IR_VERSION}). */
  readonly version?: number;
  /** Model name. */
  readonly name?: string;
  /** Input names. */
  readonly inputs: readonly ValueRef[];
  /** Output names. */
  readonly outputs: readonly ValueRef[];
  /** Nodes. */
  readonly nodes: readonly Node[];
  /** Value infos, as a map or a list. */
  readonly values?: ReadonlyMap<string, ValueInfo> | readonly ValueInfo[];
  /** Initializers, as a map or a list. */
  readonly initializers?: ReadonlyMap<string, Initializer> | readonly Initializer[];
  /** Metadata. */
  readonly metadata?: Readonly<Record<string, string>>;
}

function toMap<T extends { readonly name: string }>(
  v: ReadonlyMap<string, T> | readonly T[] | undefined,
): Map<string, T> {
  if (!v) return new Map();
  if (Array.isArray(v)) return new Map((v as readonly T[]).map((x) => [x.name, x]));
  return new Map(v as ReadonlyMap<string, T>);
}

/**
 * Builds a {@link Graph} from its parts (copies the collections; does not validate, see `validateGraph`).
 * Initializers get a value info when they have none.
 * @param parts - inputs, outputs, nodes and optional value infos, initializers, metadata
 * @returns the graph
 * @example
 * ```ts
 * const g = makeGraph({
 *   inputs: ['x'], outputs: ['y'],
 *   nodes: [{ name: 'r', op: 'Relu', inputs: ['x'], outputs: ['y'], attrs: {} }],
 *   values: [{ name: 'x', shape: ['N', 4], dtype: 'float32' }],
 * });
 * ```
 */
export function makeGraph(parts: GraphParts): Graph {
  const values = toMap(parts.values);
  const initializers = toMap(parts.initializers);
  for (const init of initializers.values()) {
    if (!values.has(init.name)) values.set(init.name, initializerInfo(init));
  }
  return {
    version: parts.version ?? GRAPH_IR_VERSION,
    ...(parts.name !== undefined ? { name: parts.name } : {}),
    inputs: [...parts.inputs],
    outputs: [...parts.outputs],
    nodes: [...parts.nodes],
    values,
    initializers,
    metadata: { ...(parts.metadata ?? {}) },
  };
}

/**
 * A copy of `graph` with some parts replaced (collections are copied, nodes and data shared).
 * @param graph - the source graph
 * @param parts - parts to replace
 * @returns the new graph
 * @example
 * ```ts
 * const renamed = withGraph(g, { name: 'resnet8' });
 * ```
 */
export function withGraph(graph: Graph, parts: Partial<GraphParts>): Graph {
  return makeGraph({
    version: graph.version,
    name: graph.name,
    inputs: graph.inputs,
    outputs: graph.outputs,
    nodes: graph.nodes,
    values: graph.values,
    initializers: graph.initializers,
    metadata: graph.metadata,
    ...parts,
  });
}

/**
 * The value info describing an initializer.
 * @param init - the initializer
 * @returns its name, shape, dtype and quant
 * @example
 * ```ts
 * initializerInfo(g.initializers.get('fc.weight')!).shape; // [10, 64]
 * ```
 */
export function initializerInfo(init: Initializer): ValueInfo {
  return init.quant
    ? { name: init.name, shape: [...init.shape], dtype: init.dtype, quant: init.quant }
    : { name: init.name, shape: [...init.shape], dtype: init.dtype };
}
