import { describe, expect, it } from 'vitest';
import { GraphError, ShapeError, UnsupportedOpError } from '../errors/index.js';
import { type Graph, makeGraph, type Node } from './types.js';
import { validateGraph } from './validate.js';

const relu = (name: string, x: string, y: string): Node => ({
  name,
  op: 'Relu',
  inputs: [x],
  outputs: [y],
  attrs: {},
});

function graph(nodes: Node[], outputs = ['y'], extra: Partial<Parameters<typeof makeGraph>[0]> = {}): Graph {
  return makeGraph({
    inputs: ['x'],
    outputs,
    nodes,
    values: [{ name: 'x', shape: ['N', 4], dtype: 'float32' }],
    ...extra,
  });
}

describe('validateGraph', () => {
  it('accepts a valid graph and returns inferred value infos', () => {
    const g = validateGraph(
      graph(
        [relu('r1', 'x', 'h'), { name: 'a', op: 'Add', inputs: ['h', 'b'], outputs: ['y'], attrs: {} }],
        ['y'],
        {
          initializers: [{ name: 'b', dtype: 'float32', shape: [4], data: new Float32Array(4) }],
        },
      ),
    );
    expect(g.values.get('y')).toEqual({ name: 'y', shape: ['N', 4], dtype: 'float32' });
  });

  it('rejects dangling edges, naming the node and the value', () => {
    expect(() => validateGraph(graph([relu('r1', 'nope', 'y')]))).toThrow(GraphError);
    expect(() => validateGraph(graph([relu('r1', 'nope', 'y')]))).toThrow(
      /'r1' reads undefined value 'nope'/,
    );
  });

  it('rejects values produced twice and duplicate node names', () => {
    expect(() => validateGraph(graph([relu('r1', 'x', 'y'), relu('r2', 'x', 'y')]))).toThrow(
      /'y' is defined twice/,
    );
    expect(() => validateGraph(graph([relu('r1', 'x', 'y'), relu('r1', 'x', 'z')]))).toThrow(
      /'r1' is used twice/,
    );
    expect(() => validateGraph(graph([relu('r1', 'x', 'x')], ['x']))).toThrow(/'x' is defined twice/);
  });

  it('rejects cycles', () => {
    const nodes = [relu('r1', 'b', 'a'), relu('r2', 'a', 'b'), relu('r3', 'x', 'y')];
    expect(() => validateGraph(graph(nodes))).toThrow(/cycle among nodes 'r1', 'r2'/);
  });

  it('rejects outputs that nothing produces', () => {
    expect(() => validateGraph(graph([relu('r1', 'x', 'y')], ['z']))).toThrow(/output 'z' is not produced/);
  });

  it('rejects unknown ops', () => {
    const n: Node = { name: 'k', op: 'Frob', inputs: ['x'], outputs: ['y'], attrs: {} };
    expect(() => validateGraph(graph([n]))).toThrow(UnsupportedOpError);
    expect(() => validateGraph(graph([n]))).toThrow(/'k' has unknown op 'Frob'/);
  });

  it('rejects attr/shape conflicts found by inference', () => {
    const n: Node = { name: 'rs', op: 'Reshape', inputs: ['x'], outputs: ['y'], attrs: { shape: [3, 3] } };
    const g = makeGraph({
      inputs: ['x'],
      outputs: ['y'],
      nodes: [n],
      values: [{ name: 'x', shape: [2, 4], dtype: 'float32' }],
    });
    expect(() => validateGraph(g)).toThrow(ShapeError);
    expect(() => validateGraph(g)).toThrow(/'rs'.*\[2,4\]/);
  });

  it('rejects declared value infos that contradict inference', () => {
    const g = graph([relu('r1', 'x', 'y')], ['y'], {
      values: [
        { name: 'x', shape: ['N', 4], dtype: 'float32' },
        { name: 'y', shape: ['N', 5], dtype: 'float32' },
      ],
    });
    expect(() => validateGraph(g)).toThrow(/'y' is declared float32\[N,5\] but infers to float32\[N,4\]/);
  });

  it('rejects initializers whose data does not match shape and dtype', () => {
    const bad = (data: Float32Array | Int32Array) =>
      graph([relu('r1', 'x', 'y')], ['y'], {
        initializers: [{ name: 'w', dtype: 'float32', shape: [2, 2], data: data as Float32Array }],
      });
    expect(() => validateGraph(bad(new Float32Array(3)))).toThrow(/'w'.*needs 4 elements/);
    expect(() => validateGraph(bad(new Int32Array(4)))).toThrow(ShapeError);
  });

  it('rejects inputs without value info', () => {
    const g = makeGraph({ inputs: ['x'], outputs: ['y'], nodes: [relu('r1', 'x', 'y')] });
    expect(() => validateGraph(g)).toThrow(/input 'x' has no value info/);
  });
});
