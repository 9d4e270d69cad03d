// Batched matrix multiplication with NumPy matmul rules (1-D promotion, batch broadcasting).
import { promoteTypes, toFloat } from '../dtype.js';
import { checkShape, fmtShape } from '../errors.js';
import { scope } from '../memory.js';
import { bind } from '../primitives.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { broadcastView, cast } from './elementwise.js';
import { expandDims, reshape } from './movement.js';
import { requireTensor } from './operand.js';

/**
 * a @ b. a [..., M, K] and b [..., K, N] give [..., M, N] with batch dims broadcast; a 1-D
 * operand is treated as a row (a) or column (b) vector and that dim is dropped from the result.
 * Integer operands are computed in float32. Transposed views are read in place (no copy).
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const op = 'matmul';
  requireTensor(op, a, 'a');
  requireTensor(op, b, 'b');
  checkShape(
    a.rank >= 1 && b.rank >= 1,
    op,
    () => `operands must be at least 1-D, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}; use mul for scalars.`,
  );
  return scope(() => {
    const a2 = a.rank === 1 ? expandDims(a, 0) : a;
    const b2 = b.rank === 1 ? expandDims(b, 1) : b;
    const k = a2.shape[a2.rank - 1];
    checkShape(
      b2.shape[b2.rank - 2] === k,
      op,
      () =>
        `inner dims differ: a ${fmtShape(a.shape)} has K = ${k} but b ${fmtShape(b.shape)} has K = ${b2.shape[b2.rank - 2]}. ` +
        `a's last dim must equal b's second-to-last (transpose one operand?).`,
    );
    const batch = broadcastShapes(op, a2.shape.slice(0, -2), b2.shape.slice(0, -2));
    const dtype = toFloat(promoteTypes(a.dtype, b.dtype));
    const m = a2.shape[a2.rank - 2];
    const n = b2.shape[b2.rank - 1];
    const out = bind(
      op,
      [broadcastView(cast(a2, dtype), [...batch, m, k]), broadcastView(cast(b2, dtype), [...batch, k, n])],
      {},
    );
    const shape = [...batch, ...(a.rank === 1 ? [] : [m]), ...(b.rank === 1 ? [] : [n])];
    return out.rank === shape.length ? out : reshape(out, shape);
  });
}
