// Elementwise kernels generated from the op table (unary, binary), plus where, cast, copy and fill.
// unary, binary, where and cast are recorded lazily and fused into chains (see ../fusion.ts).
import type { DType } from '../../../tensor/dtype.js';
import type { Shape } from '../../../tensor/shape.js';
import type { View } from '../../backend.js';
import {
  type BinaryOp,
  binaryOps,
  type ElementwiseSpec,
  type UnaryOp,
  unaryOps,
  type WgslScalar,
} from '../../elementwise-ops.js';
import type { GpuContext } from '../context.js';
import type { WebGpuStorage } from '../storage.js';
import { wgslScalar } from '../wgsl.js';
import { stridedMap } from './strided-map.js';
import { fuseElementwise } from '../fusion.js';

/**
 * f32 -> i32 as the CPU's cast rules: truncate toward zero, saturate at the i32 range, NaN -> 0.
 * (WGSL leaves NaN unspecified; lavapipe gives i32 min.)
 */
const f32ToI32Wgsl = `fn f32_to_i32(v: f32) -> i32 {
  if ((bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u) { return 0i; }
  if (v >= 2147483648.0) { return 2147483647i; }
  if (v <= -2147483648.0) { return i32(-2147483647) - 1i; }
  return i32(v);
}`;

/** WGSL converting expression `x` of scalar `from` to scalar `to` (u32 stands for bool 0/1), with its helper. */
export function convertScalar(x: string, from: WgslScalar, to: WgslScalar): { expr: string; prelude?: string } {
  if (from === to) return { expr: x };
  // Nonzero is true, NaN included as in the CPU's store rules. For f32 this tests the bits: lavapipe
  // folds NaN != 0 to false. Shifting out the sign bit makes -0 false too.
  if (to === 'u32' && from === 'f32') return { expr: `select(0u, 1u, (bitcast<u32>(${x}) << 1u) != 0u)` };
  if (to === 'u32') return { expr: `select(0u, 1u, ${x} != ${from}(0))` };
  if (from === 'f32' && to === 'i32') return { expr: `f32_to_i32(${x})`, prelude: f32ToI32Wgsl };
  return { expr: `${to}(${x})` };
}

export function unary(ctx: GpuContext, op: UnaryOp, x: View): WebGpuStorage {
  const spec: ElementwiseSpec<1> = unaryOps[op];
  const t = wgslScalar(x.dtype);
  return fuseElementwise(ctx, {
    name: `${op}:${x.dtype}`,
    shape: x.shape,
    operands: [x],
    render: ([a]) => spec.wgsl([a], t),
    prelude: spec.wgslPrelude,
    outDtype: spec.result === 'bool' ? 'bool' : x.dtype,
  });
}

export function binary(ctx: GpuContext, op: BinaryOp, a: View, b: View): WebGpuStorage {
  const spec: ElementwiseSpec<2> = binaryOps[op];
  const t = wgslScalar(a.dtype);
  return fuseElementwise(ctx, {
    name: `${op}:${a.dtype}`,
    shape: a.shape,
    operands: [a, b],
    render: ([x, y]) => spec.wgsl([x, y], t),
    prelude: spec.wgslPrelude,
    outDtype: spec.result === 'bool' ? 'bool' : a.dtype,
  });
}

export function where(ctx: GpuContext, cond: View, a: View, b: View): WebGpuStorage {
  return fuseElementwise(ctx, {
    name: `where:${a.dtype}`,
    shape: a.shape,
    operands: [cond, a, b],
    render: ([c, x, y]) => `select(${y}, ${x}, ${c} != 0u)`,
    outDtype: a.dtype,
  });
}

export function cast(ctx: GpuContext, x: View, dtype: DType): WebGpuStorage {
  const from = wgslScalar(x.dtype);
  const to = wgslScalar(dtype);
  return fuseElementwise(ctx, {
    name: `cast:${x.dtype}->${dtype}`,
    shape: x.shape,
    operands: [x],
    render: ([v]) => convertScalar(v, from, to).expr,
    prelude: convertScalar('x', from, to).prelude,
    outDtype: dtype,
  });
}

export function copy(ctx: GpuContext, x: View): WebGpuStorage {
  return stridedMap(ctx, { kernel: `copy:${x.dtype}`, shape: x.shape, inputs: [x], expr: ([v]) => v }, x.dtype);
}

/** The uniform type and bits that carry a fill value of `dtype`. */
export function scalarUniform(value: number, dtype: DType): { type: 'f32' | 'i32' | 'u32'; value: number } {
  const t = wgslScalar(dtype);
  // As the CPU's store rules: nonzero (NaN included) is true; int32 truncates and wraps.
  if (t === 'u32') return { type: 'u32', value: value !== 0 ? 1 : 0 };
  return { type: t, value };
}

export function fill(ctx: GpuContext, shape: Shape, value: number, dtype: DType): WebGpuStorage {
  return stridedMap(
    ctx,
    {
      kernel: `fill:${dtype}`,
      shape,
      inputs: [],
      expr: () => 'p.value',
      uniforms: { value: scalarUniform(value, dtype) },
    },
    dtype,
  );
}
