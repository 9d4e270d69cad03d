// The paced GPU wait (src/kernels/webgpu/wait-pacing.ts): Dawn's self-re-queuing native tick spins
// for SPIN_MS and then runs from timers; every other setImmediate callback is untouched.
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWebGpuBackend, type WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { SPIN_MS, tickPacer } from '../src/kernels/webgpu/wait-pacing.js';

let gpu: WebGpuBackend;
/** Node's setTimeout, kept before any test fakes it. */
const realSetTimeout = globalThis.setTimeout;

beforeAll(async () => {
  gpu = await createWebGpuBackend(); // acquiring a device installs the pacing
});

afterAll(async () => {
  await gpu?.destroy();
});

/** A fake runtime: a clock the test moves, and a queue of what went where. */
function fakeRuntime() {
  let clock = 0;
  const queued: { readonly via: 'immediate' | 'timer'; readonly run: () => void }[] = [];
  return {
    runtime: {
      now: () => clock,
      immediate: (run: () => void) => queued.push({ via: 'immediate', run }),
      timer: (run: () => void) => queued.push({ via: 'timer', run }),
    },
    advance: (ms: number) => (clock += ms),
    /** Runs the oldest queued tick; returns how it was queued. */
    runNext: () => {
      const next = queued.shift();
      if (!next) throw new Error('nothing queued');
      next.run();
      return next.via;
    },
    get pending() {
      return queued.length;
    },
  };
}

describe('tickPacer', () => {
  it('a wait spins for SPIN_MS, then its ticks go to timers; a wait that ends resets', () => {
    const fake = fakeRuntime();
    const pace = tickPacer(fake.runtime);
    let left = 6;
    const dawnTick = (): void => {
      if (--left > 0) pace(dawnTick); // Dawn re-queues while a promise is pending
    };
    pace(dawnTick);
    const vias: string[] = [];
    while (fake.pending > 0) {
      fake.advance(SPIN_MS / 2);
      vias.push(fake.runNext());
    }
    // Queued at 0, 0.5, 1, 1.5, 2, 2.5 (x SPIN_MS): the first two spin.
    expect(vias).toEqual(['immediate', 'immediate', 'timer', 'timer', 'timer', 'timer']);
    // The wait ended (a tick queued nothing): the next one spins again, though the clock moved on.
    left = 1;
    pace(dawnTick);
    expect(fake.runNext()).toBe('immediate');
  });

  it('a tick that throws still ends its wait', () => {
    const fake = fakeRuntime();
    const pace = tickPacer(fake.runtime);
    pace(() => {
      throw new Error('tick failed');
    });
    fake.advance(10 * SPIN_MS);
    expect(() => fake.runNext()).toThrow('tick failed');
    pace(() => {});
    expect(fake.runNext()).toBe('immediate');
  });
});

describe('paced GPU waits, installed', () => {
  it('JavaScript and bound callbacks keep plain setImmediate, arguments and promise form included', async () => {
    const runs: number[] = [];
    await new Promise<void>((resolve) => {
      const next = (n: number) => {
        runs.push(n);
        if (n < 50) setImmediate(next, n + 1);
        else resolve();
      };
      setImmediate(next, 1);
    });
    expect(runs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const bound = function (this: { v: number }) {
      return this.v;
    }.bind({ v: 7 });
    expect(await new Promise((resolve) => setImmediate(() => resolve(bound())))).toBe(7);
    const handle = setImmediate(() => expect.fail('a cleared immediate ran'));
    clearImmediate(handle);
    await expect(promisify(setImmediate)('value')).resolves.toBe('value');
  });

  it('a long GPU wait still resolves while a test fakes setTimeout', async () => {
    const side = 384;
    const x = gpu.upload(new Float32Array(side * side).fill(1), 'float32');
    const square = { storage: x, dtype: 'float32' as const, shape: [side, side], strides: [side, 1], offset: 0 };
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const product = gpu.matmul(square, square); // several milliseconds on lavapipe: past the spin
      // A stalled wait would also stall vitest's own timeout (fake timers): fail from a real timer instead.
      const stalled = new Promise<never>((_, reject) =>
        realSetTimeout(() => reject(new Error('the GPU wait stalled under a faked setTimeout')), 20_000),
      );
      const read = gpu.read({ storage: product, dtype: 'float32', shape: [side * side], strides: [1], offset: 0 });
      const values = await Promise.race([read, stalled]);
      expect(values[side * side - 1]).toBe(side);
      gpu.release(product);
    } finally {
      vi.runOnlyPendingTimers(); // had a tick gone to the fake timers, this hands it on
      vi.useRealTimers();
      gpu.release(x);
    }
  });

  it('GPU reads resolve, after a short wait and after a long one', async () => {
    const n = 1 << 16;
    const x = gpu.upload(
      Float32Array.from({ length: n }, (_, i) => i % 7),
      'float32',
    );
    const square = { storage: x, dtype: 'float32' as const, shape: [256, 256], strides: [256, 1], offset: 0 };
    const product = gpu.matmul(square, square);
    const values = await gpu.read({ storage: product, dtype: 'float32', shape: [n], strides: [1], offset: 0 });
    let expected = 0;
    for (let k = 0; k < 256; k++) expected += (k % 7) * ((k * 256 + 3) % 7);
    expect(values[3]).toBe(expected);
    expect((await gpu.read({ ...square, shape: [n], strides: [1] }))[12345]).toBe(12345 % 7);
    gpu.release(product);
    gpu.release(x);
  });
});
