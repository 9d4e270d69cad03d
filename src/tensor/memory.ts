// Deterministic memory: scopes that dispose what they created, `keep`, `dispose` of trees, and the
// live-memory counters (kept in live.ts, which the Tensor class uses).
// A FinalizationRegistry is deliberately not used: GPU bytes are freed when a scope ends or
// `dispose()` is called, never at the garbage collector's whim.
import type { Tensor } from './tensor.js';
import { treeLeaves } from './pytree.js';
import { ArgumentError } from './errors.js';
import { liveCounts, popScope, pushScope, track } from './live.js';
import { backendFor, isBackendStarted } from './backends.js';
import type { BackendName } from '../kernels/backend.js';

export interface MemoryInfo {
  /** Live tensor handles (views count as handles) on this backend. */
  readonly tensors: number;
  /** Bytes held by live storages (a storage shared by views counts once). */
  readonly bytes: number;
  /**
   * Device bytes held by jit's recordings (their own buffers and uniforms) on this backend, beside
   * the tensors: freed by the jitted function's dispose() or when it drops old signatures.
   */
  readonly recordedBytes: number;
}

/** Live tensors and bytes per backend, and what jit recordings hold, for checking that loops hold memory flat. */
export function memory(): Record<BackendName, MemoryInfo> {
  const counts = liveCounts();
  const recorded = (name: BackendName): number =>
    isBackendStarted(name) ? backendFor(name).memory().recordedBytes : 0;
  return {
    cpu: { ...counts.cpu, recordedBytes: recorded('cpu') },
    webgpu: { ...counts.webgpu, recordedBytes: recorded('webgpu') },
  };
}

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

/**
 * Runs `fn` and disposes every tensor it created except those it returns (anywhere inside a
 * returned array or record) and those passed to `keep`. Returned tensors move to the enclosing
 * scope. `fn` must be synchronous: await readbacks outside the scope.
 */
export function scope<T>(fn: () => T): T {
  const mine = pushScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    popScope();
    for (const t of mine) if (!kept.has(t)) t.dispose();
    throw e;
  }
  popScope();
  if (result instanceof Promise) {
    // The async body runs on without its scope and fails on the tensors freed here; that failure
    // is part of this refusal, not an unhandled rejection that would end the process.
    result.catch(() => undefined);
    for (const t of mine) if (!kept.has(t)) t.dispose();
    throw new ArgumentError(
      'scope: the function returned a Promise; scopes track synchronous work only. ' +
        'Do the tensor math inside scope(() => ...) and await readbacks (x.data()) outside it.',
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
