// Forward mode: jvp pushes tangents through f alongside its primal values, op by op through the
// JVP rule table; linearize records f once and returns the linear map t -> J t to apply later.
import { DTypeError } from '../tensor/errors.js';
import { scope } from '../tensor/memory.js';
import { zerosLike } from '../tensor/ops/creation.js';
import { alias } from '../tensor/ops/movement.js';
import { observePrimitives } from '../tensor/primitives.js';
import { treeLeaves, treeMap } from '../tensor/pytree.js';
import { peekNextTensorId, type Tensor } from '../tensor/tensor.js';
import { recordCall } from './recorded-call.js';
import { applyJvpRule, Tangents } from './tangents.js';
import { requireDifferentiable, requireTangentsLike } from './validate.js';
import { registerCompositeTransform } from './composite-transforms.js';

function checkPrimalsAndTangents(op: string, primals: readonly unknown[], tangents: readonly unknown[]): void {
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new DTypeError(
      `${op}: primals and tangents must be arrays with one entry per argument of f, e.g. jvp(f, [x], [v]).`,
    );
  }
  if (tangents.length !== primals.length) {
    throw new DTypeError(
      `${op}: got ${primals.length} primals but ${tangents.length} tangents; pass one tangent per primal, same structure.`,
    );
  }
  primals.forEach((p, i) => requireDifferentiable(op, p, `primal ${i}`));
  primals.forEach((p, i) => requireTangentsLike(op, p, tangents[i], `primal ${i}`));
}

/** Each output's tangent: the one computed, zeros when none flowed, a fresh handle on a caller's tensor. */
const outputTangents = <Out>(out: Out, tangentOf: (o: Tensor) => Tensor | null, callerBefore: number): Out =>
  treeMap(out, (o) => {
    const t = tangentOf(o);
    if (!t) return zerosLike(o);
    return t.id < callerBefore ? alias(t) : t;
  });

/**
 * jvp(f, primals, tangents) returns [f(...primals), J t]: the output and its directional
 * derivative along `tangents` (JAX's signature). primals and tangents are arrays with one entry
 * per argument of f; entries and the output may be pytrees of float tensors. Every intermediate
 * is freed before it returns.
 */
export function jvp<Primals extends readonly unknown[], Out>(
  f: (...primals: Primals) => Out,
  primals: Primals,
  tangents: { readonly [I in keyof Primals]: Primals[I] },
): [Out, Out] {
  const op = 'jvp';
  checkPrimalsAndTangents(op, primals, tangents);
  const state = new Tangents();
  const callerBefore = peekNextTensorId();
  try {
    return scope(() => {
      // Fresh handles, so the tangents attach to exactly these uses of the primals.
      const inputs = primals.map((p) => treeMap(p, alias)) as unknown as Primals;
      const seeds = treeLeaves(tangents);
      treeLeaves(inputs).forEach((x, i) => state.set(x, seeds[i], false));
      const out = observePrimitives(state.observe, () => f(...inputs));
      const tangentOut = outputTangents(out, (o) => state.get(o), callerBefore);
      // Unshield before the scope ends, so it frees every tangent but the returned ones.
      state.release();
      return [out, tangentOut] as [Out, Out];
    });
  } finally {
    state.release();
  }
}

/** The linear map of linearize: tangents of the primals (same structure) to the output's tangent. */
export interface Linearized<Primals extends readonly unknown[], Out> {
  (...tangents: { readonly [I in keyof Primals]: Primals[I] }): Out;
  /** Frees the recorded intermediates now (otherwise they go with the enclosing scope). */
  dispose(): void;
}

/**
 * linearize(f, ...primals) returns [f(...primals), fJvp] where fJvp(...tangents) is the JVP at
 * the primals: f runs once, its ops are recorded, and each call replays only the JVP rules. The
 * recorded intermediates belong to the scope linearize was called in (or call fJvp.dispose()).
 */
export function linearize<Primals extends readonly unknown[], Out>(
  f: (...primals: Primals) => Out,
  ...primals: Primals
): [Out, Linearized<Primals, Out>] {
  const { tape, out, inputs, dispose } = recordCall('linearize', f, primals);
  const inputLeaves = treeLeaves(inputs);

  const fJvp = ((...tangents: unknown[]) => {
    checkPrimalsAndTangents('linearize (the returned function)', primals, tangents);
    const callerBefore = peekNextTensorId();
    return scope(() => {
      const tangentOf = new Map<Tensor, Tensor>();
      const seeds = treeLeaves(tangents);
      inputLeaves.forEach((x, i) => tangentOf.set(x, seeds[i]));
      for (const e of tape.entries) {
        const ts = e.inputs.map((x) => tangentOf.get(x) ?? null);
        if (!ts.some((t) => t)) continue;
        const t = applyJvpRule(e.prim, e.inputs, e.params, e.output, ts);
        if (t) tangentOf.set(e.output, t);
      }
      return outputTangents(out, (o) => tangentOf.get(o) ?? null, callerBefore);
    });
  }) as Linearized<Primals, Out>;
  fJvp.dispose = dispose;
  return [out, fJvp];
}

registerCompositeTransform(
  'pushforward',
  (f, inputs, tangents) =>
    jvp(f, inputs as [Tensor, Tensor, Tensor, Tensor], tangents as [Tensor, Tensor, Tensor, Tensor])[1],
);
