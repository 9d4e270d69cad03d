// Safetensors checkpoints: param trees to and from the format of huggingface/safetensors
// (8-byte little-endian header length, a JSON header, then the raw little-endian tensor bytes).
import { writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { BackendName } from '../kernels/backend.js';
import { getBackend } from '../tensor/backends.js';
import { tensor } from '../tensor/ops/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { FROM_FILE, TO_FILE, type FileDType } from './safetensors-dtypes.js';
import { expectedEntries, mismatch, type LoadedTree } from './safetensors-expect.js';
import { readRegularFile } from './regular-file.js';
import { requireOptions } from '../tensor/ops/operand.js';

export type { TensorSpec, LoadedTree } from './safetensors-expect.js';

/** A malformed or unsupported safetensors file, or a tree that cannot be written as one. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** Refuse headers larger than this (the reference implementation's limit is 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

/** Tensor leaves of a tree with dotted names: { a: { b: [t] } } gives ['a.b.0', t]. */
function flatten(tree: unknown, prefix: string, out: [string, Tensor][]): [string, Tensor][] {
  if (tree instanceof Tensor) {
    if (prefix === '')
      throw new SafetensorsError(
        'saveSafetensors: the tree is a bare tensor; wrap it in a record, e.g. { weight: t }.',
      );
    out.push([prefix, tree]);
  } else if (Array.isArray(tree) || isPlainObject(tree)) {
    for (const [k, v] of Object.entries(tree)) {
      if (k.includes('.') || k === '' || k === '__metadata__') {
        throw new SafetensorsError(
          `saveSafetensors: key '${k}' under '${prefix}' cannot be a name segment (no dots, not empty, not __metadata__); rename it.`,
        );
      }
      flatten(v, prefix === '' ? k : `${prefix}.${k}`, out);
    }
  } else {
    throw new SafetensorsError(
      `saveSafetensors: '${prefix}' is ${typeof tree}, not a tensor, array or record; only tensor leaves can be saved (put settings in metadata).`,
    );
  }
  return out;
}

/**
 * Name segments that would reach an object's prototype when used as keys (`__proto__.x` would add
 * x to every object in the process) or name the built-ins' own machinery: refused in file names.
 */
const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Why a tensor name cannot become a path in a tree, or undefined when it can. */
function nameProblem(name: string): string | undefined {
  const parts = name.split('.');
  if (parts.some((p) => p === '')) return 'has an empty segment (a leading, trailing or doubled dot)';
  const bad = parts.find((p) => FORBIDDEN_SEGMENTS.has(p));
  return bad === undefined
    ? undefined
    : `has the segment '${bad}', which could reach the prototype of every object in the process`;
}

/** The first pair of names where one is a group prefix of the other (`a` and `a.b`), if any. */
function collidingNames(names: readonly string[]): [string, string] | undefined {
  const all = new Set(names);
  for (const name of names) {
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
      if (all.has(name.slice(0, dot))) return [name.slice(0, dot), name];
    }
  }
  return undefined;
}

/** A tree node while names are read: children by segment (a Map: no prototype to reach). */
type Node = Map<string, Node | Tensor>;

/**
 * Rebuilds a tree from dotted names (checked: no forbidden segments, no collisions); a node whose
 * keys are exactly 0..n-1 becomes an array. Records are built with Object.fromEntries (own data
 * properties only, never a setter such as __proto__'s).
 */
function unflatten(entries: readonly [string, Tensor][]): Record<string, unknown> {
  const root: Node = new Map();
  for (const [name, t] of entries) {
    const parts = name.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      let child = node.get(part);
      if (child === undefined) node.set(part, (child = new Map()));
      node = child as Node;
    }
    node.set(parts[parts.length - 1], t);
  }
  const build = (x: Node | Tensor): unknown => {
    if (x instanceof Tensor) return x;
    const keys = [...x.keys()];
    const isArray =
      keys.length > 0 && keys.every((k) => /^(0|[1-9]\d*)$/.test(k)) && keys.every((_, i) => x.has(String(i)));
    return isArray
      ? keys.map((_, i) => build(x.get(String(i))!))
      : Object.fromEntries(keys.map((k) => [k, build(x.get(k)!)]));
  };
  return build(root) as Record<string, unknown>;
}

