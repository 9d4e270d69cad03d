// jit(fn): a call with fixed shapes recorded once and replayed. The first call with a new input
// signature runs as plain ops (so kernel tuning sees them); the second records the kernels fn
// issues (the backend's CallRecorder: prebuilt pipelines, bind groups and uniforms) and every
// later one replays them on its inputs, skipping the engine's per-op host work. On lavapipe that
// work is most of a small network call (docs/measurements.md, "Host cost of a small network call").
// Backends without a recorder (the CPU) and calls inside a transform (grad, vmap, jvp) run fn as is.
import type { Backend, CallRecorder, RecordedCall } from '../kernels/backend.js';
import { backendFor } from './backends.js';
import { ArgumentError } from './errors.js';
import { readEnv } from '../env.js';
import { scope } from './memory.js';
import { hasObservers } from './primitives.js';
import { treeLeaves, treeMap } from './pytree.js';
import { Tensor } from './tensor.js';
import { requireOptions } from './ops/operand.js';

export interface JitOptions {
  /** Input signatures kept recorded at once; the least recently used goes first (default 4). */
  readonly maxRecordings?: number;
  /**
   * Device bytes the recordings may hold together (default 1 GiB): older ones are freed past it,
   * and a call whose recording alone is larger runs as plain ops from then on.
   */
  readonly maxBytes?: number;
}

/** A jitted function: fn's signature, plus the handle on its recordings. */
export interface Jitted<A extends unknown[], R> {
  (...args: A): R;
  /** Frees every recording (their device buffers); later calls record again. */
  dispose(): void;
  /** Signatures recorded now, with each recording's dispatches and device bytes. */
  readonly recordings: readonly { readonly dispatches: number; readonly bytes: number; readonly replays: number }[];
}

interface Entry {
  calls: number;
  replays: number;
  /** Its recording alone held more than maxBytes: it runs as plain ops. */
  tooLarge?: boolean;
  recorded?: {
    readonly backend: Backend;
    readonly call: RecordedCall;
    /** fn's result as recorded: its tensors are stand-ins, replaced by each replay's outputs. */
    readonly result: unknown;
    readonly outputOf: ReadonlyMap<Tensor, number>;
    readonly shapes: readonly (readonly number[])[];
  };
}

/**
 * Records `fn`'s kernels per input signature and replays them. `fn` must be synchronous tensor
 * math whose kernels depend only on its arguments' shapes, dtypes and non-tensor values (those
 * make the signature): read no values back inside it, touch no tensor you do not pass it (a
 * replay would read that buffer as it was recorded), keep nothing it makes. Side effects on the
 * host (logging, counters) happen on the first two calls only. Errors name what was refused.
 *
 * ```ts
 * const apply = jit((params, x) => model(params, x));
 * for (const x of batches) y = apply(params, x); // recorded at the 2nd call, replayed from the 3rd
 * apply.dispose();
 * ```
 */
export function jit<A extends unknown[], R>(fn: (...args: A) => R, options: JitOptions = {}): Jitted<A, R> {
  if (typeof fn !== 'function') throw new ArgumentError(`jit: expected a function, got ${typeof fn}.`);
  requireOptions('jit', options, '{ maxRecordings: 8 }');
  const maxRecordings = options.maxRecordings ?? 4;
  if (!Number.isInteger(maxRecordings) || maxRecordings < 1)
    throw new ArgumentError(`jit: options.maxRecordings must be a positive integer, got ${maxRecordings}.`);
  const maxBytes = options.maxBytes ?? 2 ** 30;
  if (!(maxBytes > 0))
    throw new ArgumentError(`jit: options.maxBytes must be a positive number of bytes, got ${maxBytes}.`);
  const entries = new Map<string, Entry>();
  const off = readEnv('WEBGPU_LRPO_JIT') === '0';

  const forget = (key: string, e: Entry): void => {
    entries.delete(key);
    e.recorded?.call.dispose();
  };

  const call = (...args: A): R => {
    const leaves = uniqueLeaves(args);
    const backend = leaves.length > 0 ? onlyBackend(leaves) : undefined;
    const calls = backend?.calls;
    if (!backend || !calls || calls.capturing || hasObservers() || off) return fn(...args);
    const key = signature(args, leaves);
    let e = entries.get(key);
    if (e) entries.delete(key); // re-inserted last: least recently used first
    e ??= { calls: 0, replays: 0 };
    entries.set(key, e);
    for (const [k, old] of entries) if (entries.size > maxRecordings && old !== e) forget(k, old);
    if (e.recorded && (e.recorded.backend !== backendFor(backend.name) || e.recorded.call.stale)) {
      // A recording from a device since shut down holds nothing to free; a stale one is redone.
      if (e.recorded.backend === backendFor(backend.name)) e.recorded.call.dispose();
      e.recorded = undefined;
      e.calls = 1;
    }
    e.calls++;
    if (e.recorded) return replay(e, leaves);
    if (e.calls === 1 || e.tooLarge) return plainCall(calls, fn, args, leaves);
    const recorded = record(backend, fn, args, leaves);
    if (recorded.call.bytes > maxBytes) {
      recorded.call.dispose();
      e.tooLarge = true;
      return plainCall(calls, fn, args, leaves);
    }
    e.recorded = recorded;
    let held = 0;
    for (const [k, old] of [...entries].reverse()) {
      held += old.recorded?.call.bytes ?? 0;
      if (held > maxBytes && old !== e) forget(k, old); // the least recently used go first
    }
    return replay(e, leaves);
  };

  const jitted = call as Jitted<A, R>;
  Object.defineProperties(jitted, {
    dispose: {
      value: (): void => {
        for (const [k, e] of [...entries]) forget(k, e);
      },
    },
    recordings: {
      get: () =>
        [...entries.values()].flatMap((e) =>
          e.recorded
            ? [{ dispatches: e.recorded.call.dispatches, bytes: e.recorded.call.bytes, replays: e.replays }]
            : [],
        ),
    },
  });
  return jitted;
}

