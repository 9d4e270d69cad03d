// The strided map: one thread per output element, reading any number of strided inputs and writing
// a (usually contiguous) output. Elementwise ops, casts, copies, fills, pad and concat all use it.
import type { DType } from '../../../tensor/dtype.js';
import type { Shape } from '../../../tensor/shape.js';
import { contiguousStrides, sizeOf } from '../../../tensor/shape.js';
import type { View } from '../../backend.js';
import type { WgslScalar } from '../../elementwise-ops.js';
import type { GpuContext } from '../context.js';
import { checkRank, coalesce, isContiguous } from '../layout.js';
import type { WebGpuStorage } from '../storage.js';
import { cachedSource } from '../source-cache.js';
import {
  coordsFromIndex,
  dim,
  indent,
  kernelSource,
  storageBinding,
  stridedOffset,
  threadPerItemEntry,
  type UniformLayout,
  uniformLayoutOf,
  type UniformType,
  type UniformValues,
  wgslScalar,
} from '../wgsl.js';

export const MAP_WORKGROUP_SIZE = 64;

export interface StridedMapSpec {
  /** Kernel name for errors and labels, e.g. `unary:exp`. */
  readonly kernel: string;
  /** The logical iteration shape (the output's shape). */
  readonly shape: Shape;
  readonly inputs: readonly View[];
  /**
   * WGSL expression producing the output scalar from the input loads (`in1[o1]`, ...); `offsets`
   * are the element offsets (`o1`, ...) for kernels that index an input themselves.
   */
  readonly expr: (loads: string[], offsets: string[]) => string;
  /** Helper functions the expression needs. */
  readonly prelude?: string;
  /** Extra uniform scalars the expression reads as `p.<name>`. */
  readonly uniforms?: Record<string, { readonly type: UniformType; readonly value: number }>;
}

/** Where the map writes: fresh contiguous storage by default, or a strided window of existing storage. */
export interface MapTarget {
  readonly storage: WebGpuStorage;
  readonly strides: readonly number[];
  readonly offset: number;
}

/** Runs the map into fresh contiguous storage of `outDtype`. Size-0 outputs skip the dispatch. */
export function stridedMap(ctx: GpuContext, spec: StridedMapSpec, outDtype: DType): WebGpuStorage {
  const out = ctx.alloc(outDtype, sizeOf(spec.shape));
  stridedMapInto(ctx, spec, { storage: out, strides: contiguousStrides(spec.shape), offset: 0 });
  return out;
}

/**
 * How one operand is read when a thread maps 4 consecutive innermost elements: as one vec4 load
 * ('vec': unit inner stride, 4-aligned offset and outer strides), one scalar for all 4 ('splat':
 * inner stride 0, a broadcast), or 4 scalar loads ('gather').
 */
type LaneRead = 'vec' | 'splat' | 'gather';

/** Elements per thread in the vectorized map. */
const LANES = 4;

/**
 * The 4-wide map's plan: 'rows' when the innermost (coalesced) dimension is a multiple of 4, so a
 * thread's 4 elements share every coordinate but the last; 'flat' when only the element count is,
 * so a thread's 4 consecutive elements may run past the end of a row (the face ResNet's 35x35
 * maps: a per-channel scale broadcast over 1225 pixels). Flat needs a contiguous, aligned target;
 * its broadcast and strided operands take the 'rows' reads when a thread's elements lie in one row,
 * and 4 separately indexed loads when they do not.
 */
interface LanePlan {
  readonly mode: 'rows' | 'flat';
  readonly reads: readonly LaneRead[];
  /** Elements per thread: 4, or 16 (4 vec4s of one row) in the rows plan when some operand is a broadcast. */
  readonly elements: number;
}

/**
 * Elements per thread in the rows plan when an operand is broadcast along the row and rows are a
 * multiple of it: the broadcast loads and the index arithmetic then serve 16 elements, not 4 (the
 * UNet's group-norm affine and time-embedding adds, per-channel values over 32x32 maps).
 */
const BROADCAST_ROW_ELEMENTS = 16;

