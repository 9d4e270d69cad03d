// Scaled dot-product attention as one primitive: softmax(q k^T * scale) v over the last two axes.
// The composition (a product, a scale, a softmax and a product) ran four kernels with the [N, M]
// scores through memory between them; the primitive is one on the GPU (kernels/webgpu/kernels/
// attention.ts), and its derivatives are the composition's (autograd/attention-rule.ts).
import { isFloat } from '../dtype.js';
import { checkShape, DTypeError, fmtShape, ShapeError } from '../errors.js';
import { bind } from '../primitives.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { requireOptions, requireTensor } from './operand.js';

/**
 * softmax(q k^T * scale) v for q [..., N, d], k [..., M, d], v [..., M, e] with equal leading dims
 * and at least one key: [..., N, e]. `scale` defaults to 1 / sqrt(d) (1 when d is 0).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: { readonly scale?: number } = {}): Tensor {
  const op = 'attention';
  [q, k, v].forEach((t, i) => requireTensor(op, t, ['q', 'k', 'v'][i]));
  requireOptions(op, options, '{ scale: 0.125 }');
  const r = q.rank;
  checkShape(
    r >= 2 && k.rank === r && v.rank === r,
    op,
    () =>
      `q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)} and v ${fmtShape(v.shape)} must share one rank >= 2 ([..., N, d], [..., M, d], [..., M, e]).`,
  );
  const lead = q.shape.slice(0, -2);
  checkShape(
    shapesEqual(k.shape.slice(0, -2), lead) && shapesEqual(v.shape.slice(0, -2), lead),
    op,
    () =>
      `q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)} and v ${fmtShape(v.shape)} must have equal leading dims; broadcast them first.`,
  );
  const [d, m] = [q.shape[r - 1], k.shape[r - 2]];
  checkShape(
    k.shape[r - 1] === d && v.shape[r - 2] === m,
    op,
    () =>
      `k ${fmtShape(k.shape)} must be [..., M, ${d}] (q's width) and v ${fmtShape(v.shape)} [..., M, e] with k's M = ${m}.`,
  );
  checkShape(
    m >= 1,
    op,
    () => `k ${fmtShape(k.shape)} has no keys: softmax over none is undefined; pass at least one.`,
  );
  if (!isFloat(q.dtype) || k.dtype !== q.dtype || v.dtype !== q.dtype)
    throw new DTypeError(
      `${op}: q, k and v must share one float dtype, got ${q.dtype}, ${k.dtype}, ${v.dtype}; cast them first.`,
    );
  const scale = options.scale ?? (d > 0 ? 1 / Math.sqrt(d) : 1);
  if (!Number.isFinite(scale)) throw new ShapeError(`${op}: scale is ${scale}; expected a finite number.`);
  return bind(op, [q, k, v], { scale });
}
