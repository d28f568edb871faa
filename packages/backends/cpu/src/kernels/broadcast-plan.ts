import { contiguousStrides } from '@tinyvision/tensor';

/**
 * Iteration plan of a broadcasting elementwise op: the output shape with size-1 dims dropped and adjacent dims
 * merged while every operand stays linear across them (contiguous or constant), so e.g. `[N,C,H,W] ∘ [1,C,1,1]`
 * becomes `[N, C, H·W]` with rows of H·W values against one scalar of the second operand.
 */
export interface BroadcastPlan {
  /** Merged extents, outermost first (at least one). */
  readonly ext: readonly number[];
  /** Per operand, its element stride along each merged dim (0 where broadcast; the last one is 0 or 1). */
  readonly strides: readonly (readonly number[])[];
}

/**
 * Plans a broadcast over `shape` of contiguous operands of the given shapes (each broadcastable to `shape`).
 * @param shape - the output (broadcast) shape
 * @param operands - the operands' shapes
 * @returns the merged extents and per-operand strides
 */
export function planBroadcast(
  shape: readonly number[],
  operands: readonly (readonly number[])[],
): BroadcastPlan {
  const rank = shape.length;
  const full = operands.map((s) => {
    const cs = contiguousStrides(s);
    const off = rank - s.length;
    return shape.map((_, i) => (i < off || s[i - off] === 1 ? 0 : cs[i - off]!));
  });
  const ext: number[] = [];
  const strides: number[][] = operands.map(() => []);
  for (let d = rank - 1; d >= 0; d--) {
    const e = shape[d]!;
    if (e === 1) continue;
    const j = ext.length - 1;
    if (j >= 0 && full.every((s, k) => s[d] === strides[k]![j]! * ext[j]!)) ext[j]! *= e;
    else {
      ext.push(e);
      full.forEach((s, k) => strides[k]!.push(s[d]!));
    }
  }
  if (!ext.length) {
    ext.push(1);
    for (const s of strides) s.push(0);
  }
  ext.reverse();
  for (const s of strides) s.reverse();
  return { ext, strides };
}

/**
 * Calls `row(o, p)` for each row of the plan's last merged dim: `o` is the output offset of the row and `p[k]`
 * the offset of operand `k` (the row then runs `ext[last]` values with each operand's last stride).
 * @param plan - the broadcast plan
 * @param n - number of output values (the product of the extents)
 * @param row - the row body
 * @returns nothing
 */
export function forEachRow(
  plan: BroadcastPlan,
  n: number,
  row: (o: number, p: readonly number[]) => void,
): void {
  const { ext, strides } = plan;
  const last = ext.length - 1;
  const len = ext[last]!;
  const m = strides.length;
  const p = new Array<number>(m).fill(0);
  const idx = new Array<number>(last).fill(0);
  for (let o = 0; o < n; o += len) {
    row(o, p);
    for (let d = last - 1; d >= 0; d--) {
      idx[d]!++;
      for (let k = 0; k < m; k++) p[k]! += strides[k]![d]!;
      if (idx[d]! < ext[d]!) break;
      for (let k = 0; k < m; k++) p[k]! -= strides[k]![d]! * ext[d]!;
      idx[d] = 0;
    }
  }
}
