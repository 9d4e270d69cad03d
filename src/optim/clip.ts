// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ (without mutation).
import { add, div, minimum, mul, sqrt, square } from '../tensor/ops/elementwise.js';
import { sum } from '../tensor/ops/reduce.js';
import { scope } from '../tensor/memory.js';
import { treeLeaves } from '../tensor/pytree.js';
import { packedZipMap } from './tree-util.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Scales every gradient by min(1, maxNorm / (norm + 1e-6)) where norm is the L2 norm of all
 * leaves together (torch's formula). Returns new tensors: the clipped grads and the pre-clip norm
 * (a scalar tensor). The input grads are not freed.
 */
export function clipGradNorm<G>(grads: G, maxNorm: number): { grads: G; norm: Tensor } {
  const leaves = treeLeaves(grads);
  if (leaves.length === 0)
    throw new Error('clipGradNorm: the gradient tree has no tensor leaves; pass the tree valueAndGrad returned.');
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be positive, got ${maxNorm}.`);
  return scope(() => {
    // All leaves packed into one flat tensor per backend and dtype: a few kernels for the tree.
    // The second packing is a view of the first's flat tensors.
    const squares: Tensor[] = [];
    const [packed] = packedZipMap('clipGradNorm', [grads], 1, ([g]) => {
      squares.push(sum(square(g)));
      return [g];
    });
    const norm = sqrt(squares.reduce((a, b) => add(a, b)));
    const scale = minimum(div(maxNorm, add(norm, 1e-6)), 1);
    const [clipped] = packedZipMap('clipGradNorm', [packed], 1, ([g]) => [mul(g, scale)]);
    return { grads: clipped, norm };
  });
}