/**
 * Writes the tensor leaves of `tree` to `path` as safetensors, named by their dotted paths
 * (`blocks.0.conv.weight`). `metadata` (string values only) is stored under `__metadata__`.
 */
export async function saveSafetensors(
  path: string,
  tree: unknown,
  options: { metadata?: Record<string, string> } = {},
): Promise<void> {
  requireOptions('saveSafetensors', options, "{ metadata: { step: '40' } }");
  const { metadata } = options;
  const leaves = flatten(tree, '', []);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string')
        throw new SafetensorsError(
          `saveSafetensors: metadata '${k}' is ${typeof v}; safetensors metadata values must be strings (JSON.stringify it).`,
        );
    }
    header.__metadata__ = metadata;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of leaves) {
    const data = await t.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: TO_FILE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // the data start is 8-byte aligned
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  if (endianness() !== 'LE')
    throw new SafetensorsError(
      'saveSafetensors: big-endian hosts are not supported (tensor bytes are written as stored).',
    );
  await writeFile(path, Buffer.concat([prefix, headerBytes, ...chunks]));
}

export interface LoadSafetensorsOptions<E = undefined> {
  /** Where the tensors are made (default: the current backend). */
  readonly backend?: BackendName;
  /**
   * The tree the file must hold: tensors (e.g. a freshly initialised model's params) or
   * `{ shape, dtype? }` records as leaves. Checked against the header before any tensor is made;
   * a missing, extra or mis-shaped entry is an error naming each one. Types the result's tree.
   */
  readonly expect?: E;
}

/** A loaded file: the tree of tensors and the `__metadata__` strings (or {}). */
export interface LoadedSafetensors<T> {
  readonly tree: T;
  readonly metadata: Record<string, string>;
}

/**
 * Reads a safetensors file into a tree (dotted names become nested records, numeric segments
 * arrays) on `backend` (default: the current one), with its `__metadata__` (or {}). F16 and BF16
 * load as float32, I64 as int32 (a value outside int32 is an error). The file is untrusted input:
 * its header is checked in full before anything is allocated. With `expect`, the tree is checked
 * against it and typed by it: `loadSafetensors(path, { expect: params })` gives a tree of
 * params' type.
 */
