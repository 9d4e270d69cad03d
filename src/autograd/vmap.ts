// vmap: f written for one example, run on a batch. f runs once on the first example while its
// primitives are recorded; the recording is then replayed on the whole batch through the batching
// rules (batch-rules.ts), one batched op per recorded op. The transforms around vmap see only the
// batched ops; the ones inside f (grad, jvp, vmap) run on the example and are recorded with it.
import { ShapeError, fmtShape } from '../tensor/errors.js';
import { isRetained, scope } from '../tensor/memory.js';
import { alias, broadcastTo, reshape, slice, transpose } from '../tensor/ops/movement.js';
import { observePrimitives, withObservers, type Primitive } from '../tensor/primitives.js';
import { treeLeaves, treeMap } from '../tensor/pytree.js';
import { shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { batchRules, type BatchContext, type BatchRule } from './batch-rules.js';
import { BatchTrace, type TraceEntry } from './batch-trace.js';
import { requireOptions } from '../tensor/ops/operand.js';

/** Where the batch axis is in a tensor (null: not batched), for a whole subtree or per leaf. */
export type AxisSpec = number | null | readonly AxisSpec[] | { readonly [key: string]: AxisSpec };

export interface VmapOptions {
  /**
   * The batch axis of each argument: one spec for all arguments, or an array with one per
   * argument; each a number, null (the argument is shared by every example) or a tree like the
   * argument. Default 0.
   */
  readonly inAxes?: AxisSpec;
  /** Where the batch axis goes in each output (number or tree like the output). Default 0. */
  readonly outAxes?: AxisSpec;
}

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

/**
 * One axis (or null) per tensor leaf of `tree`, in treeLeaves order, from a spec prefix of it;
 * `batched` when the leaves are one example and the axis is the one the batch will take.
 */
function leafAxes(tree: unknown, spec: AxisSpec, name: string, batched = false): (number | null)[] {
  const out: (number | null)[] = [];
  const walk = (t: unknown, s: AxisSpec, path: string): void => {
    if (s === null || typeof s === 'number') {
      for (const x of treeLeaves(t)) {
        const rank = x.rank + (batched ? 1 : 0);
        if (s === null) out.push(null);
        else {
          if (!Number.isInteger(s) || s < -rank || s >= rank) {
            throw new ShapeError(
              `vmap: axis ${s} for ${name}${path} is out of range for its ${batched ? 'batched rank' : `shape ${fmtShape(x.shape)}, rank`} ${rank}; ` +
                `use an axis in ${-rank}..${rank - 1}${batched ? '' : ', or null to share it across the batch'}.`,
            );
          }
          out.push(s < 0 ? s + rank : s);
        }
      }
    } else if (Array.isArray(s) && Array.isArray(t) && s.length === t.length) {
      t.forEach((v, i) => walk(v, s[i], `${path}[${i}]`));
    } else if (isPlainObject(s) && isPlainObject(t) && Object.keys(t).every((k) => k in s)) {
      Object.keys(t).forEach((k) => walk(t[k], (s as Record<string, AxisSpec>)[k], `${path}.${k}`));
    } else {
      throw new ShapeError(
        `vmap: the axis spec ${JSON.stringify(s)} does not fit ` +
          `${name}${path} (${t instanceof Tensor ? `a tensor ${fmtShape(t.shape)}` : Array.isArray(t) ? `an array of ${t.length}` : typeof t}); ` +
          `give a number or null for the whole subtree, or a spec with its structure.`,
      );
    }
  };
  walk(tree, spec, '');
  return out;
}

/** Maps the tensor leaves of `tree` with their index in treeLeaves order. */
function mapLeaves<T>(tree: T, f: (x: Tensor, k: number) => Tensor): T {
  let k = 0;
  return treeMap(tree, (x) => f(x, k++));
}

/** x with axis `from` moved to the front (a view; a fresh handle even when it is already there). */
const toFront = (x: Tensor, from: number): Tensor =>
  from === 0 ? alias(x) : transpose(x, [from, ...[...x.shape.keys()].filter((a) => a !== from)]);

/** x with its front axis moved to axis `at`. */
function fromFront(x: Tensor, at: number): Tensor {
  if (at === 0) return x;
  const rest = [...x.shape.keys()].slice(1);
  return transpose(x, [...rest.slice(0, at), 0, ...rest.slice(at)]);
}

function applyBatchRule<P extends Primitive>(entry: TraceEntry<P>, ctx: BatchContext<P>): Tensor {
  const y = (batchRules[entry.prim] as BatchRule<P>)(ctx);
  const want = [ctx.size, ...entry.output.shape];
  if (!shapesEqual(y.shape, want) || y.dtype !== entry.output.dtype) {
    throw new Error(
      `internal: the batching rule of ${entry.prim} made ${fmtShape(y.shape)} ${y.dtype}; ` +
        `the batch of ${ctx.size} needs ${fmtShape(want)} ${entry.output.dtype}.`,
    );
  }
  // Rules may hand an input back; the replay frees values by handle, so each needs its own.
  return ctx.inputs.includes(y) ? alias(y) : y;
}

/** Replays the recorded ops on the batch, filling `env` (example tensor -> its batched value). */
function replay(trace: BatchTrace, env: Map<Tensor, Tensor>, size: number, keep: ReadonlySet<Tensor>): void {
  const lastUse = new Map<Tensor, number>();
  trace.entries.forEach((e, i) => e.inputs.forEach((x) => trace.dependent.has(x) && lastUse.set(x, i)));
  trace.entries.forEach((e, i) => {
    const batched = e.inputs.map((x) => trace.dependent.has(x));
    const inputs = e.inputs.map((x, j) => (batched[j] ? env.get(x)! : x));
    env.set(e.output, applyBatchRule(e, { inputs, batched, params: e.params, size }));
    // Free batched values after their last use (unless returned, or an outer transform holds them).
    for (const x of e.inputs) {
      if (lastUse.get(x) !== i || keep.has(x)) continue;
      const v = env.get(x)!;
      env.delete(x);
      lastUse.delete(x);
      if (!isRetained(v)) v.dispose();
    }
  });
}

/**
 * vmap(f, {inAxes, outAxes}) maps f over a batch axis of its arguments, returning the results
 * stacked along outAxes: vmap(f)(X) equals stacking f(X[i]) over i. Arguments and results may be
 * pytrees. f runs once on the first example (so it sees one example's shapes; this costs one
 * example's work more than the batch), then every recorded op runs once on the whole batch
 * through its batching rule. Per-sample gradients: vmap(grad(loss), { inAxes: [null, 0] }).
 */
export function vmap<Args extends unknown[], R>(
  f: (...args: Args) => R,
  options: VmapOptions = {},
): (...args: Args) => R {
  requireOptions('vmap', options, '{ inAxes: [0, null], outAxes: 0 }');
  return (...args: Args): R => {
    const inAxes = options.inAxes === undefined ? 0 : options.inAxes;
    if (Array.isArray(inAxes) && inAxes.length !== args.length) {
      throw new ShapeError(
        `vmap: inAxes has ${inAxes.length} entries but f got ${args.length} argument(s); give one per argument (null for shared ones), or one number for all.`,
      );
    }
    const axes = args.flatMap((a, i) =>
      leafAxes(a, Array.isArray(inAxes) ? (inAxes as AxisSpec[])[i] : inAxes, `argument ${i}`),
    );
    const leaves = treeLeaves(args);
    leaves.forEach((x) => x.storage('vmap'));
    const sizes = new Set(leaves.flatMap((x, k) => (axes[k] === null ? [] : [x.shape[axes[k]!]])));
    if (sizes.size === 0) {
      throw new ShapeError(
        'vmap: no argument is batched (inAxes are all null); give the batch axis of at least one argument.',
      );
    }
    if (sizes.size > 1) {
      const described = leaves.flatMap((x, k) =>
        axes[k] === null ? [] : [`${fmtShape(x.shape)} along axis ${axes[k]}`],
      );
      throw new ShapeError(
        `vmap: the batched arguments disagree on the batch size: ${described.join(', ')}. They must all have the same size along their batch axis.`,
      );
    }
    const [size] = sizes;
    if (size === 0)
      throw new ShapeError(
        'vmap: the batch is empty (size 0 along the batch axis); vmap runs f on one example to learn its ops, so it needs at least one.',
      );

    const trace = new BatchTrace();
    try {
      return scope(() => {
        // The batched inputs with the batch in front, made where the transforms around vmap see them.
        const front = leaves.map((x, k) => (axes[k] === null ? null : toFront(x, axes[k]!)));
        // The first example of each, made where no transform sees it (only its shape matters).
        const exampleArgs = withObservers([], () =>
          mapLeaves(args, (x, k) => {
            const b = front[k];
            return b ? reshape(slice(b, [0], [1]), b.shape.slice(1)) : x;
          }),
        );
        const env = new Map<Tensor, Tensor>();
        treeLeaves(exampleArgs).forEach((x, k) => {
          if (front[k]) {
            trace.watch(x);
            env.set(x, front[k]!);
          }
        });
        const exampleOut = observePrimitives(trace.observe, () => f(...exampleArgs));
        const outLeaves = treeLeaves(exampleOut);
        const outAxes = leafAxes(exampleOut, options.outAxes === undefined ? 0 : options.outAxes, 'the output', true);
        replay(trace, env, size, new Set(outLeaves));
        trace.release();
        return mapLeaves(exampleOut, (o, k) => {
          const ax = outAxes[k];
          if (!trace.dependent.has(o)) {
            // Computed without the batched inputs: the same for every example.
            return ax === null ? o : fromFront(broadcastTo(o, [size, ...o.shape]), ax);
          }
          if (ax === null) {
            throw new ShapeError(
              `vmap: output ${k} (example shape ${fmtShape(o.shape)}) depends on the batched inputs but its outAxes is null; give it a batch axis.`,
            );
          }
          return fromFront(env.get(o)!, ax);
        });
      });
    } finally {
      trace.release();
    }
  };
}
