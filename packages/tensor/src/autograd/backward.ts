import { type GradNode, noGrad } from '../engine.js';
import { InvalidArgumentError, ShapeError } from '../errors/index.js';
import { fmtShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { lookupGradient } from './gradients.js';
import { ensureGradients } from './grads/index.js';
import { addGrads, onesLike, zerosLike } from './util.js';

/**
 * Reverse-mode autodiff from `root`. Gradients are accumulated into `.grad` of leaf tensors that require grad.
 * @internal
 */
export function backward(root: Tensor, grad: Tensor | undefined, opts: { retainGraph?: boolean }): void {
  ensureGradients();
  if (!root.requiresGrad) throw new InvalidArgumentError('backward: tensor does not require grad');
  if (!grad && root.size !== 1) {
    throw new InvalidArgumentError(
      `backward: grad must be given for non-scalar output ${fmtShape(root.shape)}`,
    );
  }
  if (grad && !shapesEqual(grad.shape, root.shape)) {
    throw new ShapeError(
      `backward: grad shape ${fmtShape(grad.shape)} differs from output ${fmtShape(root.shape)}`,
    );
  }
  // Topological order of nodes reachable from root.
  const order: GradNode[] = [];
  const seen = new Set<GradNode>();
  const stack: [GradNode, number][] = [];
  if (root.gradNode) stack.push([root.gradNode, 0]);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [node, i] = top;
    if (i === 0 && seen.has(node)) {
      stack.pop();
      continue;
    }
    seen.add(node);
    if (i < node.inputs.length) {
      top[1]++;
      const inp = node.inputs[i];
      if (inp?.gradNode && !seen.has(inp.gradNode)) stack.push([inp.gradNode, 0]);
    } else {
      stack.pop();
      order.push(node);
    }
  }
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, grad ?? onesLike(root));
    for (let n = order.length - 1; n >= 0; n--) {
      const node = order[n]!;
      if (!node.outputs.some((o) => grads.has(o))) continue;
      const fn = lookupGradient(node.kernel);
      if (!fn) throw new InvalidArgumentError(`backward: op ${node.kernel} has no gradient`);
      const dys = node.outputs.map((o) => grads.get(o) ?? zerosLike(o));
      const dxs = fn(dys, { inputs: node.inputs, outputs: node.outputs, attrs: node.attrs });
      node.inputs.forEach((inp, i) => {
        const g = dxs[i];
        if (!inp || !g || !inp.requiresGrad) return;
        if (!shapesEqual(g.shape, inp.shape)) {
          throw new ShapeError(
            `backward: gradient of ${node.kernel} input ${i} has shape ${fmtShape(g.shape)}, expected ${fmtShape(inp.shape)}`,
          );
        }
        const prev = grads.get(inp);
        grads.set(inp, prev ? addGrads(prev, g) : g);
      });
      if (!opts.retainGraph) for (const o of node.outputs) if (o !== root) grads.delete(o);
    }
    for (const [t, g] of grads) {
      if (t.gradNode || !t.requiresGrad) continue;
      t.grad = t.grad ? addGrads(t.grad, g) : g;
    }
  });
  if (!opts.retainGraph) for (const node of order) for (const o of node.outputs) o.gradNode = null;
}