export async function loadSafetensors<E>(
  path: string,
  options: LoadSafetensorsOptions<E> & { readonly expect: E },
): Promise<LoadedSafetensors<LoadedTree<E>>>;
export async function loadSafetensors(
  path: string,
  options?: LoadSafetensorsOptions,
): Promise<LoadedSafetensors<Record<string, unknown>>>;
export async function loadSafetensors(
  path: string,
  options: LoadSafetensorsOptions<unknown> = {},
): Promise<LoadedSafetensors<unknown>> {
  requireOptions('loadSafetensors', options, "{ backend: 'cpu', expect }");
  const { backend, expect } = options;
  // The expectation is checked for its own sake first: a bad `expect` is the caller's bug, whatever the file.
  const expected = expect === undefined ? undefined : expectedEntries(expect);
  const fail = (what: string, fix: string): never => {
    throw new SafetensorsError(`loadSafetensors(${path}): ${what}; ${fix}`);
  };
  const file = await readRegularFile(path, (what, changed) =>
    fail(what, changed ? 'load it again once nothing writes it.' : 'pass the path of a .safetensors file.'),
  );
  if (file.byteLength < 8)
    fail(
      `the file has ${file.byteLength} bytes, fewer than the 8-byte header length`,
      'the file is truncated or not safetensors; write it again.',
    );
  const headerLength = file.readBigUInt64LE(0);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, file.byteLength - 8))) {
    fail(
      `the header length field says ${headerLength} bytes but ${file.byteLength - 8} follow it`,
      'the file is truncated or not safetensors; write it again.',
    );
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(file.subarray(8, dataStart).toString('utf8'));
  } catch (e) {
    fail(
      `the header is not valid JSON (${(e as Error).message})`,
      'the file is corrupt or not safetensors; write it again.',
    );
  }
  if (!isPlainObject(header))
    return fail('the header is not a JSON object', 'the file is corrupt or not safetensors; write it again.');
  const dataLength = file.byteLength - dataStart;
  const specs: [string, FileDType, number[], number, number][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const problem = nameProblem(name);
    if (problem !== undefined)
      fail(
        `tensor name ${JSON.stringify(name)} ${problem}`,
        'the file is corrupt or hostile; do not load it (rename the tensor if you wrote it).',
      );
    const spec = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const kind = FROM_FILE[String(spec?.dtype)];
    if (kind === undefined) {
      fail(
        `tensor '${name}' has dtype ${JSON.stringify(spec?.dtype)}, which this engine cannot hold`,
        `supported are ${Object.keys(FROM_FILE).join(', ')} (F16/BF16 load as float32, I64 as int32); convert it to one of them before loading.`,
      );
    }
    const shape = spec.shape;
    const offsets = spec.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(`tensor '${name}' has shape ${JSON.stringify(shape)}`, 'the header is corrupt; write the file again.');
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(
        `tensor '${name}' has data_offsets ${JSON.stringify(offsets)}, expected [begin, end]`,
        'the header is corrupt; write the file again.',
      );
    }
    const [begin, end] = offsets as number[];
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (begin > end || end > dataLength) {
      fail(
        `tensor '${name}' has data_offsets [${begin}, ${end}] outside the ${dataLength} data bytes`,
        'the file is truncated or its header is corrupt; write it again.',
      );
    }
    if (end - begin !== size * kind.bytes) {
      fail(
        `tensor '${name}' (${spec.dtype} [${shape}]) needs ${size * kind.bytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
        'the header is corrupt; write the file again.',
      );
    }
    specs.push([name, kind, shape as number[], begin, end]);
  }
  const collision = collidingNames(specs.map(([name]) => name));
  if (collision)
    fail(
      `tensor names '${collision[0]}' and '${collision[1]}' collide (one would be both a tensor and a group of tensors)`,
      'rename one of them; no name may be a prefix of another at a dot.',
    );
  // The format: the tensors' byte ranges tile the data exactly, without overlaps or holes.
  const byOffset = [...specs].sort((a, b) => a[3] - b[3] || a[4] - b[4]);
  let covered = 0;
  for (const [name, , , begin, end] of byOffset) {
    if (begin !== covered) {
      const what =
        begin < covered ? `overlaps the bytes before ${covered}` : `leaves the bytes [${covered}, ${begin}) unused`;
      fail(
        `tensor '${name}' with data_offsets [${begin}, ${end}] ${what}`,
        'the safetensors format requires the tensors to cover the data without overlaps or holes; write the file again.',
      );
    }
    covered = end;
  }
  if (covered !== dataLength)
    fail(
      `the tensors cover ${covered} of the ${dataLength} data bytes`,
      'the safetensors format allows no trailing bytes; the file is corrupt, write it again.',
    );
  const meta = header.__metadata__ ?? {};
  if (!isPlainObject(meta) || !Object.values(meta).every((v) => typeof v === 'string')) {
    fail('__metadata__ is not a record of strings', 'the header is corrupt; write the file again.');
  }
  if (expected !== undefined) {
    const problem = mismatch(
      expected,
      new Map(specs.map(([name, kind, shape]) => [name, { dtype: kind.dtype, shape }])),
    );
    if (problem !== undefined)
      fail(problem, 'load the file that matches this model (same config), or change `expect` to what the file holds.');
  }
  if (endianness() !== 'LE') fail('this host is big-endian', 'load on a little-endian machine.');
  const target = backend ?? getBackend();
  const entries: [string, Tensor][] = [];
  try {
    for (const [name, kind, shape, begin, end] of specs) {
      const bytes = new Uint8Array(file.subarray(dataStart + begin, dataStart + end)); // a copy, aligned
      const values = kind.decode(bytes, (what) =>
        fail(
          `tensor '${name}' [${shape}]: ${what}`,
          'the engine cannot hold it exactly; store it as I32 (or F64) if it fits, else rescale it before loading.',
        ),
      );
      entries.push([name, tensor(values, { shape, dtype: kind.dtype, backend: target })]);
    }
  } catch (e) {
    for (const [, t] of entries) t.dispose();
    throw e;
  }
  return { tree: unflatten(entries), metadata: meta as Record<string, string> };
}
