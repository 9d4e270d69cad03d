// How the main thread waits for the GPU. Dawn's Node binding resolves its promises (mapAsync,
// onSubmittedWorkDone) by re-queuing a native tick through the global `setImmediate` for as long
// as any of them is pending: a busy loop on the main thread. On a GPU that costs one core; on
// lavapipe the GPU *is* the CPU, and the loop took a core from the driver's worker threads: 40,000
// ticks and ~120 ms of tick time in one 300 ms face-ResNet forward on 2 cores (docs/measurements.md).
//
// Paced: a wait spins as before for its first SPIN_MS (short waits keep their latency), then its
// ticks run from 1 ms timers. Only unnamed native callbacks (Dawn's tick) are paced; every other
// callback goes straight to the real setImmediate.
import { promisify } from 'node:util';
import { readEnv } from '../../env.js';

/** How long a wait spins before its ticks move to timers. */
export const SPIN_MS = 1;
/** The timer period of a paced wait (Node's shortest). */
const PACED_PERIOD_MS = 1;

/** Dawn's tick: a native function without a name (bound functions are native too, but named 'bound ...'). */
const isDawnTick = (f: unknown): boolean =>
  typeof f === 'function' && f.name === '' && Function.prototype.toString.call(f).endsWith('{ [native code] }');

/** What pacing needs from the runtime (a fake one in tests). */
export interface PacingRuntime {
  readonly now: () => number;
  readonly immediate: (run: () => void) => unknown;
  readonly timer: (run: () => void, ms: number) => unknown;
}

/**
 * Where Dawn's ticks go: `runtime.immediate` for the first SPIN_MS of a wait (a run of ticks, each
 * queued by the one before), then `runtime.timer`. A tick that queues no successor ends the wait.
 */
export function tickPacer(runtime: PacingRuntime): (tick: () => void) => unknown {
  /** When the current wait's first tick was queued; undefined between waits. */
  let waitStart: number | undefined;
  /** Whether the tick now running queued its successor (the wait goes on). */
  let requeued = false;
  return (dawnTick) => {
    requeued = true;
    const now = runtime.now();
    waitStart ??= now;
    const tick = () => {
      requeued = false;
      try {
        dawnTick();
      } finally {
        if (!requeued) waitStart = undefined; // the wait ended: the next one spins again first
      }
    };
    return now - waitStart < SPIN_MS ? runtime.immediate(tick) : runtime.timer(tick, PACED_PERIOD_MS);
  };
}

let installed = false;

/**
 * Routes Dawn's ticks through a tickPacer, once per process (idempotent); every other callback
 * keeps the real setImmediate. WEBGPU_LRPO_SPIN_WAIT=1 leaves Dawn's busy loop as it is. Call
 * before the first device is created.
 */
export function paceGpuWaits(): void {
  if (installed || readEnv('WEBGPU_LRPO_SPIN_WAIT') === '1') return;
  installed = true;
  // Node's own timers, taken now: a test that fakes setTimeout later must not stall the device's waits.
  const realSetImmediate = globalThis.setImmediate;
  const realSetTimeout = globalThis.setTimeout;
  const pace = tickPacer({
    now: () => performance.now(),
    immediate: (run) => realSetImmediate(run),
    timer: (run, ms) => realSetTimeout(run, ms), // a timer handle where an immediate was asked for: Dawn ignores it
  });
  const routed = (callback: (...args: unknown[]) => void, ...args: unknown[]) =>
    isDawnTick(callback) ? pace(() => callback(...args)) : realSetImmediate(callback, ...args);
  // Node's setImmediate carries its promise form for util.promisify: keep it.
  Object.defineProperty(routed, promisify.custom, { value: promisify(realSetImmediate), enumerable: true });
  globalThis.setImmediate = routed as typeof setImmediate;
}