/**
 * The plan of the 4-wide map, or undefined when it does not apply (the expression indexes inputs
 * itself, or neither plan fits). lavapipe scalarizes every storage load with a bounds check unless
 * it can see the address is the invocation's own, so a vec4 load is ~4x cheaper per element, a
 * splat 4x cheaper than 4 loads, and the index arithmetic runs once per 4 elements.
 */
function lanePlan(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  usesOffsets: boolean,
): LanePlan | undefined {
  const rank = shape.length;
  if (usesOffsets || rank === 0) return undefined;
  const inner = (st: readonly number[]) => st[rank - 1];
  if (shape[rank - 1] % LANES === 0) {
    const read = (st: readonly number[], off: number): LaneRead => {
      if (inner(st) === 0) return 'splat';
      const aligned = inner(st) === 1 && off % LANES === 0 && st.every((x, k) => k === rank - 1 || x % LANES === 0);
      return aligned ? 'vec' : 'gather';
    };
    const reads = strides.map((st, j) => read(st, offsets[j]));
    const elements =
      reads.includes('splat') && shape[rank - 1] % BROADCAST_ROW_ELEMENTS === 0 ? BROADCAST_ROW_ELEMENTS : LANES;
    return reads[0] === 'vec' ? { mode: 'rows', reads, elements } : undefined;
  }
  if (sizeOf(shape) % LANES !== 0) return undefined;
  const read = (st: readonly number[], off: number): LaneRead => {
    if (isContiguous(shape, st) && off % LANES === 0) return 'vec';
    return inner(st) === 0 ? 'splat' : 'gather';
  };
  const reads = strides.map((st, j) => read(st, offsets[j]));
  return reads[0] === 'vec' ? { mode: 'flat', reads, elements: LANES } : undefined;
}

/** Runs the map writing element (i0, i1, ...) to target.offset + sum(i_k * target.strides[k]). */
export function stridedMapInto(ctx: GpuContext, spec: StridedMapSpec, target: MapTarget): void {
  const n = sizeOf(spec.shape);
  if (n === 0) return;
  const operands = [target, ...spec.inputs];
  const merged = coalesce(
    spec.shape,
    operands.map((o) => o.strides),
  );
  const rank = merged.shape.length;
  checkRank(spec.kernel, rank);
  const contiguous = merged.strides.map((s) => isContiguous(merged.shape, s));
  const scalars: WgslScalar[] = [wgslScalar(target.storage.dtype), ...spec.inputs.map((v) => wgslScalar(v.dtype))];
  // The expression over placeholder loads and offsets: whether it indexes inputs itself, and (as
  // generators are templates) what it contributes to the source key.
  const offsetMark = '\u0002';
  const exprShape = spec.expr(
    spec.inputs.map((_, i) => `\u0001${i}\u0001`),
    spec.inputs.map((_, i) => `${offsetMark}${i}${offsetMark}`),
  );
  const usesOffsets = exprShape.includes(offsetMark);
  const plan = lanePlan(
    merged.shape,
    merged.strides,
    operands.map((o) => o.offset),
    usesOffsets,
  );
  const lanes = plan?.reads;

  const perThread = plan?.elements ?? 1;
  const fields: Record<string, UniformType> = { n: 'u32' };
  const values: UniformValues = { n: n / perThread };
  if (contiguous.some((c) => !c)) {
    fields.shape = 'dims';
    values.shape = merged.shape;
  }
  operands.forEach((o, j) => {
    fields[`off${j}`] = 'u32';
    values[`off${j}`] = o.offset;
    if (!contiguous[j]) {
      fields[`st${j}`] = 'dims';
      values[`st${j}`] = merged.strides[j];
    }
    if (lanes?.[j] === 'gather') {
      fields[`inner${j}`] = 'u32';
      values[`inner${j}`] = merged.strides[j][rank - 1];
    }
  });
  for (const [name, u] of Object.entries(spec.uniforms ?? {})) {
    fields[name] = u.type;
    values[name] = u.value;
  }
  const layout = uniformLayoutOf(fields);

  const key = JSON.stringify([
    spec.kernel,
    exprShape,
    spec.prelude ?? '',
    rank,
    contiguous,
    plan ?? null,
    scalars,
    layout.declaration(),
  ]);
  const source = cachedSource(key, () => mapSource(spec, layout, plan, rank, contiguous, scalars));
  ctx.dispatch({
    kernel: plan ? `${spec.kernel}:${plan.mode === 'rows' ? `x${perThread}` : 'x4flat'}` : spec.kernel,
    source,
    uniform: layout.pack(values),
    storage: [ctx.bind(target.storage), ...spec.inputs.map((v) => ctx.bind(v))],
    workgroups: Math.ceil(n / perThread / MAP_WORKGROUP_SIZE),
  });
}

