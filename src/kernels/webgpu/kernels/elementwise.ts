// Elementwise kernels generated from the op table (unary, binary), plus where, cast, copy and fill.
import type { DType } from '../../../tensor/dtype.js';
import type { Shape } from '../../../tensor/shape.js';
import type { View } from '../../backend.js';
import { type BinaryOp, binaryOps, type ElementwiseSpec, type UnaryOp, unaryOps, type WgslScalar } from '../../elementwise-ops.js';
import type { GpuContext } from '../context.js';
import type { WebGpuStorage } from '../storage.js';
import { wgslScalar } from '../wgsl.js';
import { stridedMap } from './strided-map.js';

/** WGSL converting expression `x` of scalar `from` to scalar `to` (u32 stands for bool 0/1). */
export function convertScalar(x: string, from: WgslScalar, to: WgslScalar): string {
  if (from === to) return x;
  if (to === 'u32') return `select(0u, 1u, ${x} != ${from}(0))`;
  return `${to}(${x})`;
}

export function unary(ctx: GpuContext, op: UnaryOp, x: View): WebGpuStorage {
  const spec: ElementwiseSpec<1> = unaryOps[op];
  const t = wgslScalar(x.dtype);
  const outDtype: DType = spec.result === 'bool' ? 'bool' : x.dtype;
  return stridedMap(
    ctx,
    {
      kernel: `unary:${op}:${x.dtype}`,
      shape: x.shape,
      inputs: [x],
      expr: ([a]) => spec.wgsl([a], t),
      prelude: spec.wgslPrelude,
    },
    outDtype,
  );
}

export function binary(ctx: GpuContext, op: BinaryOp, a: View, b: View): WebGpuStorage {
  const spec: ElementwiseSpec<2> = binaryOps[op];
  const t = wgslScalar(a.dtype);
  const outDtype: DType = spec.result === 'bool' ? 'bool' : a.dtype;
  return stridedMap(
    ctx,
    {
      kernel: `binary:${op}:${a.dtype}`,
      shape: a.shape,
      inputs: [a, b],
      expr: ([x, y]) => spec.wgsl([x, y], t),
      prelude: spec.wgslPrelude,
    },
    outDtype,
  );
}

export function where(ctx: GpuContext, cond: View, a: View, b: View): WebGpuStorage {
  return stridedMap(
    ctx,
    { kernel: `where:${a.dtype}`, shape: a.shape, inputs: [cond, a, b], expr: ([c, x, y]) => `select(${y}, ${x}, ${c} != 0u)` },
    a.dtype,
  );
}

export function cast(ctx: GpuContext, x: View, dtype: DType): WebGpuStorage {
  const from = wgslScalar(x.dtype);
  const to = wgslScalar(dtype);
  return stridedMap(
    ctx,
    { kernel: `cast:${x.dtype}->${dtype}`, shape: x.shape, inputs: [x], expr: ([v]) => convertScalar(v, from, to) },
    dtype,
  );
}

export function copy(ctx: GpuContext, x: View): WebGpuStorage {
  return stridedMap(ctx, { kernel: `copy:${x.dtype}`, shape: x.shape, inputs: [x], expr: ([v]) => v }, x.dtype);
}

/** The uniform type and bits that carry a fill value of `dtype`. */
export function scalarUniform(value: number, dtype: DType): { type: 'f32' | 'i32' | 'u32'; value: number } {
  const t = wgslScalar(dtype);
  if (t === 'u32') return { type: 'u32', value: value ? 1 : 0 };
  return { type: t, value };
}

export function fill(ctx: GpuContext, shape: Shape, value: number, dtype: DType): WebGpuStorage {
  return stridedMap(
    ctx,
    { kernel: `fill:${dtype}`, shape, inputs: [], expr: () => 'p.value', uniforms: { value: scalarUniform(value, dtype) } },
    dtype,
  );
}