/**
 * fn as plain ops, seen from outside as a replay: inputs and outputs computed (so the bits match a
 * replay's), intermediates freed, and an input returned as is comes back as a handle of its own.
 */
function plainCall<A extends unknown[], R>(calls: CallRecorder, fn: (...args: A) => R, args: A, leaves: Tensor[]): R {
  calls.materialize(leaves.map((t) => t.storage('jit')));
  const inputs = new Set(leaves);
  const result = scope(() => fn(...args));
  calls.materialize(uniqueLeaves(result).map((t) => t.storage('jit')));
  return treeMap(result, (t) => (inputs.has(t) ? new Tensor(t.storage('jit'), t.shape, t.strides, t.offset) : t));
}

/** Runs fn on the recorder's own input storages with its kernels recorded, not run. */
function record<A extends unknown[], R>(
  backend: Backend,
  fn: (...args: A) => R,
  args: A,
  leaves: readonly Tensor[],
): NonNullable<Entry['recorded']> {
  const calls = backend.calls!;
  const stand = calls
    .begin(leaves.map((t) => ({ dtype: t.dtype, size: t.size })))
    .map((s, i) => new Tensor(s, leaves[i].shape));
  const position = new Map(leaves.map((t, i) => [t, i]));
  let result: unknown;
  let call: RecordedCall;
  try {
    result = scope(() => fn(...treeMap(args, (t) => stand[position.get(t)!])));
    const outputs = uniqueLeaves(result);
    try {
      call = calls.end(outputs.map((t) => t.view('jit')));
    } finally {
      for (const t of outputs) if (!stand.includes(t)) t.dispose(); // stand-ins: the recording holds their buffers
    }
    return {
      backend,
      call,
      result,
      outputOf: new Map(outputs.map((t, i) => [t, i])),
      shapes: outputs.map((t) => t.shape),
    };
  } catch (e) {
    calls.abort();
    throw e;
  } finally {
    for (const t of stand) t.dispose();
  }
}

function replay<R>(e: Entry, leaves: readonly Tensor[]): R {
  const r = e.recorded!;
  const storages = r.call.run(leaves.map((t) => t.view('jit')));
  const outs = storages.map((s, i) => new Tensor(s, r.shapes[i]));
  e.replays++;
  return treeMap(r.result, (t) => outs[r.outputOf.get(t)!]) as R;
}

/** The tensors of a tree, each once, in order of first appearance. */
const uniqueLeaves = (tree: unknown): Tensor[] => [...new Set(treeLeaves(tree))];

function onlyBackend(leaves: readonly Tensor[]): Backend | undefined {
  const name = leaves[0].backend;
  // Mixed backends: the ops themselves will say how to move the tensors.
  return leaves.every((t) => t.backend === name) ? backendFor(name) : undefined;
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;

/**
 * The input signature: the tree's structure, each tensor's dtype, shape and first position
 * (so aliasing is part of it), and the non-tensor leaves' values (objects and functions by identity).
 */
function signature(tree: unknown, leaves: readonly Tensor[]): string {
  const position = new Map(leaves.map((t, i) => [t, i]));
  const walk = (x: unknown): string => {
    if (x instanceof Tensor) return `T${position.get(x)}:${x.dtype}[${x.shape.join(',')}]`;
    if (Array.isArray(x)) return `[${x.map(walk).join(',')}]`;
    if (typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype)
      return `{${Object.keys(x)
        .map((k) => `${JSON.stringify(k)}:${walk((x as Record<string, unknown>)[k])}`)
        .join(',')}}`;
    if (typeof x === 'object' || typeof x === 'function') {
      if (x === null) return 'null';
      let id = objectIds.get(x);
      if (id === undefined) objectIds.set(x, (id = nextObjectId++));
      return `#${id}`;
    }
    return `${typeof x}:${String(x)}`;
  };
  return walk(tree);
}