/** The map's WGSL: everything it reads is in stridedMapInto's source key. */
function mapSource(
  spec: StridedMapSpec,
  layout: UniformLayout,
  plan: LanePlan | undefined,
  rank: number,
  contiguous: readonly boolean[],
  scalars: readonly WgslScalar[],
): string {
  const lanes = plan?.reads;
  const perThread = plan?.elements ?? 1;
  const operands = [0, ...spec.inputs.map((_, i) => i + 1)];
  // The element this thread maps first: idx itself, or 4 (16) * idx in the vectorized map.
  const first = lanes ? 'e' : 'idx';
  const offsets = operands.map((_, j) =>
    contiguous[j] ? `p.off${j} + ${first}` : stridedOffset(rank, `st${j}`, `p.off${j}`),
  );
  const body = [
    lanes ? `let e = idx * ${perThread}u;` : '',
    contiguous.some((c) => !c) ? coordsFromIndex(first, rank, 'shape') : '',
    ...offsets.map((expr, j) => `let o${j} = ${expr};`),
    ...(plan
      ? vectorBody(spec, scalars, plan, rank, contiguous)
      : [
          `out0[o0] = ${spec.expr(
            spec.inputs.map((_, i) => `in${i + 1}[o${i + 1}]`),
            spec.inputs.map((_, i) => `o${i + 1}`),
          )};`,
        ]),
  ]
    .filter((l) => l.length > 0)
    .join('\n');
  const binding = (j: number, name: string, access: 'read' | 'read_write'): string =>
    lanes?.[j] === 'vec'
      ? `@group(0) @binding(${j + 1}) var<storage, ${access}> ${name}: array<vec4<${scalars[j]}>>;`
      : storageBinding(j + 1, name, scalars[j], access);
  return kernelSource(
    `// ${spec.kernel}: strided map, rank ${rank}, contiguous operands ` +
      `[${contiguous.join(', ')}]${lanes ? `, ${perThread} elements per thread [${lanes.join(', ')}]` : ''}`,
    spec.prelude ?? '',
    layout.declaration(),
    [binding(0, 'out0', 'read_write'), ...spec.inputs.map((_, i) => binding(i + 1, `in${i + 1}`, 'read'))].join('\n'),
    threadPerItemEntry(MAP_WORKGROUP_SIZE, 'p.n', body),
  );
}

/** The vectorized map's body: the rows plan's or the flat plan's. */
function vectorBody(
  spec: StridedMapSpec,
  scalars: readonly WgslScalar[],
  plan: LanePlan,
  rank: number,
  contiguous: readonly boolean[],
): string[] {
  return plan.mode === 'rows'
    ? rowsBody(spec, scalars, plan.reads, plan.elements / LANES)
    : flatBody(spec, scalars, plan.reads, rank, contiguous);
}

/**
 * The rows plan, `chunks` vec4s of one row per thread (1, or 4 with a broadcast operand): each
 * broadcast operand loaded once as a scalar for all of them, the others chunk by chunk (vec4
 * loads, or 4 gathers at the operand's inner stride); v{j}_{q} is operand j's chunk q.
 */
