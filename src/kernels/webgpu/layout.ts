// Strided-view bookkeeping for kernels: merging dims that are contiguous in every operand, so most
// views index with low rank (often directly), and the checks kernels specialise on.
import type { Shape } from '../../tensor/shape.js';
import { BackendError } from '../../tensor/errors.js';
import { MAX_RANK } from './wgsl.js';

export interface Coalesced {
  readonly shape: number[];
  /** One stride list per operand, aligned with `shape`. */
  readonly strides: number[][];
}

/**
 * Drops size-1 dims and merges neighbours (i, i+1) wherever every operand has
 * strides[i] == strides[i+1] * shape[i+1]. The element order is unchanged, so a linear index
 * over the result visits the same elements in the same order.
 */
export function coalesce(shape: Shape, operandStrides: readonly (readonly number[])[]): Coalesced {
  const outShape: number[] = [];
  const outStrides: number[][] = operandStrides.map(() => []);
  for (let k = 0; k < shape.length; k++) {
    const size = shape[k];
    if (size === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && operandStrides.every((s, j) => outStrides[j][last] === s[k] * size);
    if (mergeable) {
      outShape[last] *= size;
      operandStrides.forEach((s, j) => (outStrides[j][last] = s[k]));
    } else {
      outShape.push(size);
      operandStrides.forEach((s, j) => outStrides[j].push(s[k]));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** The one contiguity rule (tensor/shape.ts), for the kernels that import their layout helpers from here. */
export { isContiguous } from '../../tensor/shape.js';

/**
 * Whether a view's innermost rows are contiguous and start 4-aligned (its offset and every outer
 * stride a multiple of 4), so a kernel can read them as vec4s.
 */
export const rowsAlignedTo4 = (v: { readonly offset: number; readonly strides: readonly number[] }): boolean =>
  v.strides[v.strides.length - 1] === 1 && v.offset % 4 === 0 && v.strides.slice(0, -1).every((s) => s % 4 === 0);

/** Throws a BackendError when a (coalesced) rank exceeds what kernels index. */
export function checkRank(kernel: string, rank: number): void {
  if (rank > MAX_RANK) {
    throw new BackendError(
      `webgpu: ${kernel} got a view of rank ${rank} after merging contiguous dims; kernels index at most rank ${MAX_RANK}. Reshape or copy the operand first.`,
    );
  }
}
