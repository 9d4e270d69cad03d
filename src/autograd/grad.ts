// grad and valueAndGrad: JAX-style transforms of scalar functions of tensors and pytrees.
import { ArgumentError, DTypeError, fmtShape } from '../tensor/errors.js';
import { isRetained, scope } from '../tensor/memory.js';
import { onesLike } from '../tensor/ops/creation.js';
import { alias } from '../tensor/ops/movement.js';
import { observePrimitives } from '../tensor/primitives.js';
import { treeLeaves, treeMap } from '../tensor/pytree.js';
import { isFloat } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { backward } from './backward.js';
import { Tape } from './tape.js';
import { requireDifferentiable } from './validate.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface GradOptions<A extends Argnums = Argnums, H extends boolean = boolean> {
  /** Which positional arguments to differentiate (default 0); a list gives a tuple of gradients. */
  readonly argnums?: A;
  /** f returns [value, aux]: aux is passed through undifferentiated. */
  readonly hasAux?: H;
}

export type Argnums = number | readonly number[];

/** The gradients' type: shaped like the differentiated argument(s), a tuple for an argnums list. */
export type GradsOf<Args extends readonly unknown[], A extends Argnums> = A extends readonly number[]
  ? { -readonly [K in keyof A]: Args[A[K] & number] }
  : Args[A & number];

export function normalizeArgnums(op: string, argnums: number | readonly number[], argCount: number): number[] {
  const list = typeof argnums === 'number' ? [argnums] : [...argnums];
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0 || a >= argCount) {
      throw new DTypeError(
        `${op}: argnums ${JSON.stringify(argnums)} is out of range for a call with ${argCount} argument(s); ` +
          `use indices in 0..${argCount - 1} (the positions of the arguments to differentiate).`,
      );
    }
  }
  if (new Set(list).size !== list.length)
    throw new DTypeError(`${op}: argnums ${JSON.stringify(argnums)} repeats an index.`);
  return list;
}

/** Refuses an async f up front: its tensors would outlive the transform's scope and tape. */
function requireSyncFunction(op: string, f: unknown): void {
  if (typeof f !== 'function')
    throw new ArgumentError(`${op}: f must be a function of tensors, got ${f === null ? 'null' : typeof f}.`);
  if (f.constructor?.name === 'AsyncFunction' || f.constructor?.name === 'AsyncGeneratorFunction') {
    throw new ArgumentError(
      `${op}: f is an async function; gradients trace synchronous tensor code only. Make f synchronous and await readbacks (x.data()) outside it.`,
    );
  }
}

/** Refuses a Promise returned by f (a function that hides being async). */
function refusePromise(op: string, value: unknown): void {
  if (value instanceof Promise) {
    value.catch(() => undefined); // the abandoned body's later failure belongs to this refusal
    throw new ArgumentError(
      `${op}: f returned a Promise; gradients trace synchronous tensor code only. Make f synchronous and await readbacks (x.data()) outside it.`,
    );
  }
}

function scalarValue(op: string, value: unknown, hasAux: boolean): Tensor {
  if (!(value instanceof Tensor)) {
    throw new DTypeError(
      `${op}: f must return a scalar float tensor${hasAux ? ' as the first element of [value, aux]' : ''}, got ${typeof value}. ` +
        (hasAux ? '' : 'If f also returns other values, pass { hasAux: true } and return [value, aux].'),
    );
  }
  if (value.size !== 1 || !isFloat(value.dtype)) {
    throw new DTypeError(
      `${op}: f must return a scalar float tensor, got shape ${fmtShape(value.shape)} ${value.dtype}. ` +
        `Reduce it to one number (e.g. sum or mean), or use vjp for non-scalar outputs.`,
    );
  }
  return value;
}

/**
 * valueAndGrad(f, {argnums, hasAux})(...args) returns [value, grads] (or [[value, aux], grads]).
 * grads mirrors the differentiated argument: a tensor, array or record of tensors; with an
 * argnums list, a tuple of those. Every intermediate is freed before it returns.
 */
export function valueAndGrad<Args extends unknown[], R, const A extends Argnums = 0>(
  f: (...args: Args) => R,
  options: GradOptions<A> = {},
): (...args: Args) => [R, GradsOf<Args, A>] {
  const op = 'valueAndGrad';
  requireSyncFunction(op, f);
  requireOptions(op, options, '{ argnums: 1 }');
  return (...args: Args): [R, GradsOf<Args, A>] => {
    const argnums = normalizeArgnums(op, options.argnums ?? 0, args.length);
    argnums.forEach((i) => requireDifferentiable(op, args[i], `argument ${i}`));
    const tape = new Tape();
    try {
      return scope(() => {
        const callArgs = args.map((a, i) => (argnums.includes(i) ? treeMap(a, alias) : a)) as Args;
        const wrt = argnums.map((i) => treeLeaves(callArgs[i]));
        wrt.flat().forEach((x) => tape.watch(x));
        const result = observePrimitives(tape.record, () => f(...callArgs));
        refusePromise(op, result);
        if (options.hasAux && !(Array.isArray(result) && result.length === 2)) {
          throw new DTypeError(
            `${op}: with hasAux, f must return [value, aux], got ${Array.isArray(result) ? `an array of ${result.length}` : typeof result}.`,
          );
        }
        const value = scalarValue(op, options.hasAux ? (result as unknown[])[0] : result, !!options.hasAux);
        const grads = backward(tape, [value], [onesLike(value)], wrt.flat());
        // Unshield the tape before this scope ends, so the scope frees it (an outer transform's
        // tape still shields what it recorded).
        tape.release();
        let k = 0;
        const structured = argnums.map((i) => treeMap(args[i], () => grads[k++]));
        return [result, (typeof options.argnums === 'object' ? structured : structured[0]) as GradsOf<Args, A>];
      });
    } finally {
      tape.release();
    }
  };
}

/**
 * grad(f, {argnums, hasAux})(...args): the gradient of scalar f with respect to the chosen
 * arguments (or [grads, aux] with hasAux), shaped like them.
 */
export function grad<Args extends unknown[], R, const A extends Argnums = 0, const H extends boolean = false>(
  f: (...args: Args) => R,
  options: GradOptions<A, H> = {},
): (
  ...args: Args
) => H extends true ? [GradsOf<Args, A>, R extends readonly [unknown, infer Aux] ? Aux : never] : GradsOf<Args, A> {
  requireOptions('grad', options, '{ argnums: 1 }');
  const vg = valueAndGrad(f, options);
  // The conditional return type above is what callers see; inside, the two cases are one value.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (...args: Args): any => {
    const [result, grads] = vg(...args);
    const value = options.hasAux ? (result as unknown[])[0] : result;
    // The value is not returned; free it unless an outer transform still needs it.
    if (value instanceof Tensor && !isRetained(value)) value.dispose();
    return options.hasAux ? [grads, (result as unknown[])[1]] : grads;
  };
}
