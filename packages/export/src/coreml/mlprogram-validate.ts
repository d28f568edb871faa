// validateMLPackage: structural checks of an ML Program package (no Core ML runtime exists on Linux).
import { TinyVisionError } from '@tinyvision/tensor';
import { scanBlobs } from './mlprogram-blob.js';
import { MIL_OPS, OPSET_SPEC_VERSION } from './mlprogram-ops.js';
import { constValue, mainBlock, parseManifest } from './mlprogram-reader.js';
import { MLPACKAGE_MODEL_PATH, type MLPackage } from './mlprogram-writer.js';
import { decodeCoreMLModel } from './nn-reader.js';

/** Result of {@link validateMLPackage}. */
export interface MLPackageValidation {
  /** True when no issue was found. */
  readonly ok: boolean;
  /** The model's `specificationVersion` (0 when it does not decode). */
  readonly specificationVersion: number;
  /** The active opset of `main` (`CoreML5`, `CoreML6`), or `''`. */
  readonly opset: string;
  /** Number of operations in the main block. */
  readonly ops: number;
  /** Number of blobs in weight.bin. */
  readonly blobs: number;
  /** Every problem found, each naming the op, input, entry or byte offset. */
  readonly issues: readonly string[];
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Checks an ML Program package: Manifest.json structure and paths, the model decodes with
 * `specificationVersion` ≥ 6 (≥ 7 for `CoreML6`), every op is one the writer knows from the iOS 15/16 MIL op
 * definitions with inputs named as there and every required input given, every referenced value is defined
 * before use, every const decodes (blob offsets point at a valid blob_metadata of the declared dtype and size),
 * and the weight.bin header's blob count matches the file.
 * @param pkg - the package files
 * @returns the issues found (empty when valid)
 * @throws never for malformed input: problems are reported in `issues`
 * @example
 * ```ts
 * const v = validateMLPackage(exportMLPackage(graph));
 * if (!v.ok) console.error(v.issues);
 * ```
 */
export function validateMLPackage(pkg: MLPackage): MLPackageValidation {
  const issues: string[] = [];
  let specificationVersion = 0;
  let opset = '';
  let ops = 0;
  let blobs = 0;
  const done = () => ({ ok: issues.length === 0, specificationVersion, opset, ops, blobs, issues });
  try {
    const m = parseManifest(pkg.manifest);
    if (m.rootPath !== MLPACKAGE_MODEL_PATH)
      issues.push(`Manifest.json: root model path '${m.rootPath}', expected '${MLPACKAGE_MODEL_PATH}'`);
  } catch (e) {
    issues.push(msg(e));
  }
  try {
    blobs = scanBlobs(pkg.weights).length;
  } catch (e) {
    issues.push(msg(e));
  }
  let model: ReturnType<typeof decodeCoreMLModel>;
  let main: ReturnType<typeof mainBlock>;
  try {
    model = decodeCoreMLModel(pkg.model);
    specificationVersion = model.specificationVersion;
    main = mainBlock(model);
  } catch (e) {
    issues.push(msg(e));
    return done();
  }
  const { fn, block } = main;
  opset = fn.opset;
  const need = OPSET_SPEC_VERSION[opset];
  if (need === undefined) issues.push(`function 'main': unknown opset '${opset}'`);
  if (specificationVersion < 6)
    issues.push(`specificationVersion ${specificationVersion} is below 6 (ML Programs need iOS 15)`);
  else if (need !== undefined && specificationVersion < need) {
    issues.push(
      `specificationVersion ${specificationVersion} is below ${need}, which opset '${opset}' needs`,
    );
  }
  const defined = new Set(fn.inputs.map((i) => i.name));
  const desc = model.description;
  for (const i of desc?.input ?? [])
    if (!defined.has(i.name)) issues.push(`input feature '${i.name}' is not a function input`);
  ops = block.operations.length;
  for (const [k, op] of block.operations.entries()) {
    const where = `op ${k} '${op.outputs[0]?.name ?? '?'}' (${op.type})`;
    const spec = MIL_OPS[op.type];
    if (!spec) issues.push(`${where}: unknown op type`);
    else {
      if (need !== undefined && (OPSET_SPEC_VERSION[spec.opset] as number) > need) {
        issues.push(`${where}: needs opset ${spec.opset}, the function uses ${opset}`);
      }
      for (const name of Object.keys(op.inputs)) {
        if (!(name in spec.inputs)) issues.push(`${where}: unknown input '${name}'`);
      }
      for (const [name, required] of Object.entries(spec.inputs)) {
        if (required && !op.inputs[name]?.arguments.length)
          issues.push(`${where}: required input '${name}' is missing`);
      }
    }
    for (const [name, arg] of Object.entries(op.inputs)) {
      for (const b of arg.arguments) {
        if (b.binding.case === 'name' && !defined.has(b.binding.value)) {
          issues.push(`${where}: input '${name}' refers to '${b.binding.value}', not defined before it`);
        } else if (b.binding.case === 'value') {
          try {
            constValue(b.binding.value, pkg.weights, `${where} input '${name}'`);
          } catch (e) {
            issues.push(msg(e));
          }
        } else if (b.binding.case === undefined)
          issues.push(`${where}: input '${name}' has an empty binding`);
      }
    }
    if (op.type === 'const') {
      try {
        constValue(op.attributes.val, pkg.weights, where);
      } catch (e) {
        if (!(e instanceof TinyVisionError)) throw e;
        issues.push(msg(e));
      }
    }
    for (const o of op.outputs) {
      if (!o.name) issues.push(`${where}: unnamed output`);
      else if (defined.has(o.name)) issues.push(`${where}: output '${o.name}' is defined twice`);
      defined.add(o.name);
    }
  }
  for (const o of block.outputs) if (!defined.has(o)) issues.push(`block output '${o}' is produced by no op`);
  const outs = new Set(block.outputs);
  for (const o of desc?.output ?? [])
    if (!outs.has(o.name)) issues.push(`output feature '${o.name}' is not a block output`);
  return done();
}
