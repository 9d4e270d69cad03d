// Pytrees: nested arrays and plain records whose leaves are tensors (param trees, results).
import { Tensor } from './tensor.js';

/** A nested structure of arrays and plain objects with leaves of type L. */
export type Tree<L> = L | readonly Tree<L>[] | { readonly [key: string]: Tree<L> };

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

/** Every Tensor in a tree, depth first, in key order of insertion. Non-tensor leaves are skipped. */
export function treeLeaves(tree: unknown, out: Tensor[] = []): Tensor[] {
  if (tree instanceof Tensor) out.push(tree);
  else if (Array.isArray(tree)) for (const x of tree) treeLeaves(x, out);
  else if (isPlainObject(tree)) for (const k of Object.keys(tree)) treeLeaves(tree[k], out);
  return out;
}

/** Maps every Tensor leaf of a tree, keeping its structure (non-tensor leaves pass through). */
export function treeMap<T>(tree: T, f: (t: Tensor) => Tensor): T {
  if (tree instanceof Tensor) return f(tree) as T;
  if (Array.isArray(tree)) return tree.map((x) => treeMap(x, f)) as T;
  if (isPlainObject(tree)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(tree)) out[k] = treeMap(tree[k], f);
    return out as T;
  }
  return tree;
}
