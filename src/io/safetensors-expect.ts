// The typed side of loadSafetensors: an expected tree (a model's params, or shapes written out)
// that the file's header is checked against before any tensor is made, so a wrong file fails
// with every missing, extra and mis-shaped entry named instead of a shape error deep in a model.
import type { DType } from '../tensor/dtype.js';
import { ArgumentError, fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';

/** What one tensor of a file must be: its shape and, optionally, its dtype once loaded. */
export interface TensorSpec {
  readonly shape: readonly number[];
  readonly dtype?: DType;
}

/**
 * The tree a file loads as when `E` was expected: the same records and arrays, every leaf (a
 * Tensor or a TensorSpec) a Tensor. `LoadedTree<typeof params>` is the params' own type.
 */
export type LoadedTree<E> = E extends Tensor | TensorSpec ? Tensor : { -readonly [K in keyof E]: LoadedTree<E[K]> };

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

/** A `{ shape, dtype? }` leaf: a plain record of exactly those keys with an integer shape. */
function isTensorSpec(x: unknown): x is TensorSpec {
  return (
    isPlainObject(x) &&
    Array.isArray(x.shape) &&
    x.shape.every((d) => Number.isInteger(d) && d >= 0) &&
    Object.keys(x).every((k) => k === 'shape' || k === 'dtype')
  );
}

/** The expected leaves by dotted name (the names saveSafetensors gives them). */
export function expectedEntries(expect: unknown): Map<string, TensorSpec> {
  const out = new Map<string, TensorSpec>();
  const walk = (x: unknown, prefix: string): void => {
    if (x instanceof Tensor || isTensorSpec(x)) {
      out.set(prefix, { shape: [...x.shape], dtype: x.dtype });
    } else if (Array.isArray(x) || isPlainObject(x)) {
      for (const [k, v] of Object.entries(x)) walk(v, prefix === '' ? k : `${prefix}.${k}`);
    } else {
      throw new ArgumentError(
        `loadSafetensors: expect${prefix ? `.${prefix}` : ''} is ${typeof x}; expected leaves are tensors or { shape, dtype? } records.`,
      );
    }
  };
  walk(expect, '');
  if (out.has(''))
    throw new ArgumentError('loadSafetensors: expect is a single tensor; wrap it in a record, e.g. { weight: spec }.');
  return out;
}

/** At most `n` items, then how many more there were. */
const listed = (items: readonly string[], n = 8): string =>
  items.length <= n ? items.join(', ') : `${items.slice(0, n).join(', ')} and ${items.length - n} more`;

/**
 * Every way the file's tensors (`found`: name -> loaded dtype and shape) differ from `expected`,
 * as one sentence, or undefined when they match.
 */
export function mismatch(
  expected: ReadonlyMap<string, TensorSpec>,
  found: ReadonlyMap<string, { dtype: DType; shape: readonly number[] }>,
): string | undefined {
  const missing = [...expected.keys()]
    .filter((k) => !found.has(k))
    .map((k) => `'${k}' ${fmtShape(expected.get(k)!.shape)}`);
  const extra = [...found.keys()].filter((k) => !expected.has(k)).map((k) => `'${k}' ${fmtShape(found.get(k)!.shape)}`);
  const wrong: string[] = [];
  for (const [name, want] of expected) {
    const got = found.get(name);
    if (got === undefined) continue;
    const shapeOk = got.shape.length === want.shape.length && got.shape.every((d, i) => d === want.shape[i]);
    if (!shapeOk) wrong.push(`'${name}' is ${fmtShape(got.shape)}, expected ${fmtShape(want.shape)}`);
    else if (want.dtype !== undefined && got.dtype !== want.dtype)
      wrong.push(`'${name}' loads as ${got.dtype}, expected ${want.dtype}`);
  }
  const parts = [
    missing.length ? `missing ${missing.length} (${listed(missing)})` : '',
    extra.length ? `${extra.length} not expected (${listed(extra)})` : '',
    wrong.length ? `${wrong.length} mis-shaped (${listed(wrong)})` : '',
  ].filter((p) => p !== '');
  return parts.length === 0 ? undefined : `its tensors do not match the expected tree: ${parts.join('; ')}`;
}
