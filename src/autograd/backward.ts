// The reverse sweep: walks a tape from the outputs back, applying each primitive's VJP rule and
// summing cotangents that meet at the same tensor.
import { fmtShape } from '../tensor/errors.js';
import { isRetained } from '../tensor/memory.js';
import { add } from '../tensor/ops/elementwise.js';
import { zerosLike } from '../tensor/ops/creation.js';
import type { Primitive } from '../tensor/primitives.js';
import { shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { inScopePath, scopesTracked } from '../profile/recorder.js';
import { vjpRules, type VjpRule } from './rules.js';
import type { Tape, TapeEntry } from './tape.js';

/** Cotangents of `wrt` given cotangents of `outputs` (zeros where no path connects them). */
export function backward(
  tape: Tape,
  outputs: readonly Tensor[],
  seeds: readonly Tensor[],
  wrt: readonly Tensor[],
): Tensor[] {
  const cotangent = new Map<Tensor, Tensor>();
  // How many map entries share each cotangent tensor (rules such as add pass g to both inputs).
  const uses = new Map<Tensor, number>();
  const setCotangent = (x: Tensor, g: Tensor): void => {
    cotangent.set(x, g);
    uses.set(g, (uses.get(g) ?? 0) + 1);
  };
  const accumulate = (x: Tensor, g: Tensor): void => {
    const prev = cotangent.get(x);
    if (prev) uses.set(prev, uses.get(prev)! - 1);
    setCotangent(x, prev ? add(prev, g) : g);
  };
  outputs.forEach((o, i) => {
    if (tape.tracked.has(o)) accumulate(o, seeds[i]);
  });
  for (let i = tape.entries.length - 1; i >= 0; i--) {
    const entry = tape.entries[i];
    const g = cotangent.get(entry.output);
    if (!g) continue;
    const grads = applyRule(
      entry,
      g,
      entry.inputs.map((x) => tape.tracked.has(x)),
    );
    entry.inputs.forEach((x, j) => {
      const gx = grads[j];
      if (gx && tape.tracked.has(x)) accumulate(x, gx);
    });
    // This output's cotangent is consumed: free it now, unless another tensor's cotangent is the
    // same object, it is a seed, or an outer transform recorded it.
    cotangent.delete(entry.output);
    const left = uses.get(g)! - 1;
    uses.set(g, left);
    if (left === 0 && !isRetained(g) && !seeds.includes(g)) g.dispose();
  }
  return wrt.map((x) => cotangent.get(x) ?? zerosLike(x));
}

function applyRule<P extends Primitive>(
  entry: TapeEntry<P>,
  g: Tensor,
  needs: readonly boolean[],
): readonly (Tensor | null)[] {
  const rule = vjpRules[entry.prim] as VjpRule<P>;
  const run = (): readonly (Tensor | null)[] =>
    rule({ inputs: entry.inputs, params: entry.params, output: entry.output, needs }, g);
  // In a profile (and a jit capture, for its replays'), a rule's kernels show up under its forward
  // op's scope, as '<scope>/backward'.
  const grads = scopesTracked() ? inScopePath(entry.scope ? `${entry.scope}/backward` : 'backward', run) : run();
  grads.forEach((gx, j) => {
    const x = entry.inputs[j];
    if (gx && !shapesEqual(gx.shape, x.shape)) {
      throw new Error(
        `internal: the VJP rule of ${entry.prim} returned a cotangent of shape ${fmtShape(gx.shape)} for input ${j} of shape ${fmtShape(x.shape)}.`,
      );
    }
  });
  return grads;
}
