// profile(fn): runs fn, waits for all the work it recorded, and says where the time went, per
// kernel and per named scope (see recorder.ts for how kernels report and scopes are named).
import { settleTuning, startedBackends, sync } from '../tensor/backends.js';
import { add } from '../tensor/ops/elementwise.js';
import { tensor } from '../tensor/ops/creation.js';
import { treeLeaves } from '../tensor/pytree.js';
import { activeProfile, ProfileRecorder, setActiveProfile, type KernelRecord } from './recorder.js';
import { profileTable, type TableOptions } from './table.js';
import { addTotals } from './totals.js';
import { requireOptions } from '../tensor/ops/operand.js';

/** One (kernel, scope) pair: every run of that kernel in that scope, summed. */
export interface ProfileRow {
  readonly kernel: string;
  /** The `named(...)` scope path, '' at top level; backward rules run in '<forward scope>/backward'. */
  readonly scope: string;
  readonly backend: 'webgpu' | 'cpu';
  readonly calls: number;
  /** Device time: GPU timestamps on WebGPU, the ops' synchronous run on the CPU backend; 0 where untimed. */
  readonly gpuMs: number;
  /** Host time spent recording the kernels (WebGPU) or running them (CPU). */
  readonly hostMs: number;
  /** Pipelines compiled (first runs of a WGSL program), included in hostMs. */
  readonly compiles: number;
  /** FLOPs, for kernels that know them (matmul, convolutions); undefined elsewhere. */
  readonly flops?: number;
  /** Bytes of the buffers the kernels were bound to: an estimate of memory traffic. */
  readonly bytes?: number;
}

/**
 * How the device times were measured: 'timestamp-query' (GPU timestamps around each dispatch),
 * 'host' (CPU backend: each op runs synchronously and is timed on the host), 'mixed' (both), or
 * 'none' (a WebGPU adapter without timestamp-query: rows count calls, gpuMs is 0, only wallMs
 * is a time).
 */
export type ProfileTiming = 'timestamp-query' | 'host' | 'mixed' | 'none';

export interface Profile<T> {
  readonly value: T;
  /** Sorted by gpuMs, largest first. */
  readonly rows: readonly ProfileRow[];
  /** Kernel runs recorded (WebGPU dispatches plus CPU ops). */
  readonly dispatches: number;
  /** Sum of the rows' gpuMs. */
  readonly gpuMs: number;
  /** From the call until the device finished everything fn recorded. */
  readonly wallMs: number;
  readonly timing: ProfileTiming;
  /**
   * WebGPU with timestamps: the device time a trivial dispatch (one element) reads in its own timed
   * pass, the median of a few run after fn's work. Every dispatch's gpuMs includes about this much
   * for the pass and its timestamps (on lavapipe 0.09-0.19 ms, several times a small kernel's own
   * time and 2-4x the per-dispatch cost of unprofiled work), so a row of many small dispatches reads
   * high. Undefined where no WebGPU kernel was timed.
   */
  readonly dispatchFloorMs?: number;
  /** A markdown table of the rows: kernel, scope, calls, ms, % of total, GFLOP/s, GB/s. */
  table(options?: TableOptions): string;
}

export interface ProfileOptions {
  /**
   * Runs fn this many times first, unprofiled, then waits for variant tuning and runs it once
   * more, so pipeline compiles and tuning are out of the picture (default 0). Its results are freed.
   */
  readonly warmup?: number;
}

/**
 * Runs `fn` (sync or async) with profiling on and returns its value with the time per kernel and
 * scope. Work recorded before the call is finished first and not counted. Name scopes in `fn`
 * with `named(...)`. Only one profile runs at a time; concurrent work of other code in the same
 * process during an async `fn` is counted too.
 */
export async function profile<T>(fn: () => T | Promise<T>, options: ProfileOptions = {}): Promise<Profile<T>> {
  if (typeof fn !== 'function') throw new TypeError(`profile: fn must be a function, got ${typeof fn}.`);
  requireOptions('profile', options, '{ warmup: 1 }');
  const warmup = options.warmup ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0)
    throw new RangeError(`profile: options.warmup must be a non-negative integer, got ${warmup}.`);
  refuseNesting();
  if (warmup > 0) {
    for (let i = 0; i < warmup; i++) await finishAndFree(await fn());
    // Variants the warm-up queued for measurement are chosen now; one more run compiles the choices.
    await settleTuning();
    await finishAndFree(await fn());
  }
  const session = await startProfile();
  let value: T;
  try {
    value = await fn();
  } catch (e) {
    await session.stop();
    throw e;
  }
  return session.stop(value);
}

/** A profile started and stopped by hand (e.g. around some steps of a training loop's hooks). */
export interface ProfileSession {
  /**
   * Computes `value`'s pending tensors, waits for every backend to finish the recorded work,
   * stops recording and returns the profile. Idempotent: a second call returns the first result.
   */
  stop<T = undefined>(value?: T): Promise<Profile<T>>;
}

