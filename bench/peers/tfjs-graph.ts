/**
 * Runs a tinyvision inference graph (traced + optimized zoo CNN) with TensorFlow.js ops, in NHWC with the same
 * weights: the peer for bench/wasm-models.ts. Covers the ops of the MobileNet/EfficientNet-Lite graphs
 * (FusedConv2D/Conv2D incl. depthwise, Add, Mul, GlobalAvgPool, Reshape, Linear, activations).
 * @packageDocumentation
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { Graph } from '@tinyvision/tensor';

type Tf = typeof TF;
type Act = 'none' | 'relu' | 'relu6' | 'hardSwish' | 'hardSigmoid' | 'sigmoid' | 'silu' | 'tanh';

function activate(tf: Tf, x: TF.Tensor, act: Act): TF.Tensor {
  switch (act) {
    case 'none':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'hardSwish':
      return tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6));
    case 'hardSigmoid':
      return tf.div(tf.relu6(tf.add(x, 3)), 6);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'tanh':
      return tf.tanh(x);
  }
}

/** A compiled peer: call it with an NCHW float32 input, get the logits. */
export interface TfjsModel {
  /** Runs one batch (the input is NCHW; converted to NHWC inside). */
  run(x: TF.Tensor4D): TF.Tensor;
  /** Frees the weights. */
  dispose(): void;
}

/**
 * Converts the graph's weights to TensorFlow.js layouts (HWIO filters, depthwise [kh,kw,C,mult]).
 * @param tf - the tfjs-core namespace with an active backend
 * @param g - a tinyvision graph
 * @returns the runnable model
 * @throws {Error} for an op outside the supported set
 */
export function tfjsFromGraph(tf: Tf, g: Graph): TfjsModel {
  const consts = new Map<string, TF.Tensor>();
  const init = (name: string) => g.initializers.get(name)!;
  const convW = new Map<string, TF.Tensor>();
  for (const n of g.nodes) {
    if (n.op !== 'Conv2D' && n.op !== 'FusedConv2D') continue;
    const w = init(n.inputs[1]!);
    const [o, cg, kh, kw] = w.shape as number[];
    const groups = (n.attrs as { groups: number }).groups;
    const t = tf.tensor4d(w.data as Float32Array, [o!, cg!, kh!, kw!]);
    if (groups === 1) convW.set(n.name, tf.transpose(t, [2, 3, 1, 0]));
    else if (cg === 1) {
      const mult = o! / groups;
      convW.set(n.name, tf.reshape(tf.transpose(t, [2, 3, 1, 0]), [kh!, kw!, groups, mult]));
    } else throw new Error(`tfjs peer: grouped conv ${n.name} not supported`);
    t.dispose();
  }
  for (const [name, i] of g.initializers) {
    if (i.dtype === 'float32' && i.shape.length <= 2)
      consts.set(name, tf.tensor(i.data as Float32Array, i.shape as number[]));
  }
  const run = (x: TF.Tensor4D): TF.Tensor =>
    tf.tidy(() => {
      const env = new Map<string, TF.Tensor>(consts);
      env.set(g.inputs[0]!, tf.transpose(x, [0, 2, 3, 1]));
      for (const n of g.nodes) {
        const get = (k: number) => env.get(n.inputs[k]!)!;
        let y: TF.Tensor;
        switch (n.op) {
          case 'Conv2D':
          case 'FusedConv2D': {
            const a = n.attrs as {
              strides: [number, number];
              pads: number[];
              dilations: [number, number];
              groups: number;
              activation?: Act;
            };
            const pad: [[number, number], [number, number], [number, number], [number, number]] = [
              [0, 0],
              [a.pads[0]!, a.pads[2]!],
              [a.pads[1]!, a.pads[3]!],
              [0, 0],
            ];
            const xin = get(0) as TF.Tensor4D;
            const w = convW.get(n.name)!;
            const bias = n.inputs[2] ? get(2) : undefined;
            const act = a.activation ?? 'none';
            const native = act === 'relu' || act === 'relu6' || act === 'none' || act === 'sigmoid';
            if (a.groups === 1) {
              y = tf.fused.conv2d({
                x: xin,
                filter: w as TF.Tensor4D,
                strides: a.strides,
                pad,
                dilations: a.dilations,
                bias,
                activation: native ? (act === 'none' ? 'linear' : act) : 'linear',
              });
            } else {
              // tfjs depthwise takes one symmetric pad (or 'valid' after padding the input ourselves).
              const sym = a.pads.every((p) => p === a.pads[0]);
              y = tf.fused.depthwiseConv2d({
                x: sym ? xin : tf.pad(xin, pad),
                filter: w as TF.Tensor4D,
                strides: a.strides,
                pad: sym ? a.pads[0]! : 'valid',
                dilations: a.dilations,
                bias,
                activation: native ? (act === 'none' ? 'linear' : act) : 'linear',
              });
            }
            if (!native) y = activate(tf, y, act);
            break;
          }
          case 'Add':
            y = tf.add(get(0), get(1));
            break;
          case 'Mul':
            y = tf.mul(get(0), get(1));
            break;
          case 'GlobalAvgPool':
            y = tf.mean(get(0), [1, 2], true);
            break;
          case 'Reshape':
            y = tf.reshape(get(0), (n.attrs as { shape: number[] }).shape);
            break;
          case 'Linear':
            y = tf.matMul(get(0), get(1), false, true);
            if (n.inputs[2]) y = tf.add(y, get(2));
            break;
          case 'HardSwish':
          case 'HardSigmoid':
          case 'Relu':
          case 'Relu6':
            y = activate(tf, get(0), (n.op[0]!.toLowerCase() + n.op.slice(1)) as Act);
            break;
          default:
            throw new Error(`tfjs peer: op ${n.op} not supported`);
        }
        env.set(n.outputs[0]!, y);
      }
      return env.get(g.outputs[0]!)!;
    });
  return {
    run,
    dispose() {
      for (const t of [...consts.values(), ...convW.values()]) t.dispose();
    },
  };
}
