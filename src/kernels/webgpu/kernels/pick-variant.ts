// The tuned choice between variants of a two-operand kernel (matmul, conv2d, convTranspose2d):
// the tuner's measured choice for the problem's shape class, else the op's default. A measurement
// runs every candidate on scratch buffers the size of the operands' extents, off the caller's path.
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import type { WebGpuStorage } from '../storage.js';
import { tunerFor, tuningCandidates } from '../tuning.js';

/** A variant the tuner can time: writes op(a, b) into `out`. */
export interface TunableVariant<P> {
  readonly name: string;
  readonly run: (ctx: GpuContext, a: View, b: View, out: WebGpuStorage, p: P) => void;
  readonly gpuOnly?: boolean;
}

/** What the choice needs besides the operands: the op's key, its usable variants, its default, its output and work. */
export interface VariantQuestion<P, V extends TunableVariant<P>> {
  /** The tuning key (dtype and size buckets: a shape class). */
  readonly shapeClass: string;
  /** The variants that support this problem on this device. */
  readonly supported: readonly V[];
  /** The untuned choice (used until a measurement lands, and when tuning is off). */
  readonly fallback: string;
  readonly outElements: number;
  /** Floating-point operations of one run (sets the tuner's repeats). */
  readonly flops: number;
}

/** Elements a view can touch (offset + the farthest element + 1): the size of a scratch copy. */
export const viewExtent = (v: View): number =>
  v.offset + v.shape.reduce((acc, d, i) => acc + (d - 1) * Math.abs(v.strides[i]), 0) + 1;

/** The name of the variant to run for `p` (see Tuner.choose). */
export function pickVariant<P, V extends TunableVariant<P>>(
  ctx: GpuContext,
  a: View,
  b: View,
  p: P,
  q: VariantQuestion<P, V>,
): string {
  const candidates = tuningCandidates(ctx.gpu.adapterDescription, q.supported, q.fallback);
  return tunerFor(ctx).choose(
    q.shapeClass,
    candidates.map((v) => v.name),
    q.fallback,
    () => {
      const sa = ctx.alloc(a.dtype, viewExtent(a));
      const sb = ctx.alloc(b.dtype, viewExtent(b));
      const out = ctx.alloc(a.dtype, q.outElements);
      const va = { ...a, storage: sa };
      const vb = { ...b, storage: sb };
      return {
        candidates: candidates.map((v) => ({ name: v.name, record: () => v.run(ctx, va, vb, out, p) })),
        flops: q.flops,
        cleanup: () => [sa, sb, out].forEach((s) => ctx.release(s)),
      };
    },
  );
}
