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
import {
  coordsFromIndex,
  kernelSource,
  storageBinding,
  stridedOffset,
  threadPerItemEntry,
  UniformLayout,
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

/** Runs the map writing element (i0, i1, ...) to target.offset + sum(i_k * target.strides[k]). */
export function stridedMapInto(ctx: GpuContext, spec: StridedMapSpec, target: MapTarget): void {
  const n = sizeOf(spec.shape);
  if (n === 0) return;
  const operands = [target, ...spec.inputs];
  const merged = coalesce(spec.shape, operands.map((o) => o.strides));
  const rank = merged.shape.length;
  checkRank(spec.kernel, rank);
  const contiguous = merged.strides.map((s) => isContiguous(merged.shape, s));
  const scalars: WgslScalar[] = [wgslScalar(target.storage.dtype), ...spec.inputs.map((v) => wgslScalar(v.dtype))];

  const fields: Record<string, UniformType> = { n: 'u32' };
  const values: UniformValues = { n };
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
  });
  for (const [name, u] of Object.entries(spec.uniforms ?? {})) {
    fields[name] = u.type;
    values[name] = u.value;
  }
  const layout = new UniformLayout(fields);

  const offsets = operands.map((_, j) => (contiguous[j] ? `p.off${j} + idx` : stridedOffset(rank, `st${j}`, `p.off${j}`)));
  const loads = spec.inputs.map((_, i) => `in${i + 1}[o${i + 1}]`);
  const body = [
    contiguous.some((c) => !c) ? coordsFromIndex('idx', rank, 'shape') : '',
    ...offsets.map((expr, j) => `let o${j} = ${expr};`),
    `out0[o0] = ${spec.expr(loads, spec.inputs.map((_, i) => `o${i + 1}`))};`,
  ]
    .filter((l) => l.length > 0)
    .join('\n');
  const source = kernelSource(
    `// ${spec.kernel}: strided map, rank ${rank}, contiguous operands [${contiguous.join(', ')}]`,
    spec.prelude ?? '',
    layout.declaration(),
    [
      storageBinding(1, 'out0', scalars[0], 'read_write'),
      ...spec.inputs.map((_, i) => storageBinding(i + 2, `in${i + 1}`, scalars[i + 1], 'read')),
    ].join('\n'),
    threadPerItemEntry(MAP_WORKGROUP_SIZE, 'p.n', body),
  );
  ctx.dispatch({
    kernel: spec.kernel,
    source,
    uniform: layout.pack(values),
    storage: [ctx.bind(target.storage), ...spec.inputs.map((v) => ctx.bind(v))],
    workgroups: Math.ceil(n / MAP_WORKGROUP_SIZE),
  });
}
