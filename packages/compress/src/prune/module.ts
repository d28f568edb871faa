import { Conv2d, type Module, traceModule } from '@tinyvision/models';
import { GraphError, type Tensor, tensor } from '@tinyvision/tensor';
import { type PruneChannelsOptions, type PruneChannelsResult, pruneChannels } from './structured.js';

/** `running_mean` → `runningMean`: the field a registered buffer or parameter is stored in. */
const fieldOf = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * {@link pruneChannels} applied to a module: the module is traced (eval mode, BN unfolded, so the `'bn'`
 * criterion works), the graph is pruned with the same dependency analysis, and every parameter and buffer
 * whose shape changed is replaced in the module (depthwise convolutions get their new `groups`). The module
 * really loses the channels, keeps training, and traces to the pruned graph.
 * @param module - the model (changed in place)
 * @param example - an example input (batch > 1) for tracing
 * @param opts - amount, criterion, rounding, layers to keep
 * @returns the pruning report (its `graph` is the pruned traced graph)
 * @throws {InvalidArgumentError} as {@link pruneChannels}
 * @throws {GraphError} when a pruned tensor has no matching module parameter
 * @example
 * ```ts
 * const { layers } = pruneModuleChannels(model, randn([2, 3, 96, 96]), { amount: 0.5 });
 * ```
 */
export function pruneModuleChannels(
  module: Module,
  example: Tensor,
  opts: PruneChannelsOptions,
): PruneChannelsResult {
  const g = traceModule(module, [example], { dynamicBatch: true });
  const result = pruneChannels(g, opts);
  const owners = new Map(module.namedModules());
  for (const [name, init] of result.graph.initializers) {
    const before = g.initializers.get(name);
    if (!before || before.shape.join() === init.shape.join()) continue;
    const dot = name.lastIndexOf('.');
    const owner = owners.get(dot < 0 ? '' : name.slice(0, dot));
    const key = name.slice(dot + 1);
    if (!owner) throw new GraphError(`pruneModuleChannels: no module owns '${name}'`);
    const isParam = owner.namedParameters('', false).some(([n]) => n === key);
    const t = tensor(Float32Array.from(init.data as Float32Array), init.shape);
    const field = fieldOf(key);
    const set = (v: Tensor) => {
      (owner as unknown as Record<string, Tensor>)[field] = v;
    };
    if (isParam) set(owner.registerParameter(key, t));
    else set(owner.registerBuffer(key, t));
    if (owner instanceof Conv2d && key === 'weight' && owner.groups > 1 && init.shape[1] === 1) {
      (owner as { groups: number }).groups = init.shape[0]!;
    }
  }
  return result;
}
