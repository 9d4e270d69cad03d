// f(...primals) run once on a fresh tape, for the transforms that replay the tape later: vjp's
// pullback walks it backwards, linearize's linear map forwards.
import { scope } from '../tensor/memory.js';
import { alias } from '../tensor/ops/movement.js';
import { observePrimitives } from '../tensor/primitives.js';
import { treeLeaves, treeMap } from '../tensor/pytree.js';
import { peekNextTensorId } from '../tensor/tensor.js';
import { Tape } from './tape.js';
import { requireDifferentiable } from './validate.js';

export interface RecordedCall<Primals extends readonly unknown[], Out> {
  readonly tape: Tape;
  readonly out: Out;
  /** Fresh handles on the primals, watched by the tape (so it tracks exactly these uses of them). */
  readonly inputs: Primals;
  /** Frees what the call made (its intermediates and the handles); closed-over tensors and the outputs stay the caller's. */
  readonly dispose: () => void;
}

/** Runs f on fresh handles of `primals` while `op`'s tape records it (each primal checked to be differentiable). */
export function recordCall<Primals extends readonly unknown[], Out>(
  op: string,
  f: (...primals: Primals) => Out,
  primals: Primals,
): RecordedCall<Primals, Out> {
  primals.forEach((p, i) => requireDifferentiable(op, p, `primal ${i}`));
  const tape = new Tape();
  const firstId = peekNextTensorId();
  let inputs!: Primals;
  const out = scope(() => {
    inputs = primals.map((p) => treeMap(p, alias)) as unknown as Primals;
    treeLeaves(inputs).forEach((x) => tape.watch(x));
    return observePrimitives(tape.record, () => f(...inputs));
  });
  // The tape's tensors now sit in the caller's scope; stop shielding them from it.
  tape.release();
  const dispose = () => {
    const keep = new Set(treeLeaves(out));
    for (const e of tape.entries) {
      for (const t of [...e.inputs, e.output]) if (t.id >= firstId && !keep.has(t)) t.dispose();
    }
    treeLeaves(inputs).forEach((t) => t.dispose());
  };
  return { tape, out, inputs, dispose };
}
