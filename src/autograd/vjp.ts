// vjp: run a function while recording a tape, and return its output with a pullback that maps
// output cotangents to input cotangents.
import { DTypeError } from '../tensor/errors.js';
import { scope } from '../tensor/memory.js';
import { treeLeaves, treeMap } from '../tensor/pytree.js';
import { shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { backward } from './backward.js';
import { recordCall } from './recorded-call.js';
import { registerCompositeTransform } from './composite-transforms.js';

/** Maps cotangents of f's output (same structure as the output) to cotangents of each primal. */
export interface Pullback<Primals extends readonly unknown[], Out> {
  (cotangent: Out): { -readonly [I in keyof Primals]: Primals[I] };
  /** Frees the recorded intermediates now (otherwise they go with the enclosing scope). */
  dispose(): void;
}

/**
 * Evaluates f(...primals) and returns [output, pullback]. Primals and the output may be pytrees
 * (nested arrays and records) of float tensors. The recorded intermediates belong to the scope
 * vjp was called in (or call `pullback.dispose()`).
 */
export function vjp<Primals extends readonly unknown[], Out>(
  f: (...primals: Primals) => Out,
  ...primals: Primals
): [Out, Pullback<Primals, Out>] {
  const { tape, out, inputs, dispose } = recordCall('vjp', f, primals);
  const outLeaves = treeLeaves(out);
  const inputLeaves = treeLeaves(inputs);

  const pullback = ((cotangent: Out) => {
    const seeds = treeLeaves(cotangent);
    if (seeds.length !== outLeaves.length) {
      throw new DTypeError(
        `vjp pullback: got ${seeds.length} cotangent tensors for ${outLeaves.length} outputs; pass one per output, same structure.`,
      );
    }
    seeds.forEach((s, i) => {
      if (!(s instanceof Tensor) || !shapesEqual(s.shape, outLeaves[i].shape)) {
        throw new DTypeError(
          `vjp pullback: cotangent ${i} has shape [${s.shape}] but output ${i} has shape [${outLeaves[i].shape}]; they must match.`,
        );
      }
      if (s.dtype !== outLeaves[i].dtype) {
        throw new DTypeError(
          `vjp pullback: cotangent ${i} is ${s.dtype} but output ${i} is ${outLeaves[i].dtype}; ` +
            `pass a cotangent of the output's dtype (cast(ct, '${outLeaves[i].dtype}')).`,
        );
      }
    });
    const grads = scope(() => backward(tape, outLeaves, seeds, inputLeaves));
    let k = 0;
    return primals.map((p) => treeMap(p, () => grads[k++])) as unknown as {
      -readonly [I in keyof Primals]: Primals[I];
    };
  }) as Pullback<Primals, Out>;
  pullback.dispose = dispose;
  return [out, pullback];
}

registerCompositeTransform('pullback', (f, inputs, cotangent) => {
  const [, pullback] = vjp(f, ...(inputs as [Tensor, Tensor, Tensor, Tensor]));
  return pullback(cotangent);
});
