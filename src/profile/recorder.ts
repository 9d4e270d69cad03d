// What a running profile() collects, and the scope names user code gives its work. A leaf module:
// the kernels and the eager front end report to it, so it imports nothing of theirs. When no
// profile runs, every hook is one read of `active` and nothing else (profiling off costs nothing).
import { AsyncLocalStorage } from 'node:async_hooks';

/** One kernel run (a WebGPU dispatch, or one synchronous op on the CPU backend). */
export interface KernelRecord {
  /** The WGSL program and its variant (e.g. `matmul.rows16x8sg`), or the CPU op's name. */
  readonly kernel: string;
  /** Where in user code it ran: the `named(...)` scopes around it, joined with '/'; '' at top level. */
  readonly scope: string;
  readonly backend: 'webgpu' | 'cpu';
  /** Floating-point operations, where the kernel knows them (matmul, convolutions). */
  readonly flops?: number;
  /** Bytes of the buffers it was bound to (inputs and output): an estimate of the traffic it causes. */
  readonly bytes?: number;
  /** Host time spent recording it (WebGPU: pipeline look-up and compile, bind group, uniforms). */
  hostMs: number;
  /** Pipelines compiled for it (first use of a WGSL program). */
  compiles: number;
  /** Time on the device: GPU timestamps on WebGPU, the op's synchronous run on the CPU backend. */
  deviceMs?: number;
}

/** The sink of one profile() call. */
export class ProfileRecorder {
  readonly records: KernelRecord[] = [];

  /** Adds a record; returns its index for a device time delivered later. */
  add(record: KernelRecord): number {
    return this.records.push(record) - 1;
  }

  setDeviceMs(index: number, ms: number): void {
    this.records[index].deviceMs = ms;
  }
}

let active: ProfileRecorder | undefined;

/** The recorder of the running profile() call, if any. */
export const activeProfile = (): ProfileRecorder | undefined => active;

/** @internal profile() alone sets and clears it. */
export function setActiveProfile(recorder: ProfileRecorder | undefined): void {
  active = recorder;
}

/** Runs `fn` (synchronous) unseen by a running profile: the tuner's measurements are not the user's work. */
export function unprofiled<T>(fn: () => T): T {
  const saved = active;
  active = undefined;
  try {
    return fn();
  } finally {
    active = saved;
  }
}

// Async-local, so a scope survives the awaits inside it (a training step reads values back).
const scopes = new AsyncLocalStorage<string>();

/** The scope path work recorded now belongs to ('' at top level). */
export const currentScope = (): string => scopes.getStore() ?? '';

/**
 * Runs `fn` with its work attributed to the scope `name` (nested inside the enclosing one) in a
 * running profile(); returns what `fn` returns, a Promise included. Outside profile() it only
 * calls `fn`. Models name their blocks with it, so a profile shows layers, not just kernels.
 */
export function named<T>(name: string, fn: () => T): T {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(
      `named: the scope name must be a non-empty string, got ${JSON.stringify(name)}; e.g. named('resBlock', () => ...).`,
    );
  }
  if (typeof fn !== 'function') throw new TypeError(`named('${name}', fn): fn must be a function, got ${typeof fn}.`);
  if (!scopesTracked()) return fn();
  const parent = scopes.getStore();
  return scopes.run(parent ? `${parent}/${name}` : name, fn);
}

let scopeTrackers = 0;

/**
 * Keeps named() scopes outside profile() too, until the returned stop is called: a jit capture
 * records each kernel's scope so a profiled replay can show it. @internal
 */
export function trackingScopes(): () => void {
  scopeTrackers++;
  let stopped = false;
  return () => {
    if (!stopped) scopeTrackers--;
    stopped = true;
  };
}

/**
 * Whether scopes are kept now (a running profile() or a jit capture): work that runs later than it
 * is made (a fused expression, a backward rule) notes its scope only then. @internal
 */
export const scopesTracked = (): boolean => active !== undefined || scopeTrackers > 0;

/** Runs `fn` in the scope path `path` (recorded earlier with currentScope()), e.g. a backward rule in its forward op's scope. */
export function inScopePath<T>(path: string, fn: () => T): T {
  return scopes.run(path, fn);
}
