// Small named WGSL fragments the kernel generators assemble: bindings, the uniform struct, strided
// index arithmetic specialised by rank, and entry points with a folded 2-D grid.
import { BackendError } from '../../tensor/errors.js';
import type { DType } from '../../tensor/dtype.js';
import type { WgslScalar } from '../elementwise-ops.js';

/** Highest tensor rank a kernel indexes: shapes and strides travel as array<vec4<u32>, 2>. */
export const MAX_RANK = 8;

/** A vec4's components in order, for generated code that takes them one by one. */
export const VEC4_COMPONENTS = ['x', 'y', 'z', 'w'] as const;

/** The WGSL scalar a storage dtype is computed in (bool is stored as u32 0/1). */
export function wgslScalar(dtype: DType): WgslScalar {
  switch (dtype) {
    case 'float32':
      return 'f32';
    case 'int32':
      return 'i32';
    case 'bool':
      return 'u32';
    case 'float64':
      throw new BackendError('webgpu: float64 is CPU-only; cast to float32 or use the cpu backend.');
  }
}

// --- uniforms ---------------------------------------------------------------------------------

/** `dims` is up to 8 u32 (shape or strides, negative strides as two's complement); `vec4` is 4 u32. */
export type UniformType = 'u32' | 'i32' | 'f32' | 'vec4' | 'dims';
export type UniformValues = Record<string, number | readonly number[]>;

const fieldBytes: Record<UniformType, number> = { u32: 4, i32: 4, f32: 4, vec4: 16, dims: 32 };
const fieldWgsl: Record<UniformType, string> = {
  u32: 'u32',
  i32: 'i32',
  f32: 'f32',
  vec4: 'vec4<u32>',
  dims: 'array<vec4<u32>, 2>',
};

/** One kernel's uniform struct: its WGSL declaration and how to pack values into bytes. */
/** Uniform fields that are all u32 (counts, sizes, offsets: most of a kernel's parameters). */
export const u32Fields = <K extends string>(...names: K[]): Record<K, 'u32'> =>
  Object.fromEntries(names.map((n) => [n, 'u32'])) as Record<K, 'u32'>;

export class UniformLayout {
  private readonly fields: readonly { name: string; type: UniformType; offset: number }[];
  readonly byteSize: number;

  constructor(fields: Record<string, UniformType>) {
    // Vector fields first so every field sits at its natural alignment without padding.
    const entries = Object.entries(fields).sort(([, a], [, b]) => fieldBytes[b] - fieldBytes[a]);
    let offset = 0;
    this.fields = entries.map(([name, type]) => {
      const f = { name, type, offset };
      offset += fieldBytes[type];
      return f;
    });
    this.byteSize = Math.max(16, Math.ceil(offset / 16) * 16);
  }

  private declared: string | undefined;

  /** `struct Params { ... }` and its binding at @binding(0) as `p`. */
  declaration(): string {
    const members = () => this.fields.map((f) => `  ${f.name}: ${fieldWgsl[f.type]},`).join('\n');
    return (this.declared ??= `struct Params {\n${members()}\n}\n@group(0) @binding(0) var<uniform> p: Params;`);
  }

  pack(values: UniformValues): ArrayBuffer {
    const buf = new ArrayBuffer(this.byteSize);
    const view = new DataView(buf);
    for (const f of this.fields) {
      const v = values[f.name];
      if (v === undefined) throw new Error(`webgpu internal: uniform field '${f.name}' has no value`);
      if (typeof v === 'number') {
        if (f.type === 'f32') view.setFloat32(f.offset, v, true);
        else if (f.type === 'i32') view.setInt32(f.offset, v | 0, true);
        else view.setUint32(f.offset, v >>> 0, true);
      } else {
        const max = fieldBytes[f.type] / 4;
        if (v.length > max) throw new Error(`webgpu internal: uniform field '${f.name}' holds at most ${max} values`);
        v.forEach((x, i) => view.setUint32(f.offset + 4 * i, x >>> 0, true));
      }
    }
    return buf;
  }
}

// --- bindings ---------------------------------------------------------------------------------

export function storageBinding(
  binding: number,
  name: string,
  scalar: WgslScalar,
  access: 'read' | 'read_write',
): string {
  return `@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<${scalar}>;`;
}

// --- strided indexing -------------------------------------------------------------------------

/** Component k of a `dims` uniform field. */
export const dim = (field: string, k: number): string => `p.${field}[${k >> 2}][${k & 3}]`;

/**
 * Statements splitting a linear row-major index over a shape held in uniform field `shapeField`
 * into coordinates `${prefix}0 .. ${prefix}{rank-1}`. The leading coordinate needs no modulo.
 */
export function coordsFromIndex(index: string, rank: number, shapeField: string, prefix = 'c'): string {
  if (rank === 0) return '';
  const lines: string[] = [`var ${prefix}_rest = ${index};`];
  for (let k = rank - 1; k >= 1; k--) {
    lines.push(`let ${prefix}${k} = ${prefix}_rest % ${dim(shapeField, k)};`);
    lines.push(`${prefix}_rest = ${prefix}_rest / ${dim(shapeField, k)};`);
  }
  lines.push(`let ${prefix}0 = ${prefix}_rest;`);
  return lines.join('\n');
}

/** `offset + c0 * strides[0] + ...`: the element offset of coordinates in a strided view. */
export function stridedOffset(rank: number, stridesField: string, offsetExpr: string, prefix = 'c'): string {
  const terms = [offsetExpr];
  for (let k = 0; k < rank; k++) terms.push(`${prefix}${k} * ${dim(stridesField, k)}`);
  return terms.join(' + ');
}

