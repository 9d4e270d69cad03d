// Pytrees: nested arrays and plain records whose leaves are tensors (param trees, results).
import { Tensor } from './tensor.js';
import { ArgumentError } from './errors.js';

/** A nested structure of arrays and plain objects with leaves of type L. */
export type Tree<L> = L | readonly Tree<L>[] | { readonly [key: string]: Tree<L> };

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

/**
 * Runs `walk` inside `node` (an array or record) with `node` on the path of ancestors: meeting it
 * again below itself is a cycle, which would recurse forever. Shared (non-cyclic) subtrees are fine.
 */
function within<R>(op: string, ancestors: Set<object>, node: object, walk: () => R): R {
  if (ancestors.has(node))
    throw new ArgumentError(
      `${op}: the tree contains itself (an array or record refers back to an enclosing one); trees of tensors must be finite.`,
    );
  ancestors.add(node);
  try {
    return walk();
  } finally {
    ancestors.delete(node);
  }
}

/** Every Tensor in a tree, depth first, in key order of insertion. Non-tensor leaves are skipped. */
export function treeLeaves(tree: unknown, out: Tensor[] = [], ancestors = new Set<object>()): Tensor[] {
  if (tree instanceof Tensor) out.push(tree);
  else if (Array.isArray(tree))
    within('treeLeaves', ancestors, tree, () => tree.forEach((x) => treeLeaves(x, out, ancestors)));
  else if (isPlainObject(tree))
    within('treeLeaves', ancestors, tree, () => Object.keys(tree).forEach((k) => treeLeaves(tree[k], out, ancestors)));
  return out;
}

/** Maps every Tensor leaf of a tree, keeping its structure (non-tensor leaves pass through). */
export function treeMap<T>(tree: T, f: (t: Tensor) => Tensor, ancestors = new Set<object>()): T {
  if (tree instanceof Tensor) return f(tree) as T;
  if (Array.isArray(tree))
    return within('treeMap', ancestors, tree, () => tree.map((x) => treeMap(x, f, ancestors))) as T;
  if (isPlainObject(tree)) {
    return within('treeMap', ancestors, tree, () => {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(tree)) out[k] = treeMap(tree[k], f, ancestors);
      return out;
    }) as T;
  }
  return tree;
}