function rowsBody(
  spec: StridedMapSpec,
  scalars: readonly WgslScalar[],
  lanes: readonly LaneRead[],
  chunks: number,
): string[] {
  const inputs = spec.inputs.map((_, i) => i + 1);
  const qs = Array.from({ length: chunks }, (_, q) => q);
  const load = (j: number, q: number): string => {
    if (lanes[j] === 'vec') return `in${j}[o${j} / ${LANES}u + ${q}u]`;
    const at = (k: number) => `in${j}[o${j} + ${q * LANES + k}u * p.inner${j}]`;
    return `vec4<${scalars[j]}>(${[0, 1, 2, 3].map(at).join(', ')})`;
  };
  const loads = inputs.flatMap((j) =>
    lanes[j] === 'splat' ? [`let v${j} = in${j}[o${j}];`] : qs.map((q) => `let v${j}_${q} = ${load(j, q)};`),
  );
  const lane = (q: number, k: number): string =>
    spec.expr(
      spec.inputs.map((_, i) => (lanes[i + 1] === 'splat' ? `v${i + 1}` : `v${i + 1}_${q}[${k}]`)),
      [],
    );
  return [
    ...loads,
    ...qs.map(
      (q) => `out0[o0 / ${LANES}u + ${q}u] = vec4<${scalars[0]}>(${[0, 1, 2, 3].map((k) => lane(q, k)).join(', ')});`,
    ),
  ];
}

/**
 * The flat plan: loads of each input once (vec4, or a splat or 4 gathers widened to a vec4, since
 * its lanes index every operand), then the scalar expression per lane, stored as one vec4. A thread
 * whose 4 elements cross a row end loads each strided operand's at its own coordinates instead
 * (rare: once per row per thread that straddles it).
 */
function flatBody(
  spec: StridedMapSpec,
  scalars: readonly WgslScalar[],
  lanes: readonly LaneRead[],
  rank: number,
  contiguous: readonly boolean[],
): string[] {
  const inputs = spec.inputs.map((_, i) => i + 1);
  const rowReads = (j: number): string => {
    if (lanes[j] === 'splat') return `vec4<${scalars[j]}>(in${j}[o${j}])`;
    const at = (k: number) => `in${j}[o${j} + ${k}u * p.inner${j}]`;
    return `vec4<${scalars[j]}>(${[0, 1, 2, 3].map(at).join(', ')})`;
  };
  const vecLoads = inputs.filter((j) => lanes[j] === 'vec').map((j) => `let v${j} = in${j}[o${j} / ${LANES}u];`);
  const indexed = inputs.filter((j) => lanes[j] !== 'vec');
  // A contiguous operand's 4 elements are adjacent even across a row end.
  const strided = indexed.filter((j) => !contiguous[j]);
  const otherLoads = [
    ...indexed.filter((j) => !strided.includes(j)).map((j) => `let v${j} = ${rowReads(j)};`),
    ...flatLoads(strided, scalars, rank, rowReads),
  ];
  const lane = (k: number): string =>
    spec.expr(
      spec.inputs.map((_, i) => `v${i + 1}[${k}]`),
      [],
    );
  return [
    ...vecLoads,
    ...otherLoads,
    `out0[o0 / ${LANES}u] = vec4<${scalars[0]}>(${[0, 1, 2, 3].map(lane).join(', ')});`,
  ];
}

/** The flat plan's loads of the operands `indexed` whose elements are not adjacent (see flatBody). */
function flatLoads(
  indexed: readonly number[],
  scalars: readonly WgslScalar[],
  rank: number,
  loaded: (j: number) => string,
): string[] {
  if (indexed.length === 0) return [];
  const last = rank - 1;
  const straddling = [1, 2, 3].flatMap((k) => [
    coordsFromIndex(`e + ${k}u`, rank, 'shape', `w${k}_`),
    ...indexed.map((j) => `let o${j}_${k} = ${stridedOffset(rank, `st${j}`, `p.off${j}`, `w${k}_`)};`),
  ]);
  return [
    ...indexed.map((j) => `var v${j}: vec4<${scalars[j]}>;`),
    `if (c${last} + ${LANES - 1}u < ${dim('shape', last)}) {`,
    ...indexed.map((j) => `  v${j} = ${loaded(j)};`),
    '} else {',
    ...straddling.map((l) => indent(l)),
    ...indexed.map(
      (j) => `  v${j} = vec4<${scalars[j]}>(in${j}[o${j}], ${[1, 2, 3].map((k) => `in${j}[o${j}_${k}]`).join(', ')});`,
    ),
    '}',
  ];
}
