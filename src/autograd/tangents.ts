// Forward mode's state: the tangent of every tensor that depends on the perturbed inputs, filled
// in op by op by the JVP rules as the primal computation runs (dual numbers, kept beside the
// tensors instead of inside them).
import { fmtShape } from '../tensor/errors.js';
import { isFloat } from '../tensor/dtype.js';
import { retain, unretain } from '../tensor/memory.js';
import {
  notifyOutside,
  observeOutside,
  type Primitive,
  type PrimitiveObserver,
  type PrimitiveParams,
} from '../tensor/primitives.js';
import { shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { jvpRules, type JvpRule } from './jvp-rules.js';

/** Applies P's JVP rule and checks the tangent it made has the output's shape and dtype. */
export function applyJvpRule<P extends Primitive>(
  prim: P,
  inputs: readonly Tensor[],
  params: PrimitiveParams[P],
  output: Tensor,
  tangents: readonly (Tensor | null)[],
): Tensor | null {
  const t = (jvpRules[prim] as JvpRule<P>)({ inputs, params, output }, tangents);
  if (t && (!shapesEqual(t.shape, output.shape) || t.dtype !== output.dtype)) {
    throw new Error(
      `internal: the JVP rule of ${prim} made a tangent of shape ${fmtShape(t.shape)} ${t.dtype} for ` +
        `an output of shape ${fmtShape(output.shape)} ${output.dtype}.`,
    );
  }
  return t;
}

export class Tangents {
  private readonly map = new Map<Tensor, Tensor>();
  private readonly held: Tensor[] = [];
  private closed = false;

  /** The tangent of x, or null when it is zero (x does not depend on the perturbed inputs). */
  get(x: Tensor): Tensor | null {
    return this.map.get(x) ?? null;
  }

  /** Sets x's tangent; `own` tangents (made by rules) are shielded from scopes until release. */
  set(x: Tensor, t: Tensor, own = true): void {
    this.map.set(x, t);
    if (own) {
      retain(t);
      this.held.push(t);
    }
  }

  /**
   * The observer that runs each op's JVP rule while the function runs. The transforms outside
   * this one see the op first, then the rule's ops; nested ones see neither (JAX's levels).
   */
  readonly observe: PrimitiveObserver = (prim, inputs, params, output) => {
    if (this.closed || !isFloat(output.dtype)) return;
    let perturbed = false;
    for (const x of inputs) if (this.map.has(x)) perturbed = true;
    if (!perturbed) return;
    notifyOutside(this.observe, prim, inputs, params, output);
    const t = observeOutside(this.observe, () =>
      applyJvpRule(
        prim,
        inputs,
        params,
        output,
        inputs.map((x) => this.get(x)),
      ),
    );
    if (t) this.set(output, t);
    return true;
  };

  /** Stops shielding the tangents: each then belongs to the scope it has reached. Idempotent. */
  release(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.held) unretain(t);
    this.held.length = 0;
  }
}
