// Parameter specs and init schemes: every layer describes its leaves as data (shape + scheme), and
// one function materialises a spec into a param tree. The same spec checks a loaded tree's shapes
// and counts parameters, so architecture, init and validation cannot drift apart.
import { split, uniform, ShapeError, full, Tensor } from '../../index.js';
import type { BackendName, PRNGKey } from '../../index.js';
import { fmtShape } from '../../tensor/errors.js';

/** How one leaf starts: U(-bound, bound), or every element equal to `value`. */
export type InitScheme =
  { readonly kind: 'uniform'; readonly bound: number } | { readonly kind: 'constant'; readonly value: number };

/** One parameter leaf: its shape and how to initialise it. */
export interface ParamSpec {
  readonly shape: readonly number[];
  readonly init: InitScheme;
}

/** The spec of a param tree P: the same records and arrays, with a ParamSpec at every tensor leaf. */
export type SpecOf<P> = P extends Tensor
  ? ParamSpec
  : P extends readonly (infer E)[]
    ? readonly SpecOf<E>[]
    : { readonly [K in keyof P]: SpecOf<P[K]> };

/** Where and in which float type `initParams` creates the tensors (default: the current backend, float32). */
export interface InitOptions {
  readonly backend?: BackendName;
  /** float32 (default) or float64 (CPU only; for checkGrad). */
  readonly dtype?: 'float32' | 'float64';
}

export const isParamSpec = (x: unknown): x is ParamSpec =>
  typeof x === 'object' &&
  x !== null &&
  Array.isArray((x as ParamSpec).shape) &&
  typeof (x as ParamSpec).init === 'object';

/**
 * PyTorch's default for nn.Linear and nn.Conv2d (kaiming_uniform_ with a = sqrt(5), which reduces
 * to U(-1/sqrt(fan_in), 1/sqrt(fan_in))); the same bound is torch's default for their biases.
 * fan_in = in_features, or in_channels * kh * kw for a convolution.
 */
export const kaimingUniform = (shape: readonly number[], fanIn: number): ParamSpec => ({
  shape,
  init: { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) },
});

/** A leaf that starts at zero (guided-diffusion's zero_module, and normalisation biases). */
export const zerosSpec = (shape: readonly number[]): ParamSpec => ({ shape, init: { kind: 'constant', value: 0 } });

/** A leaf that starts at one (normalisation scales). */
export const onesSpec = (shape: readonly number[]): ParamSpec => ({ shape, init: { kind: 'constant', value: 1 } });

/** Every ParamSpec of a spec tree with its dotted path ('down.0.res.1.conv1.weight'), depth first in key order. */
export function specLeaves(spec: unknown, prefix = ''): [string, ParamSpec][] {
  if (isParamSpec(spec)) return [[prefix, spec]];
  const join = (k: string | number) => (prefix === '' ? String(k) : `${prefix}.${k}`);
  if (Array.isArray(spec)) return spec.flatMap((s, i) => specLeaves(s, join(i)));
  if (typeof spec === 'object' && spec !== null)
    return Object.entries(spec).flatMap(([k, s]) => specLeaves(s, join(k)));
  return [];
}

/** Number of scalar parameters a spec describes. */
export const specParamCount = (spec: unknown): number =>
  specLeaves(spec).reduce((n, [, s]) => n + s.shape.reduce((a, d) => a * d, 1), 0);

/**
 * Creates the tensors of a spec. Leaf i (depth first) draws from split(k, leaves)[i] whatever its
 * scheme, so switching one leaf to zero-init leaves every other leaf's values unchanged.
 */
export function initParams<P>(k: PRNGKey, spec: SpecOf<P>, options: InitOptions = {}): P {
  const leaves = specLeaves(spec);
  const keys = leaves.length > 0 ? split(k, leaves.length) : [];
  let i = 0;
  const build = (s: unknown): unknown => {
    if (isParamSpec(s)) {
      const leafKey = keys[i++];
      const o = { backend: options.backend, dtype: options.dtype ?? 'float32' };
      return s.init.kind === 'uniform'
        ? uniform(leafKey, [...s.shape], { ...o, min: -s.init.bound, max: s.init.bound })
        : full([...s.shape], s.init.value, o);
    }
    if (Array.isArray(s)) return s.map(build);
    return Object.fromEntries(Object.entries(s as object).map(([name, sub]) => [name, build(sub)]));
  };
  return build(spec) as P;
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !(x instanceof Tensor) && !Array.isArray(x);

/**
 * Throws a ShapeError naming the first leaf of `params` that does not match `spec`: a missing leaf,
 * a leaf of another shape, or an entry the architecture does not have. `what` explains where the
 * spec came from (e.g. 'the UNet config {...}') and `fix` says what to do.
 */
export function checkParamsAgainstSpec(op: string, params: unknown, spec: unknown, what: string, fix: string): void {
  const walk = (p: unknown, s: unknown, path: string): void => {
    const name = path === '' ? 'params' : `params.${path}`;
    const join = (k: string | number) => (path === '' ? String(k) : `${path}.${k}`);
    if (isParamSpec(s)) {
      if (!(p instanceof Tensor)) {
        throw new ShapeError(
          `${op}: ${name} should be a tensor of shape ${fmtShape(s.shape)} for ${what}, but it is ${p === undefined ? 'missing' : typeof p}. ${fix}`,
        );
      }
      if (p.shape.length !== s.shape.length || p.shape.some((d, i) => d !== s.shape[i])) {
        throw new ShapeError(
          `${op}: ${name} has shape ${fmtShape(p.shape)} but ${what} expects ${fmtShape(s.shape)}. ${fix}`,
        );
      }
      return;
    }
    if (Array.isArray(s)) {
      if (!Array.isArray(p) || p.length !== s.length) {
        const got = Array.isArray(p)
          ? `an array of ${p.length}`
          : p === undefined
            ? 'missing'
            : p instanceof Tensor
              ? `a tensor ${fmtShape(p.shape)}`
              : typeof p;
        throw new ShapeError(
          `${op}: ${name} should be an array of ${s.length} entries for ${what}, but it is ${got}. ${fix}`,
        );
      }
      s.forEach((sub, i) => walk(p[i], sub, join(i)));
      return;
    }
    if (!isRecord(p)) {
      throw new ShapeError(
        `${op}: ${name} should be a record with keys ${Object.keys(s as object).join(', ')} for ` +
          `${what}, but it is ${p === undefined ? 'missing' : p instanceof Tensor ? `a tensor ${fmtShape(p.shape)}` : typeof p}. ${fix}`,
      );
    }
    for (const [k, sub] of Object.entries(s as object)) walk(p[k], sub, join(k));
    const extra = Object.keys(p).find((k) => !(k in (s as object)));
    if (extra !== undefined) throw new ShapeError(`${op}: params.${join(extra)} is not part of ${what}. ${fix}`);
  };
  walk(params, spec, '');
}
