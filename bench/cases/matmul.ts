// Matmul rows: square, skinny (outer-product shaped) and batched.
import * as T from '../../src/index.js';
import type { BenchCase } from '../case.js';

/** [batch x] [m, k] @ [k, n]; batch 1 means plain 2-D operands. */
export function matmulCase(m: number, k: number, n: number, batch = 1): BenchCase {
  const lead = batch > 1 ? [batch] : [];
  const shape = `${batch > 1 ? `${batch}x` : ''}[${m},${k}]@[${k},${n}]`;
  const op = batch > 1 ? 'batched matmul' : 'matmul';
  return {
    id: `${op} ${shape}`,
    op,
    shape,
    work: { kind: 'flops', amount: 2 * batch * m * k * n },
    inputs: [{ shape: [...lead, m, k] }, { shape: [...lead, k, n] }],
    outputs: [{}],
    ours: ([a, b]) => [T.matmul(a, b)],
    tfjs: (tf, [a, b]) => [tf.matMul(a, b)],
    torch: { kind: 'matmul', batch, m, k, n },
  };
}

/** n^3 square matmul. */
export const squareMatmulCase = (n: number): BenchCase => matmulCase(n, n, n);