/** Starts recording after the work already recorded has finished (it is not counted). */
export async function startProfile(): Promise<ProfileSession> {
  refuseNesting();
  await sync();
  refuseNesting(); // another one may have started during the wait
  const recorder = new ProfileRecorder();
  const start = performance.now();
  setActiveProfile(recorder);
  let stopped: Promise<Profile<unknown>> | undefined;
  const stop = async <T>(value?: T): Promise<Profile<T>> => {
    try {
      // Pending fused results are part of the work: run them, then wait for everything.
      const leaves = treeLeaves(value).filter((t) => !t.isDisposed);
      if (leaves.length > 0) await sync(...leaves);
      await sync();
    } catch (e) {
      if (activeProfile() === recorder) setActiveProfile(undefined);
      throw e;
    }
    const wallMs = performance.now() - start;
    const userRecords = recorder.records.length;
    try {
      if (timestampedWebGpu() && recorder.records.some((r) => r.backend === 'webgpu')) await probeDispatchFloor();
    } finally {
      if (activeProfile() === recorder) setActiveProfile(undefined);
    }
    for (const b of startedBackends()) await b.collectTimings();
    const probes = recorder.records.splice(userRecords);
    return summarizeProfile(recorder, value as T, wallMs, median(probes.map((r) => r.deviceMs ?? 0)));
  };
  return {
    stop: <T>(value?: T) => {
      stopped ??= stop(value);
      return stopped as Promise<Profile<T>>;
    },
  };
}

function refuseNesting(): void {
  if (activeProfile())
    throw new Error('profile: another profile() is running; profiles do not nest (profile the outer call only).');
}

/**
 * How many floorProbe dispatches are timed after fn's work to read the timed pass's own cost
 * (Profile.dispatchFloorMs); they are not in the rows. @internal exported for the tests.
 */
export const FLOOR_PROBES = 9;

const timestampedWebGpu = (): boolean =>
  startedBackends().some((b) => b.name === 'webgpu' && b.profileTiming === 'timestamp-query');

/**
 * One floor probe: a one-element add on WebGPU, finished on its own (so it fuses with nothing).
 * @internal exported so the tests can tell its dispatch from fn's.
 */
export async function floorProbe(): Promise<void> {
  const x = tensor([0], { backend: 'webgpu' });
  const y = add(x, 1);
  await sync(y);
  x.dispose();
  y.dispose();
}

/** Runs FLOOR_PROBES floor probes. */
async function probeDispatchFloor(): Promise<void> {
  for (let i = 0; i < FLOOR_PROBES; i++) await floorProbe();
}

function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function summarizeProfile<T>(
  recorder: ProfileRecorder,
  value: T,
  wallMs: number,
  dispatchFloorMs: number | undefined,
): Profile<T> {
  const rows = summarize(recorder.records);
  const result: Profile<T> = {
    value,
    rows,
    dispatches: recorder.records.length,
    gpuMs: rows.reduce((n, r) => n + r.gpuMs, 0),
    wallMs,
    timing: timingOf(recorder.records),
    ...(dispatchFloorMs !== undefined ? { dispatchFloorMs } : {}),
    table: (opts) => profileTable(result, opts),
  };
  return result;
}

/** Computes a warm-up run's result (a pending fused result would otherwise never run) and frees it. */
async function finishAndFree(value: unknown): Promise<void> {
  const leaves = treeLeaves(value).filter((t) => !t.isDisposed);
  if (leaves.length > 0) await sync(...leaves);
  for (const t of leaves) t.dispose();
}

/** Sums records by (kernel, scope), largest device time first. */
function summarize(records: readonly KernelRecord[]): ProfileRow[] {
  const rows = new Map<string, { -readonly [K in keyof ProfileRow]: ProfileRow[K] }>();
  for (const r of records) {
    const key = `${r.backend}\u0000${r.kernel}\u0000${r.scope}`;
    let row = rows.get(key);
    if (!row) {
      row = { kernel: r.kernel, scope: r.scope, backend: r.backend, calls: 0, gpuMs: 0, hostMs: 0, compiles: 0 };
      rows.set(key, row);
    }
    addTotals(row, {
      calls: 1,
      gpuMs: r.deviceMs ?? 0,
      hostMs: r.hostMs,
      compiles: r.compiles,
      flops: r.flops,
      bytes: r.bytes,
    });
  }
  return [...rows.values()].sort((a, b) => b.gpuMs - a.gpuMs || b.calls - a.calls);
}

function timingOf(records: readonly KernelRecord[]): ProfileTiming {
  const gpu = records.some((r) => r.backend === 'webgpu');
  const cpu = records.some((r) => r.backend === 'cpu');
  const gpuTimed = startedBackends().some((b) => b.name === 'webgpu' && b.profileTiming === 'timestamp-query');
  if (gpu && !gpuTimed) return 'none';
  if (gpu && cpu) return 'mixed';
  return gpu ? 'timestamp-query' : 'host';
}
