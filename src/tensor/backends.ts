// Backend registry: which backends are up, which one new tensors go to, start-up and shutdown.
import type { Backend, BackendInfo, BackendName, Storage } from '../kernels/backend.js';
import type { Tensor } from './tensor.js';
import { createCpuBackend } from '../kernels/cpu/index.js';
import { BackendError } from './errors.js';
import { orphanBackend } from './live.js';

const BACKEND_NAMES: readonly BackendName[] = ['webgpu', 'cpu'];
const instances = new Map<BackendName, Backend>();
let current: BackendName | null = null;
let warnedFallback = false;

async function instantiate(name: BackendName): Promise<Backend> {
  const existing = instances.get(name);
  if (existing) return existing;
  let backend: Backend;
  if (name === 'cpu') backend = createCpuBackend();
  else {
    // Loaded lazily so CPU-only users never load Dawn.
    const { createWebGpuBackend } = await import('../kernels/webgpu/index.js');
    backend = await createWebGpuBackend();
  }
  instances.set(name, backend);
  return backend;
}

/**
 * Makes `name` the backend new tensors are created on, starting it if needed. Rejects with a
 * BackendError that says how to fix it when WebGPU has no adapter.
 */
export async function setBackend(name: BackendName): Promise<void> {
  requireBackendName('setBackend', name);
  await instantiate(name);
  current = name;
}

/**
 * Starts the default backend: WebGPU when an adapter exists, else the CPU with one warning.
 * Resolves to the backend's name. Call once before creating tensors.
 */
export async function ready(): Promise<BackendName> {
  if (current) return current;
  try {
    await setBackend('webgpu');
  } catch (e) {
    if (!warnedFallback) {
      warnedFallback = true;
      console.warn(`[webgpu-lrpo] WebGPU unavailable, falling back to the CPU backend. ${(e as Error).message}`);
    }
    await setBackend('cpu');
  }
  return current!;
}

/** The backend new tensors are created on. Throws if none was started. */
export function getBackend(): BackendName {
  if (current === null) {
    throw new BackendError(
      "No backend is ready: call `await ready()` (WebGPU, falling back to CPU) or `await setBackend('cpu' | 'webgpu')` before creating tensors.",
    );
  }
  return current;
}

/** Throws unless `name` is a backend this engine has (a typo would otherwise read as "not started"). */
function requireBackendName(op: string, name: unknown): asserts name is BackendName {
  if (!BACKEND_NAMES.includes(name as BackendName)) {
    throw new BackendError(
      `${op}: unknown backend ${JSON.stringify(name)}; this engine has ${BACKEND_NAMES.map((n) => `'${n}'`).join(' and ')}.`,
    );
  }
}

/** The started backend instance by name. @internal */
export function backendFor(name: BackendName, op = 'backendFor'): Backend {
  requireBackendName(op, name);
  const b = instances.get(name);
  if (b) return b;
  if (name === 'cpu') {
    // The CPU backend needs no async start-up, so tensors moved to it work before setBackend('cpu').
    const cpu = createCpuBackend();
    instances.set('cpu', cpu);
    return cpu;
  }
  throw new BackendError(`The ${name} backend is not started: call \`await setBackend('${name}')\` first.`);
}

/** The started backend instances. @internal */
export const startedBackends = (): Backend[] => [...instances.values()];

/** Resolves when every started backend's background variant measurements have finished (WebGPU tuning). @internal */
export async function settleTuning(): Promise<void> {
  for (const b of instances.values()) await b.settleTuning?.();
}

/** Whether a backend has been started. */
export const isBackendStarted = (name: BackendName): boolean => instances.has(name);

/**
 * Shuts every backend down (destroys the WebGPU device) so the process can exit. Tensors made
 * before read as disposed afterwards and no longer count in memory(); `ready()`/`setBackend()`
 * start afresh with new devices. (To free tensors, use `dispose(x)`.)
 */
export async function shutdown(): Promise<void> {
  const all = [...instances];
  instances.clear();
  current = null;
  for (const [name] of all) orphanBackend(name);
  await Promise.all(all.map(([, b]) => b.destroy()));
}

/**
 * Waits until the given tensors are computed on their devices (or, with no arguments, until every
 * started backend has finished its submitted work), without reading anything back. Use it to time
 * GPU work: ops only record commands, and fused elementwise chains run when first needed.
 */
export async function sync(...tensors: Tensor[]): Promise<void> {
  if (tensors.length === 0) {
    await Promise.all([...instances.values()].map((b) => b.sync()));
    return;
  }
  const byBackend = new Map<BackendName, Storage[]>();
  for (const t of tensors) {
    const s = t.storage('sync');
    byBackend.set(s.backend, [...(byBackend.get(s.backend) ?? []), s]);
  }
  await Promise.all([...byBackend].map(([name, storages]) => backendFor(name).sync(storages)));
}

/** What a started backend runs on: adapter description, features, limits, whether tuning is on. */
export function backendInfo(name: BackendName = getBackend()): BackendInfo {
  return backendFor(name).info();
}
