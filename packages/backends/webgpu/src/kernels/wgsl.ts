import type { WebGpuBackend } from '../backend.js';
import type { GpuTensor } from '../handle.js';

/**
 * WGSL declarations shared by every kernel: the params array at binding 0 and the NaN test (by bits, so no
 * compiler fast-math folds it away). @internal
 */
export const HEAD = /* wgsl */ `
@group(0) @binding(0) var<storage, read> p: array<i32>;
fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn pf(k: i32) -> f32 { return bitcast<f32>(p[k]); }
// Runtime-valued ±inf (a constant infinity is a WGSL shader-creation error).
fn inf_(sign: u32) -> f32 { return bitcast<f32>((u32(p[0]) & 0u) | 0x7f800000u | sign); }
fn nan_() -> f32 { return bitcast<f32>((u32(p[0]) & 0u) | 0x7fc00000u); }
fn isinf_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn relu6_(v: f32) -> f32 { return select(min(max(v, 0.0), 6.0), v, isnan_(v)); }
`;

/**
 * Storage bindings: `ins` read-only arrays named x1, x2..., then `outs` read-write arrays y1, y2... @internal
 * @param ins - input names
 * @param outs - output names
 * @returns WGSL declarations
 */
export function bindings(ins: readonly string[], outs: readonly string[]): string {
  const lines = ins.map((n, i) => `@group(0) @binding(${i + 1}) var<storage, read> ${n}: array<f32>;`);
  outs.forEach((n, j) =>
    lines.push(`@group(0) @binding(${ins.length + j + 1}) var<storage, read_write> ${n}: array<f32>;`),
  );
  return lines.join('\n');
}

/**
 * A 1-D kernel: one invocation per element `i < p[0]`. @internal
 * @param decls - declarations (bindings, helpers)
 * @param body - statements using `i: i32`
 * @returns the WGSL module
 */
export function kernel1d(decls: string, body: string): string {
  return `${HEAD}${decls}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = i32(gid.y * nwg.x * 256u + gid.x);
  if (i >= p[0]) { return; }
${body}
}`;
}

/**
 * Float32 bit pattern as i32 (for params). @internal
 * @param v - number
 * @returns its f32 bits
 */
export function f32bits(v: number): number {
  const f = new Float32Array([v]);
  return new Int32Array(f.buffer)[0]!;
}

/**
 * Element count of a shape. @internal
 * @param shape - shape
 * @returns product of dims
 */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Contiguous row-major strides. @internal
 * @param shape - shape
 * @returns strides
 */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

/**
 * The GPU buffers of some tensors. @internal
 * @param b - backend
 * @param ts - tensors
 * @returns buffers in order
 */
export function bufs(b: WebGpuBackend, ...ts: GpuTensor[]): GPUBuffer[] {
  return ts.map((t) => b.gpuBuffer(t.handle));
}
