import type { Graph, Node } from '@tinyvision/tensor';

/** Ops that map channel `i` of their first input to channel `i` of their output. */
const PASS = new Set([
  'Relu',
  'Relu6',
  'LeakyRelu',
  'HardSwish',
  'HardSigmoid',
  'Sigmoid',
  'Silu',
  'Tanh',
  'Gelu',
  'Clip',
  'Neg',
  'Abs',
  'MaxPool2D',
  'AvgPool2D',
  'GlobalAvgPool',
  'GlobalMaxPool',
  'Resize',
  'BatchNorm',
  'Cast',
  'FakeQuantize',
]);

/** Elementwise binary ops: inputs with the full channel dim are tied channel by channel. */
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Maximum', 'Minimum']);

/**
 * The channel dependency structure of a graph: every channel of every 4-D (NCHW) or 2-D (`[N, C]`) value is
 * an "atom"; ops that pass channels through share atoms, residual adds and SE multiplies tie atoms together
 * (union-find), concatenation concatenates them, and convolutions / linear layers create new atoms.
 * Atoms that reach a graph input or output, or an op this analysis does not understand, are locked.
 * @internal
 */
export class ChannelGroups {
  /** Atoms of each value's channel dim (undefined: no channel dim tracked). */
  readonly atoms = new Map<string, number[]>();
  /** Nodes that create channels: convolutions with groups = 1 and linear layers, by output value. */
  readonly creators: Node[] = [];
  private parent: number[] = [];
  private lockedRoots = new Set<number>();

  /** @param graph - the graph to analyse */
  constructor(readonly graph: Graph) {
    const inits = graph.initializers;
    const shapeOf = (v: string) => graph.values.get(v)?.shape;
    const channelDim = (v: string): number | undefined => {
      const s = shapeOf(v);
      if (!s || (s.length !== 4 && s.length !== 2)) return undefined;
      return typeof s[1] === 'number' ? s[1] : undefined;
    };
    const fresh = (n: number) => Array.from({ length: n }, () => this.newAtom());
    for (const v of graph.inputs) {
      const c = channelDim(v);
      if (c !== undefined) {
        const a = fresh(c);
        this.atoms.set(v, a);
        this.lockAll(a);
      }
    }
    for (const n of graph.nodes) this.visit(n, inits, channelDim, fresh);
    for (const v of graph.outputs) this.lockAll(this.atoms.get(v) ?? []);
  }

  private newAtom(): number {
    this.parent.push(this.parent.length);
    return this.parent.length - 1;
  }

  /**
   * The representative of an atom's tie class.
   * @param a - atom
   * @returns the class root
   */
  find(a: number): number {
    let r = a;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[a] !== r) {
      const next = this.parent[a]!;
      this.parent[a] = r;
      a = next;
    }
    return r;
  }

  private union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    this.parent[ra] = rb;
    if (this.lockedRoots.has(ra)) this.lockedRoots.add(rb);
  }

  private lockAll(atoms: readonly number[]): void {
    for (const a of atoms) this.lockedRoots.add(this.find(a));
  }

  /**
   * Whether an atom's class may not be removed.
   * @param a - atom
   * @returns true when locked
   */
  locked(a: number): boolean {
    return this.lockedRoots.has(this.find(a)); // unions carry locks to the new root
  }

  private visit(
    n: Node,
    inits: Graph['initializers'],
    channelDim: (v: string) => number | undefined,
    fresh: (n: number) => number[],
  ): void {
    const ins = n.inputs.map((v) => (v === null || inits.has(v) ? undefined : this.atoms.get(v)));
    const out = n.outputs[0];
    const lockInputs = () => {
      for (const a of ins) if (a) this.lockAll(a);
    };
    const newOut = (lock: boolean) => {
      for (const o of n.outputs) {
        const c = channelDim(o);
        if (c === undefined) continue;
        const a = fresh(c);
        this.atoms.set(o, a);
        if (lock) this.lockAll(a);
      }
    };
    if (!out) return;
    const x = ins[0];
    if (n.op === 'Conv2D' || n.op === 'FusedConv2D') {
      const w = inits.get(n.inputs[1] ?? '');
      const groups = n.attrs.groups as number;
      const cIn = x?.length;
      if (!w || cIn === undefined) {
        lockInputs();
        newOut(true);
        return;
      }
      if (groups === 1) {
        newOut(false);
        this.creators.push(n);
        return;
      }
      if (groups === cIn && w.shape[0] === cIn) {
        this.atoms.set(out, x!); // depthwise: channel i → channel i
        return;
      }
      lockInputs();
      newOut(true);
      return;
    }
    if (n.op === 'Linear') {
      if (!inits.has(n.inputs[1] ?? '') || x === undefined) {
        lockInputs();
        newOut(true);
        return;
      }
      newOut(false);
      this.creators.push(n);
      return;
    }
    if (PASS.has(n.op) && x) {
      this.atoms.set(out, x);
      return;
    }
    if ((n.op === 'Mean' || n.op === 'Max' || n.op === 'Sum') && x) {
      const axes = n.attrs.axes as number[];
      if (!axes.includes(1) && n.attrs.keepDims === true) {
        this.atoms.set(out, x);
        return;
      }
    }
    if (BINARY.has(n.op)) {
      const full = ins.filter((a): a is number[] => a !== undefined);
      const c = channelDim(out);
      const same = full.filter((a) => a.length === c);
      if (c !== undefined && same.length === full.length && same.length > 0) {
        for (const a of same.slice(1)) for (let i = 0; i < c; i++) this.union(same[0]![i]!, a[i]!);
        this.atoms.set(out, same[0]!);
        return;
      }
    }
    if (n.op === 'Concat' && n.attrs.axis === 1 && ins.every((a) => a !== undefined)) {
      this.atoms.set(
        out,
        ins.flatMap((a) => a!),
      );
      return;
    }
    if (n.op === 'Reshape' && x) {
      const si = this.graph.values.get(n.inputs[0]!)?.shape ?? [];
      const so = this.graph.values.get(out)?.shape ?? [];
      const trailing = (s: readonly (number | string)[]) => s.slice(2).every((d) => d === 1);
      if (si[1] === x.length && so[1] === x.length && trailing(si) && trailing(so)) {
        this.atoms.set(out, x);
        return;
      }
    }
    lockInputs();
    newOut(true);
  }
}
