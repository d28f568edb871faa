// Shared pieces of the TFLite op converters: the converter type, fused activations, binary ops with layout.
import type { Activation, Node } from '@tinyvision/tensor';
import type { Layout, TflContext } from './context.js';
import { ActivationFunctionType, BuiltinOperator, BuiltinOptions } from './generated/schema_generated.js';

/** Emits the TFLite operators of one graph node. @internal */
export type TflConverter = (c: TflContext, node: Node) => void;

/** TFLite fused activation of a tinyvision activation, or undefined when it needs its own operators. @internal */
export function fusedActivation(a: Activation | undefined): ActivationFunctionType | undefined {
  if (a === undefined || a === 'none') return ActivationFunctionType.NONE;
  if (a === 'relu') return ActivationFunctionType.RELU;
  if (a === 'relu6') return ActivationFunctionType.RELU6;
  return undefined;
}

/**
 * Emits `activation(input)` into `output` as separate operators (for activations TFLite cannot fuse).
 * @internal
 */
export function emitActivation(
  c: TflContext,
  node: Node,
  a: Activation,
  input: number,
  output: number,
  shape: readonly number[],
): void {
  const unary = (code: BuiltinOperator, i: number, o: number): void => c.op(code, [i], [o]);
  switch (a) {
    case 'none':
      c.op(BuiltinOperator.RESHAPE, [input, c.constI32(`${node.name}/shape`, shape)], [output], {
        type: BuiltinOptions.ReshapeOptions,
        values: { newShape: [...shape] },
      });
      return;
    case 'relu':
      unary(BuiltinOperator.RELU, input, output);
      return;
    case 'relu6':
      unary(BuiltinOperator.RELU6, input, output);
      return;
    case 'hardSwish':
      c.op(BuiltinOperator.HARD_SWISH, [input], [output], { type: BuiltinOptions.HardSwishOptions });
      return;
    case 'sigmoid':
      unary(BuiltinOperator.LOGISTIC, input, output);
      return;
    case 'tanh':
      unary(BuiltinOperator.TANH, input, output);
      return;
    case 'silu': {
      const s = c.tmp(`${node.name}/sigmoid`, shape);
      unary(BuiltinOperator.LOGISTIC, input, s);
      c.op(BuiltinOperator.MUL, [input, s], [output], { type: BuiltinOptions.MulOptions });
      return;
    }
    case 'hardSigmoid': {
      // relu6(x + 3) / 6
      const p = c.tmp(`${node.name}/plus3`, shape);
      c.op(BuiltinOperator.ADD, [input, c.constF32(`${node.name}/three`, [3], [])], [p], {
        type: BuiltinOptions.AddOptions,
        values: { fusedActivationFunction: ActivationFunctionType.RELU6 },
      });
      c.op(BuiltinOperator.MUL, [p, c.constF32(`${node.name}/sixth`, [1 / 6], [])], [output], {
        type: BuiltinOptions.MulOptions,
      });
      return;
    }
  }
}

/**
 * The layout shared by the operands of a broadcasting op: NHWC when the output is rank 4 and every non-constant
 * operand is rank 4 (constants are padded to rank 4 and permuted), otherwise plain.
 * @internal
 */
export function broadcastLayout(c: TflContext, node: Node): Layout {
  const out = c.shape(node.outputs[0]!);
  if (out.length !== 4) return 'plain';
  const vars = node.inputs.filter((v): v is string => v !== null && !c.isConst(v));
  if (vars.some((v) => c.shape(v).length !== 4)) return 'plain';
  return vars.some((v) => c.layoutOf(v) === 'nhwc') ? 'nhwc' : 'plain';
}

/** An operand of a broadcasting op in `layout` (constants broadcast-compatibly). @internal */
export function operand(c: TflContext, name: string, layout: Layout): number {
  const init = c.init(name);
  if (init && layout === 'nhwc') return c.constantNhwc(init);
  return c.get(name, layout);
}

/** A binary broadcasting op (ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, POW). @internal */
export function binary(code: BuiltinOperator, options?: BuiltinOptions): TflConverter {
  return (c, node) => {
    const layout = broadcastLayout(c, node);
    const a = operand(c, node.inputs[0]!, layout);
    const b = operand(c, node.inputs[1]!, layout);
    c.op(
      code,
      [a, b],
      [c.out(node.outputs[0]!, layout)],
      options === undefined ? undefined : { type: options },
    );
  };
}

/** A layout-preserving unary op. @internal */
export function unary(code: BuiltinOperator, options?: BuiltinOptions): TflConverter {
  return (c, node) => {
    const x = node.inputs[0]!;
    const layout = c.layoutOf(x);
    c.op(
      code,
      [c.get(x, layout)],
      [c.out(node.outputs[0]!, layout)],
      options === undefined ? undefined : { type: options },
    );
  };
}

/** A layout-preserving activation converter. @internal */
export function activation(a: Activation): TflConverter {
  return (c, node) => {
    const x = node.inputs[0]!;
    const layout = c.layoutOf(x);
    const o = node.outputs[0]!;
    emitActivation(c, node, a, c.get(x, layout), c.out(o, layout), c.storedShape(o, layout));
  };
}
