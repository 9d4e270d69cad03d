// Deterministic memory: scopes that dispose what they created, `keep`, and live-memory counters.
// A FinalizationRegistry is deliberately not used: GPU bytes are freed when a scope ends or
// `dispose()` is called, never at the garbage collector's whim.
import type { BackendName, Storage } from '../kernels/backend.js';
import type { Tensor } from './tensor.js';
import { treeLeaves } from './pytree.js';
import { ArgumentError } from './errors.js';

interface Counters {
  tensors: number;
  bytes: number;
}
const counted = new WeakSet<Storage>();
const live: Record<BackendName, Counters> = { cpu: { tensors: 0, bytes: 0 }, webgpu: { tensors: 0, bytes: 0 } };
/**
 * Each backend name's instance generation: shutdown() starts a new one, and storages of an older
 * generation belong to a destroyed device (their tensors count as disposed, and their buffers must
 * never reach the new device's pool).
 */
const generation: Record<BackendName, number> = { cpu: 0, webgpu: 0 };
const storageGeneration = new WeakMap<Storage, number>();

/** Called by the Tensor constructor: one more handle, and the storage's bytes if it is new. */
export function countAcquire(storage: Storage): void {
  const c = live[storage.backend];
  c.tensors++;
  if (counted.has(storage)) {
    storage.refs++;
  } else {
    // First handle: whatever the backend initialised refs to, the front end owns the count now.
    counted.add(storage);
    storageGeneration.set(storage, generation[storage.backend]);
    storage.refs = 1;
    c.bytes += storage.byteLength;
  }
}

/** Whether `storage` was made by a backend instance that has since been shut down. @internal */
export const isOrphaned = (storage: Storage): boolean => storageGeneration.get(storage) !== generation[storage.backend];

/**
 * Called when the backend `name` is shut down: its live storages become orphans (their tensors read
 * as disposed) and stop counting in memory(). @internal
 */
export function orphanBackend(name: BackendName): void {
  generation[name]++;
  live[name] = { tensors: 0, bytes: 0 };
}

/** Called by dispose(): one handle fewer; returns true when the storage has no handles left. */
export function countRelease(storage: Storage): boolean {
  const c = live[storage.backend];
  c.tensors--;
  storage.refs--;
  if (storage.refs > 0) return false;
  counted.delete(storage);
  c.bytes -= storage.byteLength;
  return true;
}

// --- scopes ------------------------------------------------------------------------------------

const scopeStack: Set<Tensor>[] = [];
const kept = new WeakSet<Tensor>();
/** Tensors an autodiff tape still needs: they pass out of ending scopes instead of being freed. */
const retained = new WeakMap<Tensor, number>();

/** Protects `t` from ending scopes until a matching `unretain` (counted, for nested transforms). @internal */
export function retain(t: Tensor): void {
  retained.set(t, (retained.get(t) ?? 0) + 1);
}

/** Undoes one `retain`; the tensor then belongs to whichever scope it has reached. @internal */
export function unretain(t: Tensor): void {
  const n = (retained.get(t) ?? 0) - 1;
  if (n > 0) retained.set(t, n);
  else retained.delete(t);
}

export const isRetained = (t: Tensor): boolean => retained.has(t);

/** Registers a new tensor with the innermost scope (tensors made outside any scope are the caller's). */
export function track(t: Tensor): void {
  scopeStack[scopeStack.length - 1]?.add(t);
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (anywhere inside a
 * returned array or record) and those passed to `keep`. Returned tensors move to the enclosing
 * scope. `fn` must be synchronous: await readbacks outside the scope.
 */
export function scope<T>(fn: () => T): T {
  const mine = new Set<Tensor>();
  scopeStack.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopeStack.pop();
    for (const t of mine) if (!kept.has(t)) t.dispose();
    throw e;
  }
  scopeStack.pop();
  if (result instanceof Promise) {
    // The async body runs on without its scope and fails on the tensors freed here; that failure
    // is part of this refusal, not an unhandled rejection that would end the process.
    result.catch(() => undefined);
    for (const t of mine) if (!kept.has(t)) t.dispose();
    throw new ArgumentError(
      'scope: the function returned a Promise; scopes track synchronous work only. Do the tensor math inside scope(() => ...) and await readbacks (x.data()) outside it.',
    );
  }
  const escaping = new Set(treeLeaves(result));
  for (const t of mine) {
    if (escaping.has(t) || retained.has(t)) track(t);
    else if (!kept.has(t)) t.dispose();
  }
  return result;
}

/**
 * Frees every tensor in the given tensors or trees (arrays and plain records of tensors, as
 * TensorFlow.js's `dispose`); each is freed once, already-disposed ones are skipped. To release the
 * devices so the process can exit, call `shutdown()`.
 */
export function dispose(...trees: unknown[]): void {
  if (trees.length === 0) {
    throw new ArgumentError(
      'dispose: no tensor or tree given. dispose(x) frees the tensors of x (a tensor, or an array or record of them); ' +
        'to destroy the devices so the process can exit, call `await shutdown()`.',
    );
  }
  for (const t of new Set(treeLeaves(trees))) if (!t.isDisposed) t.dispose();
}

/** `tidy` is TensorFlow.js's name for `scope`. */
export const tidy = scope;

/** Marks a tensor to survive every enclosing scope; the caller disposes it. Returns it. */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  return t;
}

export interface MemoryInfo {
  /** Live tensor handles (views count as handles) on this backend. */
  readonly tensors: number;
  /** Bytes held by live storages (a storage shared by views counts once). */
  readonly bytes: number;
}

/** Live tensors and bytes per backend, for checking that loops hold memory flat. */
export function memory(): Record<BackendName, MemoryInfo> {
  return { cpu: { ...live.cpu }, webgpu: { ...live.webgpu } };
}
