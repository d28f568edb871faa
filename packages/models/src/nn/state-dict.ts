import {
  cast,
  contiguous,
  fmtShape,
  isFloat,
  isInt,
  noGrad,
  shapesEqual,
  Tensor,
  tidy,
} from '@tinyvision/tensor';
import { StateDictError } from './errors.js';

/** A state dict as accepted by {@link Module.loadStateDict}: a Map or a plain record of tensors. */
export type StateDict = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Throw a {@link StateDictError} on missing or unexpected keys (default true). Shape errors always throw. */
  readonly strict?: boolean;
  /**
   * Cast a tensor whose dtype differs from its target within the same kind (float ↔ float, int ↔ int), e.g.
   * float16 weights into float32 parameters (default true). Float ↔ integer never casts.
   */
  readonly allowCast?: boolean;
}

/** What {@link Module.loadStateDict} reports (torch's `_IncompatibleKeys`). */
export interface LoadStateDictResult {
  /** Keys the module expects that the state dict lacks. */
  readonly missingKeys: string[];
  /** Keys of the state dict the module does not have. */
  readonly unexpectedKeys: string[];
}

/**
 * The checks and copies of `Module.loadStateDict`: every key, shape and dtype is validated before anything is
 * written; values go into the module's tensors with `assign_` (cast within float or int kinds when allowed).
 * @param cls - module class name for messages
 * @param own - the module's state dict (its own tensors)
 * @param sd - the incoming state dict
 * @param opts - strict, allowCast
 * @returns the missing and unexpected keys
 * @throws {StateDictError} on key (strict), shape or dtype mismatches
 * @internal
 */
export function loadStateDictInto(
  cls: string,
  own: ReadonlyMap<string, Tensor>,
  sd: StateDict,
  opts: LoadStateDictOptions,
): LoadStateDictResult {
  const strict = opts.strict ?? true;
  const allowCast = opts.allowCast ?? true;
  const src: ReadonlyMap<string, Tensor> =
    sd instanceof Map
      ? (sd as ReadonlyMap<string, Tensor>)
      : new Map(Object.entries(sd as Record<string, Tensor>));
  const missingKeys = [...own.keys()].filter((k) => !src.has(k));
  const unexpectedKeys = [...src.keys()].filter((k) => !own.has(k));
  if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
    const parts: string[] = [];
    if (missingKeys.length) parts.push(`missing keys: ${missingKeys.map((k) => `'${k}'`).join(', ')}`);
    if (unexpectedKeys.length)
      parts.push(`unexpected keys: ${unexpectedKeys.map((k) => `'${k}'`).join(', ')}`);
    throw new StateDictError(`loadStateDict(${cls}): ${parts.join('; ')}`);
  }
  const pairs: [Tensor, Tensor][] = [];
  for (const [k, target] of own) {
    const t = src.get(k);
    if (t === undefined) continue;
    if (!(t instanceof Tensor)) throw new StateDictError(`loadStateDict(${cls}): '${k}' is not a Tensor`);
    if (!shapesEqual(t.shape, target.shape)) {
      throw new StateDictError(
        `loadStateDict(${cls}): '${k}' has shape ${fmtShape(t.shape)}, expected ${fmtShape(target.shape)}`,
      );
    }
    if (t.dtype !== target.dtype) {
      const sameKind = (isFloat(t.dtype) && isFloat(target.dtype)) || (isInt(t.dtype) && isInt(target.dtype));
      if (!allowCast || !sameKind) {
        throw new StateDictError(
          `loadStateDict(${cls}): '${k}' has dtype ${t.dtype}, expected ${target.dtype}` +
            (allowCast ? ' (float and integer dtypes do not cast)' : ' (allowCast is false)'),
        );
      }
    }
    pairs.push([target, t]);
  }
  noGrad(() =>
    tidy(() => {
      for (const [target, t] of pairs) {
        const v = t.dtype === target.dtype ? t : cast(t, target.dtype);
        target.assign_(contiguous(v));
      }
    }),
  );
  return { missingKeys, unexpectedKeys };
}
