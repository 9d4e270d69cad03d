// vjp and jvp for rules that differentiate a composition of public ops (the fused group
// normalisation's gradient primitives). The rule tables sit below the transforms in the import
// graph (vjp and jvp apply the rules), so vjp.ts and jvp.ts hand themselves over here when they
// load; a rule only runs inside a transform, so both are here by then.
import type { Tensor } from '../tensor/tensor.js';

type Map4 = (a: Tensor, b: Tensor, c: Tensor, d: Tensor) => Tensor;

export interface CompositeTransforms {
  /** The cotangents of f's four inputs at `inputs` for the output cotangent. */
  readonly pullback: (f: Map4, inputs: readonly Tensor[], cotangent: Tensor) => Tensor[];
  /** The tangent of f's output at `inputs` along `tangents`. */
  readonly pushforward: (f: Map4, inputs: readonly Tensor[], tangents: readonly Tensor[]) => Tensor;
}

let registered: Partial<{ -readonly [K in keyof CompositeTransforms]: CompositeTransforms[K] }> = {};

/** Called by vjp.ts and jvp.ts as they load. */
export function registerCompositeTransform<K extends keyof CompositeTransforms>(
  name: K,
  transform: CompositeTransforms[K],
): void {
  registered = { ...registered, [name]: transform };
}

/** The transform `name`; throws if its module never loaded (a rule outside any transform). */
export function compositeTransform<K extends keyof CompositeTransforms>(name: K): CompositeTransforms[K] {
  const t = registered[name];
  if (!t) throw new Error(`autograd internal: ${name} is used by a rule but its transform module was not loaded.`);
  return t as CompositeTransforms[K];
}
