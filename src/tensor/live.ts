// Live-memory accounting: handle and byte counters per backend, backend generations, and the
// stack of open scopes the Tensor constructor registers each new tensor with. The Tensor class
// and the backend registry use this; scopes, keep and dispose (memory.ts) build on it. It imports
// no values, so tensor.ts -> live.ts never leads back to tensor.ts.
import type { BackendName, Storage } from '../kernels/backend.js';
import type { Tensor } from './tensor.js';

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

// --- the scope stack ---------------------------------------------------------------------------

const scopeStack: Set<Tensor>[] = [];

/** Registers a new tensor with the innermost scope (tensors made outside any scope are the caller's). */
export function track(t: Tensor): void {
  scopeStack[scopeStack.length - 1]?.add(t);
}

/** Opens a scope: tensors made until the matching `popScope` are added to the returned set. @internal */
export function pushScope(): Set<Tensor> {
  const mine = new Set<Tensor>();
  scopeStack.push(mine);
  return mine;
}

/** Closes the innermost scope. @internal */
export function popScope(): void {
  scopeStack.pop();
}

/** Live tensors and the bytes of their storages per backend (memory() adds the recordings'). @internal */
export function liveCounts(): Record<BackendName, { readonly tensors: number; readonly bytes: number }> {
  return { cpu: { ...live.cpu }, webgpu: { ...live.webgpu } };
}
