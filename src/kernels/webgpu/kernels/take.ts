// take: gathers entries of x along one axis at int32 indices (NumPy `take` layout), as a strided map.
import { sizeOf } from '../../../tensor/shape.js';
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import type { WebGpuStorage } from '../storage.js';
import { stridedMap } from './strided-map.js';

// Negative indices wrap once (-1 is the last entry), then everything is clamped into range.
const pickIndexWgsl = `fn pick_index(j: i32, n: i32) -> u32 {
  var i = j;
  if (i < 0) { i = i + n; }
  return u32(clamp(i, 0, max(n - 1, 0)));
}`;

/**
 * Output shape x.shape[:axis] ++ indices.shape ++ x.shape[axis+1:]. Over the output dims, x is
 * read through strides that are 0 on the index dims, and indices through strides that are 0
 * elsewhere; the picked index then moves x along `axis`.
 */
export function take(ctx: GpuContext, x: View, indices: View, axis: number): WebGpuStorage {
  const ir = indices.shape.length;
  const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const zeros = (n: number): number[] => new Array<number>(n).fill(0);
  const xStrides = [...x.strides.slice(0, axis), ...zeros(ir), ...x.strides.slice(axis + 1)];
  const idxStrides = [...zeros(axis), ...indices.strides, ...zeros(x.shape.length - axis - 1)];
  const xOverOut: View = { storage: x.storage, dtype: x.dtype, shape: outShape, strides: xStrides, offset: x.offset };
  const idxOverOut: View = {
    storage: indices.storage,
    dtype: indices.dtype,
    shape: outShape,
    strides: idxStrides,
    offset: indices.offset,
  };
  if (sizeOf(outShape) === 0) return ctx.alloc(x.dtype, 0);
  return stridedMap(
    ctx,
    {
      kernel: `take:${x.dtype}`,
      shape: outShape,
      inputs: [xOverOut, idxOverOut],
      prelude: pickIndexWgsl,
      uniforms: { n_axis: { type: 'i32', value: x.shape[axis] }, axis_stride: { type: 'u32', value: x.strides[axis] } },
      expr: (loads, [xo]) => `in1[${xo} + pick_index(${loads[1]}, p.n_axis) * p.axis_stride]`,
    },
    x.dtype,
  );
}