/**
 * The element offset, past the view's own offset, of output element `index` (a u32 expression) of
 * an output of `shape`, read through a view with `strides` of that shape: one expression with the
 * shape and strides as constants, where coordsFromIndex and stridedOffset read them from uniforms.
 * Divisions by constants compile to a multiply and a shift; by a uniform, ~40 cycles an 8-lane op
 * on lavapipe (epilogue loads with a loop over uniform shapes compiled 114 s against 33 s for the
 * reference LRPO step's kernels).
 */
export function constantStridedIndex(index: string, shape: readonly number[], strides: readonly number[]): string {
  const i = /^\w+$/.test(index) ? index : `(${index})`;
  const terms: string[] = [];
  let inner = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] > 1 && strides[d] !== 0) {
      const q = inner === 1 ? i : `(${i} / ${inner}u)`;
      const coord = d === 0 ? q : `(${q} % ${shape[d]}u)`;
      terms.push(strides[d] === 1 ? coord : `${coord} * ${strides[d]}u`);
    }
    inner *= shape[d];
  }
  return terms.length > 0 ? terms.join(' + ') : '0u';
}

// --- entry points -----------------------------------------------------------------------------

const builtins =
  '@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>';

/**
 * A one-thread-per-item entry point. The grid may be folded into 2-D (see foldGrid), so the item
 * index is (wid.x + wid.y * nwg.x) * WG + lid.x; threads past `countExpr` return.
 */
export function threadPerItemEntry(workgroupSize: number, countExpr: string, body: string): string {
  return `@compute @workgroup_size(${workgroupSize})
fn main(${builtins}) {
  let idx = (wid.x + wid.y * nwg.x) * ${workgroupSize}u + lid.x;
  if (idx >= ${countExpr}) { return; }
${indent(body)}
}`;
}

/**
 * A one-workgroup-per-item entry point: `group` is the folded workgroup index, uniform across the
 * workgroup. `withSubgroupId` adds `sid`, the invocation's index in its subgroup (needs `enable subgroups;`).
 */
export function workgroupPerItemEntry(
  workgroupSize: number,
  countExpr: string,
  body: string,
  withSubgroupId = false,
): string {
  const params = withSubgroupId ? `${builtins}, @builtin(subgroup_invocation_id) sid: u32` : builtins;
  return `@compute @workgroup_size(${workgroupSize})
fn main(${params}) {
  let group = wid.x + wid.y * nwg.x;
  if (group >= ${countExpr}) { return; }
${indent(body)}
}`;
}

/**
 * The cooperative-load loop of the subgroup kernels (matmul-blocked.ts explains why): over whole
 * subgroup widths of `counter` up to `limit`, lane `sid` loads value i for index counter + sid
 * (`load(i, index)` gives the load expression, i < count), then an inner loop over s hands lane s's
 * values to every lane with subgroupShuffle and runs `step(index, value)` for index counter + s.
 * `counter` is a `var` declared by the caller; the loop leaves it at the first index of the tail.
 */
export function subgroupShuffleLoop(o: {
  readonly sg: number;
  readonly counter: string;
  readonly limit: string;
  readonly count: number;
  readonly load: (i: number, index: string) => string;
  readonly step: (index: string, value: (i: number) => string) => string;
}): string {
  const { sg, counter } = o;
  const loads = Array.from({ length: o.count }, (_, i) => `let own${i} = ${o.load(i, `${counter} + sid`)};`).join('\n');
  return `let ${counter}_whole = ${o.limit} - ${o.limit} % ${sg}u;
for (; ${counter} < ${counter}_whole; ${counter} += ${sg}u) {
${indent(loads)}
  for (var s = 0u; s < ${sg}u; s++) {
${indent(
  o.step(`(${counter} + s)`, (i) => `subgroupShuffle(own${i}, s)`),
  '    ',
)}
  }
}`;
}

/** `code` with `by` before every non-empty line. */
export const indent = (code: string, by = '  '): string => code.replace(/^(?=.)/gm, by);

/**
 * Statements folding `value` from every lane of a workgroup of `lanes` (a power of 2) into
 * partial[0] with `combine`, through a shared-memory tree (barriers included). The module declares
 * `var<workgroup> partial: array<T, lanes>`.
 */
export const workgroupTree = (lanes: number, value: string, combine: (a: string, b: string) => string): string =>
  `partial[lid.x] = ${value};
workgroupBarrier();
for (var w = ${lanes / 2}u; w > 0u; w = w / 2u) {
  if (lid.x < w) { partial[lid.x] = ${combine('partial[lid.x]', 'partial[lid.x + w]')}; }
  workgroupBarrier();
}`;

/** Joins kernel parts with blank lines, skipping empty ones. */
export const kernelSource = (...parts: string[]): string =>
  parts.filter((s) => s.trim().length > 0).join('\n\n') + '\n';

const layoutsByFields = new Map<string, UniformLayout>();

/** The UniformLayout of `fields`, made once per field list (kernels that build theirs per call). */
export function uniformLayoutOf(fields: Record<string, UniformType>): UniformLayout {
  let key = '';
  for (const name in fields) key += `${name}:${fields[name]},`;
  let layout = layoutsByFields.get(key);
  if (!layout) layoutsByFields.set(key, (layout = new UniformLayout(fields)));
  return layout;
}
