// Argument checks shared by the transforms: differentiated arguments must be pytrees of live
// float tensors, and the errors say what to do instead.
import { isFloat } from '../tensor/dtype.js';
import { ArgumentError, DTypeError, fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

/** Throws unless every leaf of `tree` is a live float tensor, naming the leaf's path. */
export function requireDifferentiable(op: string, tree: unknown, name: string): void {
  const ancestors = new Set<unknown>(); // the records and arrays on the current path: a repeat is a cycle
  const walk = (x: unknown, path: string): void => {
    if (ancestors.has(x)) {
      throw new ArgumentError(
        `${op}: ${name}${path} refers back to an enclosing array or record (a cyclic tree); differentiated arguments must be finite trees of tensors.`,
      );
    }
    if (Array.isArray(x) || isPlainObject(x)) {
      ancestors.add(x);
      try {
        if (Array.isArray(x)) x.forEach((v, i) => walk(v, `${path}[${i}]`));
        else Object.keys(x).forEach((k) => walk(x[k], `${path}.${k}`));
      } finally {
        ancestors.delete(x);
      }
      return;
    }
    if (x instanceof Tensor) {
      x.storage(op);
      if (!isFloat(x.dtype)) {
        throw new DTypeError(
          `${op}: ${name}${path} is ${x.dtype} (shape ${fmtShape(x.shape)}); gradients need float tensors. ` +
            `Cast it with cast(x, 'float32'), or leave it out of argnums so it is not differentiated.`,
        );
      }
    } else {
      throw new DTypeError(
        `${op}: ${name}${path} is ${x === null ? 'null' : typeof x} (${String(x)}), not a tensor; every leaf of a differentiated ` +
          `argument must be a float tensor. Wrap numbers with tensor(x), or move the value to an argument outside argnums.`,
      );
    }
  };
  walk(tree, '');
}

/**
 * Throws unless `tangent` has the structure of `primal` with a tensor of the same shape and dtype
 * at every leaf (the tangents of jvp, linearize and checkJvp).
 */
export function requireTangentsLike(op: string, primal: unknown, tangent: unknown, name: string): void {
  const walk = (p: unknown, t: unknown, path: string): void => {
    if (p instanceof Tensor) {
      if (!(t instanceof Tensor)) {
        throw new DTypeError(
          `${op}: the tangent for ${name}${path} is ${t === null ? 'null' : typeof t}, not a tensor; ` +
            `pass a tensor shaped like the primal (zerosLike(x) for none).`,
        );
      }
      t.storage(op);
      if (t.dtype !== p.dtype || t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        throw new DTypeError(
          `${op}: the tangent for ${name}${path} is ${fmtShape(t.shape)} ${t.dtype} but the primal is ${fmtShape(p.shape)} ${p.dtype}; ` +
            `they must match (cast or reshape the tangent).`,
        );
      }
    } else if (Array.isArray(p)) {
      if (!Array.isArray(t) || t.length !== p.length) {
        throw new DTypeError(`${op}: the tangent for ${name}${path} must be an array of ${p.length}, like the primal.`);
      }
      p.forEach((v, i) => walk(v, t[i], `${path}[${i}]`));
    } else if (isPlainObject(p)) {
      const keys = Object.keys(p);
      if (!isPlainObject(t) || Object.keys(t).length !== keys.length || keys.some((k) => !(k in t))) {
        throw new DTypeError(
          `${op}: the tangent for ${name}${path} must be a record with the primal's keys (${keys.join(', ')}).`,
        );
      }
      keys.forEach((k) => walk(p[k], t[k], `${path}.${k}`));
    }
  };
  walk(primal, tangent, '');
}
