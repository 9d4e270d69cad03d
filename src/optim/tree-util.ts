// Helpers over param trees for the optimizers: zipping trees leaf by leaf or all leaves at once
// (packed into flat tensors), and disposing them.
import { concat, reshape, slice } from '../tensor/ops/movement.js';
import { Tensor } from '../tensor/tensor.js';
import { treeLeaves, treeMap } from '../tensor/pytree.js';
import { dispose } from '../tensor/memory.js';

/**
 * Disposes every tensor leaf of a tree once (shared leaves are freed once). Optimizers return new
 * tensors and never free their inputs, so the previous params and state are the caller's to free
 * with this (or by running the step inside `scope`).
 */
export const disposeTree = (tree: unknown): void => dispose(tree);

/** The leaves of `tree` and of each of `others`, checked to match it leaf for leaf in count and shape. */
function matchingLeaves(op: string, tree: unknown, others: readonly unknown[]): Tensor[][] {
  const xs = treeLeaves(tree);
  const leaves = others.map((o) => treeLeaves(o));
  for (const [i, ls] of leaves.entries()) {
    if (ls.length !== xs.length) {
      throw new Error(
        `${op}: tree ${i + 1} has ${ls.length} tensor leaves but the params have ${xs.length}; pass grads and state with the params' structure.`,
      );
    }
  }
  xs.forEach((x, i) => {
    for (const ls of leaves) {
      const y = ls[i];
      if (y.shape.length !== x.shape.length || y.shape.some((d, k) => d !== x.shape[k])) {
        throw new Error(
          `${op}: leaf ${i} has shape [${y.shape}] but the param has shape [${x.shape}]; pass grads and state with the params' shapes.`,
        );
      }
    }
  });
  return [xs, ...leaves];
}

/** `tree` with its tensor leaves replaced, in order, by `leaves`. */
const withLeaves = <T>(tree: T, leaves: readonly Tensor[]): T => {
  let i = 0;
  return treeMap(tree, () => leaves[i++]);
};

/** Maps `f` over the leaves of `tree` together with the matching leaves of `others` (same structure). */
export function treeZipMap<T>(
  op: string,
  tree: T,
  others: readonly unknown[],
  f: (x: Tensor, ...ys: Tensor[]) => Tensor,
): T {
  const [xs, ...leaves] = matchingLeaves(op, tree, others);
  return withLeaves(
    tree,
    xs.map((x, i) => f(x, ...leaves.map((ls) => ls[i]))),
  );
}

/**
 * The leaves' elements end to end as one 1-D tensor. A view (no copy) when they already lie so in
 * one storage, as the views `unpackLeaves` returns do; else one concat.
 */
export const packLeaves = (leaves: readonly Tensor[]): Tensor => concat(leaves.map((l) => reshape(l, [l.size])));

/** Views of the 1-D `flat`, shaped like `like` in order: the inverse of packLeaves. */
export function unpackLeaves(flat: Tensor, like: readonly Tensor[]): Tensor[] {
  let at = 0;
  return like.map((l) => {
    const part = reshape(slice(flat, [at], [at + l.size]), l.shape);
    at += l.size;
    return part;
  });
}

/** Positions of `leaves` grouped by backend and dtype (groups in order of first appearance). */
function groupByKind(leaves: readonly Tensor[]): number[][] {
  const groups = new Map<string, number[]>();
  leaves.forEach((t, i) => {
    const kind = `${t.backend}/${t.dtype}`;
    groups.set(kind, [...(groups.get(kind) ?? []), i]);
  });
  return [...groups.values()];
}

/**
 * A multi-tensor (foreach-style) map over whole trees: the matching leaves of `trees` (checked
 * like treeZipMap's, against trees[0]) are packed into one flat tensor per tree and per backend
 * and dtype of trees[0]'s leaves, `f` maps those flat tensors to `results` flat results, and each
 * comes back as a tree shaped like trees[0] whose leaves are views of it. An elementwise `f` so
 * costs a few kernels for the whole tree instead of a few per leaf. Trees returned by an earlier
 * call pack without a copy. Their leaves share storage: it is freed when the last is disposed.
 */
export function packedZipMap<T>(
  op: string,
  trees: readonly [T, ...unknown[]],
  results: number,
  f: (flats: Tensor[]) => readonly Tensor[],
): T[] {
  const leaves = matchingLeaves(op, trees[0], trees.slice(1));
  const outs = Array.from({ length: results }, () => new Array<Tensor>(leaves[0].length));
  for (const group of groupByKind(leaves[0])) {
    f(leaves.map((ls) => packLeaves(group.map((i) => ls[i])))).forEach((flat, r) => {
      unpackLeaves(
        flat,
        group.map((i) => leaves[0][i]),
      ).forEach((view, k) => (outs[r][group[k]] = view));
    });
  }
  return outs.map((ls) => withLeaves(trees[0], ls));
}
