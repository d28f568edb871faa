// TflModel → FlatBuffer bytes (schema version 3, file identifier "TFL3"), with the generated schema code.
import { Builder } from 'flatbuffers';
import {
  Buffer as FbBuffer,
  Metadata as FbMetadata,
  Model as FbModel,
  Operator as FbOperator,
  OperatorCode as FbOperatorCode,
  QuantizationParameters as FbQuant,
  SubGraph as FbSubGraph,
  Tensor as FbTensor,
} from './generated/schema_generated.js';
import { OPTION_SPECS, type TflModel, type TflOperator, type TflTensor } from './ir.js';

/** The TFLite schema version written and accepted. @internal */
export const TFLITE_SCHEMA_VERSION = 3;
/** The TFLite file identifier. @internal */
export const TFLITE_IDENTIFIER = 'TFL3';
/** `BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES`: the deprecated code of ops numbered above 127. */
const PLACEHOLDER = 127;

/** A byte vector whose data starts at a multiple of `align` from the end (hence start) of the buffer. */
function alignedBytes(b: Builder, data: Uint8Array, align: number): number {
  b.startVector(1, data.length, align);
  for (let i = data.length - 1; i >= 0; i--) b.writeInt8(data[i]!);
  return b.endVector();
}

function intVector(b: Builder, v: readonly number[]): number {
  b.startVector(4, v.length, 4);
  for (let i = v.length - 1; i >= 0; i--) b.addInt32(v[i]!);
  return b.endVector();
}

function options(b: Builder, op: TflOperator): number {
  const spec = OPTION_SPECS[op.optionsType];
  if (!spec) return 0;
  const vectors = new Map<number, number>();
  spec.forEach((f, slot) => {
    if (f?.[1] === 'intVector' && op.options[f[0]] !== undefined) {
      vectors.set(slot, intVector(b, op.options[f[0]] as readonly number[]));
    }
  });
  b.startObject(spec.length);
  spec.forEach((f, slot) => {
    if (!f) return;
    const [name, kind, dflt] = f;
    const v = op.options[name];
    if (v === undefined) return;
    if (kind === 'intVector') b.addFieldOffset(slot, vectors.get(slot)!, 0);
    else if (kind === 'byte') b.addFieldInt8(slot, Number(v), dflt);
    else if (kind === 'bool') b.addFieldInt8(slot, v ? 1 : 0, dflt);
    else if (kind === 'int') b.addFieldInt32(slot, Number(v), dflt);
    else b.addFieldFloat32(slot, Number(v), dflt);
  });
  return b.endObject();
}

function tensor(b: Builder, t: TflTensor): number {
  const name = b.createString(t.name);
  const shape = FbTensor.createShapeVector(b, [...t.shape]);
  let quant = 0;
  if (t.quant) {
    const scale = FbQuant.createScaleVector(b, [...t.quant.scale]);
    const zp = FbQuant.createZeroPointVector(b, t.quant.zeroPoint.map(BigInt));
    FbQuant.startQuantizationParameters(b);
    FbQuant.addScale(b, scale);
    FbQuant.addZeroPoint(b, zp);
    FbQuant.addQuantizedDimension(b, t.quant.axis);
    quant = FbQuant.endQuantizationParameters(b);
  }
  FbTensor.startTensor(b);
  FbTensor.addShape(b, shape);
  FbTensor.addType(b, t.type);
  FbTensor.addBuffer(b, t.buffer);
  FbTensor.addName(b, name);
  if (quant) FbTensor.addQuantization(b, quant);
  return FbTensor.endTensor(b);
}

/**
 * Serialises a model: one subgraph, operator codes deduplicated by (code, version), `deprecated_builtin_code`
 * and `builtin_code` both set, buffer 0 empty, buffer data 16-byte aligned.
 * @param m - the model
 * @returns the `.tflite` bytes
 * @internal
 */
export function serializeTflite(m: TflModel): Uint8Array {
  const total = m.buffers.reduce((s, d) => s + d.length + 32, 4096 + m.tensors.length * 96);
  const b = new Builder(total);
  // Buffers first (largest), so that tables follow them.
  const buffers = m.buffers.map((data, i) => {
    const vec = i === 0 || data.length === 0 ? 0 : alignedBytes(b, data, 16);
    FbBuffer.startBuffer(b);
    if (vec) FbBuffer.addData(b, vec);
    return FbBuffer.endBuffer(b);
  });
  const codes: string[] = [];
  const opcodeIndex = m.operators.map((op) => {
    const key = `${op.code}/${op.version}`;
    let i = codes.indexOf(key);
    if (i < 0) i = codes.push(key) - 1;
    return i;
  });
  const opcodes = codes.map((key) => {
    const [code, version] = key.split('/').map(Number) as [number, number];
    return FbOperatorCode.createOperatorCode(b, Math.min(code, PLACEHOLDER), 0, version, code);
  });
  const tensors = m.tensors.map((t) => tensor(b, t));
  const operators = m.operators.map((op, i) => {
    const ins = FbOperator.createInputsVector(b, [...op.inputs]);
    const outs = FbOperator.createOutputsVector(b, [...op.outputs]);
    const opts = options(b, op);
    FbOperator.startOperator(b);
    FbOperator.addOpcodeIndex(b, opcodeIndex[i]!);
    FbOperator.addInputs(b, ins);
    FbOperator.addOutputs(b, outs);
    if (opts) {
      FbOperator.addBuiltinOptionsType(b, op.optionsType);
      FbOperator.addBuiltinOptions(b, opts);
    }
    return FbOperator.endOperator(b);
  });
  const sgName = b.createString(m.subgraphName);
  const subgraph = FbSubGraph.createSubGraph(
    b,
    FbSubGraph.createTensorsVector(b, tensors),
    FbSubGraph.createInputsVector(b, [...m.inputs]),
    FbSubGraph.createOutputsVector(b, [...m.outputs]),
    FbSubGraph.createOperatorsVector(b, operators),
    sgName,
    -1,
  );
  const metadata = m.metadata.map((md) => FbMetadata.createMetadata(b, b.createString(md.name), md.buffer));
  const description = b.createString(m.description);
  const opcodesVec = FbModel.createOperatorCodesVector(b, opcodes);
  const subgraphs = FbModel.createSubgraphsVector(b, [subgraph]);
  const buffersVec = FbModel.createBuffersVector(b, buffers);
  const metadataVec = metadata.length ? FbModel.createMetadataVector(b, metadata) : 0;
  FbModel.startModel(b);
  FbModel.addVersion(b, TFLITE_SCHEMA_VERSION);
  FbModel.addOperatorCodes(b, opcodesVec);
  FbModel.addSubgraphs(b, subgraphs);
  FbModel.addDescription(b, description);
  FbModel.addBuffers(b, buffersVec);
  if (metadataVec) FbModel.addMetadata(b, metadataVec);
  const root = FbModel.endModel(b);
  b.finish(root, TFLITE_IDENTIFIER);
  return b.asUint8Array().slice();
}
