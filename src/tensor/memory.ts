// Deterministic memory: scopes that dispose what they created, `keep`, and live-memory counters.
// A FinalizationRegistry is deliberately not used: GPU bytes are freed when a scope ends or
// `dispose()` is called, never at the garbage collector's whim.
import type { BackendName, Storage } from '../kernels/backend.js';
import type { Tensor } from './tensor.js';
import { treeLeaves } from './pytree.js';

interface Counters {
  tensors: number;
  bytes: number;
}
const counted = new WeakSet<Storage>();
const live: Record<BackendName, Counters> = { cpu: { tensors: 0, bytes: 0 }, webgpu: { tensors: 0, bytes: 0 } };

/** Called by the Tensor constructor: one more handle, and the storage's bytes if it is new. */
export function countAcquire(storage: Storage): void {
  const c = live[storage.backend];
  c.tensors++;
  if (counted.has(storage)) {
    storage.refs++;
  } else {
    // First handle: whatever the backend initialised refs to, the front end owns the count now.
    counted.add(storage);
    storage.refs = 1;
    c.bytes += storage.byteLength;
  }
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
    for (const t of mine) if (!kept.has(t)) t.dispose();
    throw new TypeError(
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
