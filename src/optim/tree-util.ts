// Helpers over param trees for the optimizers: zipping trees leaf by leaf, and disposing them.
import { Tensor } from '../tensor/tensor.js';
import { treeLeaves, treeMap } from '../tensor/pytree.js';

/**
 * Disposes every tensor leaf of a tree once (shared leaves are freed once). Optimizers return new
 * tensors and never free their inputs, so the previous params and state are the caller's to free
 * with this (or by running the step inside `scope`).
 */
export function disposeTree(tree: unknown): void {
  for (const t of new Set(treeLeaves(tree))) if (!t.isDisposed) t.dispose();
}

/** Maps `f` over the leaves of `tree` together with the matching leaves of `others` (same structure). */
export function treeZipMap<T>(op: string, tree: T, others: readonly unknown[], f: (x: Tensor, ...ys: Tensor[]) => Tensor): T {
  const leaves = others.map((o) => treeLeaves(o));
  const n = treeLeaves(tree).length;
  for (const [i, ls] of leaves.entries()) {
    if (ls.length !== n) {
      throw new Error(`${op}: tree ${i + 1} has ${ls.length} tensor leaves but the params have ${n}; pass grads and state with the params' structure.`);
    }
  }
  let i = 0;
  return treeMap(tree, (x) => {
    const ys = leaves.map((ls) => ls[i]);
    for (const y of ys) {
      if (y.shape.length !== x.shape.length || y.shape.some((d, k) => d !== x.shape[k])) {
        throw new Error(`${op}: leaf ${i} has shape [${y.shape}] but the param has shape [${x.shape}]; pass grads and state with the params' shapes.`);
      }
    }
    i++;
    return f(x, ...ys);
  });
}
