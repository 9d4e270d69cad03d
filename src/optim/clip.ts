// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ (without mutation).
import { add, div, minimum, mul, sqrt, square } from '../tensor/ops/elementwise.js';
import { sum } from '../tensor/ops/reduce.js';
import { scope } from '../tensor/memory.js';
import { treeLeaves, treeMap } from '../tensor/pytree.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Scales every gradient by min(1, maxNorm / (norm + 1e-6)) where norm is the L2 norm of all
 * leaves together (torch's formula). Returns new tensors: the clipped grads and the pre-clip norm
 * (a scalar tensor). The input grads are not freed.
 */
export function clipGradNorm<G>(grads: G, maxNorm: number): { grads: G; norm: Tensor } {
  const leaves = treeLeaves(grads);
  if (leaves.length === 0) throw new Error('clipGradNorm: the gradient tree has no tensor leaves; pass the tree valueAndGrad returned.');
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be positive, got ${maxNorm}.`);
  return scope(() => {
    const norm = sqrt(leaves.map((g) => sum(square(g))).reduce((a, b) => add(a, b)));
    const scale = minimum(div(maxNorm, add(norm, 1e-6)), 1);
    return { grads: treeMap(grads, (g) => mul(g, scale)), norm };
  });
}
