// jit: a call recorded once per input signature and replayed. Replays must give the bits the plain
// call gives (on new input values every call), refuse what a recording cannot repeat with errors
// that say so, hold no tensors, and free their buffers when disposed.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as T from '../src/index.js';
import { backendFor } from '../src/tensor/backends.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { useBackends } from './support/backends.js';
import { UNET_PRESETS, unetApply, unetInit, unetModel } from '../src/nn.js';
import { ddimSample } from '../src/models/diffusion/ddim.js';
import { ddimPlan } from '../src/models/diffusion/ddim-plan.js';
import { scaledLinearSchedule } from '../src/models/diffusion/schedule.js';

useBackends();

let gpu: WebGpuBackend;
beforeAll(() => {
  gpu = backendFor('webgpu') as WebGpuBackend;
});

const read = async (t: T.Tensor): Promise<number[]> => Array.from(await t.data());

/** Calls `f` (plain) and `jitted` on the same inputs `calls` times with fresh values; the bits must match. */
async function expectReplaysMatch<A extends T.Tensor[]>(
  f: (...xs: A) => T.Tensor,
  make: (seed: number) => A,
  calls = 4,
): Promise<void> {
  const jitted = T.jit(f);
  try {
    for (let c = 0; c < calls; c++) {
      const xs = make(c);
      const want = T.scope(() => T.keep(f(...xs)));
      const got = jitted(...xs);
      expect(got.shape).toEqual(want.shape);
      expect(got.dtype).toBe(want.dtype);
      expect(await read(got)).toEqual(await read(want));
      T.dispose(want, got, xs);
    }
    expect(jitted.recordings.length).toBe(1);
    expect(jitted.recordings[0].replays).toBe(calls - 1);
  } finally {
    jitted.dispose();
  }
}

describe('jit replays', () => {
  it('give the plain call bit for bit over random shapes, with new values every call', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 17 }),
        fc.integer({ min: 1, max: 40 }),
        async (m, k, n) => {
          const f = (a: T.Tensor, b: T.Tensor, c: T.Tensor) =>
            T.concat([T.softmax(T.add(T.matmul(a, b), c)), T.reshape(T.tanh(T.mul(c, 2)), [1, -1])], { axis: 0 });
          await expectReplaysMatch(f, (s): [T.Tensor, T.Tensor, T.Tensor] => [
            T.uniform(T.key(3 * s), [m, k]),
            T.uniform(T.key(3 * s + 1), [k, n]),
            T.uniform(T.key(3 * s + 2), [n]),
          ]);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('take strided views as inputs and return views of what they make', async () => {
    const f = (x: T.Tensor) => T.transpose(T.mul(T.exp(x), 0.5), [1, 0]);
    await expectReplaysMatch(f, (s): [T.Tensor] => [
      T.slice(T.transpose(T.normal(T.key(s), [7, 5]), [1, 0]), [1, 0], [4, 7]),
    ]);
  });

  it('follow a changed input even when the others repeat (a new param, the same batch)', async () => {
    const x = T.keep(T.normal(T.key(1), [4, 6]));
    const f = (w: T.Tensor, xx: T.Tensor) => T.relu(T.matmul(xx, w));
    const jitted = T.jit(f);
    for (let c = 0; c < 5; c++) {
      const w = T.normal(T.key(10 + (c % 2)), [6, 3]); // alternate between two weights
      const got = jitted(w, x);
      expect(await read(got)).toEqual(await read(f(w, x)));
      T.dispose(w, got);
    }
    jitted.dispose();
    x.dispose();
  });

  it('key the recording on aliasing and non-tensor arguments', async () => {
    const f = (a: T.Tensor, b: T.Tensor, opts: { scale: number }) => T.add(a, T.mul(b, opts.scale));
    const jitted = T.jit(f, { maxRecordings: 8 });
    const a = T.keep(T.normal(T.key(1), [5]));
    const b = T.keep(T.normal(T.key(2), [5]));
    for (let c = 0; c < 3; c++)
      for (const [x, y, scale] of [
        [a, a, 2],
        [a, b, 2],
        [a, b, -1],
      ] as const) {
        const got = jitted(x, y, { scale });
        expect(await read(got)).toEqual(await read(f(x, y, { scale })));
        got.dispose();
      }
    expect(jitted.recordings.length).toBe(3);
    jitted.dispose();
    T.dispose(a, b);
  });

  it('return trees with non-tensor leaves and inputs passed straight through', async () => {
    const f = (p: { w: T.Tensor; b: T.Tensor }, x: T.Tensor) => ({
      y: T.add(T.matmul(x, p.w), p.b),
      same: x,
      pair: [T.sum(x), 'label', 3] as const,
    });
    const jitted = T.jit(f);
    const p = { w: T.keep(T.normal(T.key(1), [3, 2])), b: T.keep(T.normal(T.key(2), [2])) };
    for (let c = 0; c < 3; c++) {
      const x = T.normal(T.key(5 + c), [4, 3]);
      const got = jitted(p, x);
      expect(got.pair[1]).toBe('label');
      expect(got.pair[2]).toBe(3);
      expect(got.same).not.toBe(x); // a copy the caller owns
      expect(await read(got.same)).toEqual(await read(x));
      expect(await read(got.y)).toEqual(await read(f(p, x).y));
      expect(await read(got.pair[0])).toEqual(await read(T.sum(x)));
      T.dispose(got, x);
    }
    jitted.dispose();
    T.dispose(p);
  });

  it('replay a whole training step: valueAndGrad inside the recording', async () => {
    const loss = (w: T.Tensor, x: T.Tensor) => T.mean(T.square(T.tanh(T.matmul(x, w))));
    const step = (w: T.Tensor, x: T.Tensor) => {
      const [value, g] = T.valueAndGrad(loss)(w, x);
      return { value, w: T.sub(w, T.mul(g, 0.1)) };
    };
    const jitted = T.jit(step);
    const x = T.keep(T.normal(T.key(1), [8, 5]));
    let w = T.normal(T.key(2), [5, 3]);
    let wPlain = T.keep(T.normal(T.key(2), [5, 3]));
    for (let c = 0; c < 4; c++) {
      const got = jitted(w, x);
      const want = step(wPlain, x);
      expect(await read(got.value)).toEqual(await read(want.value));
      expect(await read(got.w)).toEqual(await read(want.w));
      T.dispose(w, wPlain, got.value, want.value);
      w = got.w;
      wPlain = want.w;
    }
    expect(jitted.recordings[0].replays).toBe(3);
    jitted.dispose();
    T.dispose(w, wPlain, x);
  });

  it('run as plain ops under a transform, so gradients flow through a jitted function', async () => {
    const f = (w: T.Tensor, x: T.Tensor) => T.sum(T.sin(T.mul(w, x)));
    const jitted = T.jit(f);
    const x = T.keep(T.normal(T.key(1), [6]));
    const w = T.keep(T.normal(T.key(2), [6]));
    for (let c = 0; c < 3; c++) {
      const g = T.grad((ww: T.Tensor) => jitted(ww, x))(w);
      expect(await read(g)).toEqual(await read(T.grad((ww: T.Tensor) => f(ww, x))(w)));
      g.dispose();
    }
    expect(jitted.recordings.length).toBe(0);
    T.dispose(x, w);
  });

  it('rebuild a conv weight transform only when the weight changes (Winograd)', async () => {
    // 64 channels and 2 x 8 x 8 = 128 tiles of 4x4: F(4x4) by default on CPU adapters.
    const x = T.keep(T.normal(T.key(1), [2, 64, 32, 32]));
    const winograd = () =>
      [...gpu.ctx.dispatcher.kernelCounts].filter(([k]) => k.includes('winograd')).reduce((n, [, c]) => n + c, 0);
    const f = (w: T.Tensor, xx: T.Tensor) => T.conv2d(xx, w, { padding: 1 });
    const jitted = T.jit(f);
    const weights = [0, 1].map((s) => T.keep(T.normal(T.key(20 + s), [64, 64, 3, 3])));
    const before = winograd();
    const plain = f(weights[0], x);
    await T.sync(plain);
    plain.dispose();
    expect(winograd()).toBeGreaterThan(before); // this layer runs as Winograd here
    const dispatches: number[] = [];
    for (const w of [weights[0], weights[0], weights[0], weights[1], weights[1], weights[0]]) {
      const before = gpu.ctx.dispatcher.dispatchCount;
      const got = jitted(w, x);
      dispatches.push(gpu.ctx.dispatcher.dispatchCount - before);
      expect(await read(got)).toEqual(await read(f(w, x)));
      got.dispose();
    }
    // Replays 2..5: the transform runs when the weight is new to the recording, not when it repeats.
    const [, , sameW, newW, sameAgain, back] = dispatches;
    expect(newW).toBeGreaterThan(sameW);
    expect(sameAgain).toBe(sameW);
    expect(back).toBe(newW);
    jitted.dispose();
    T.dispose(weights, x);
  });
});

describe('jit refuses what a replay cannot repeat', () => {
  const refused = async (f: (x: T.Tensor) => T.Tensor, pattern: RegExp, userHeld = 0) => {
    const jitted = T.jit(f);
    const x = T.keep(T.normal(T.key(1), [4]));
    const before = T.memory().webgpu.tensors;
    T.dispose(jitted(x)); // first call: plain ops
    expect(() => jitted(x)).toThrow(pattern);
    expect(T.memory().webgpu.tensors).toBe(before + userHeld);
    expect(gpu.ctx.capture).toBeUndefined();
    jitted.dispose();
    x.dispose();
  };

  it('a tensor it was not given (a closure)', async () => {
    const outside = T.keep(T.normal(T.key(9), [4]));
    await refused((x) => T.add(x, outside), /not given.*pass it in the arguments/);
    outside.dispose();
  });

  it('a closure tensor still pending (a fused expression not yet run)', async () => {
    const outside = T.keep(T.mul(T.normal(T.key(9), [4]), 2));
    await refused((x) => T.add(x, outside), /pass it in the arguments/);
    outside.dispose();
  });

  it('a readback inside the call', async () => {
    await refused((x) => {
      void x.data().catch(() => undefined);
      return T.neg(x);
    }, /read a tensor back/);
  });

  it('a tensor kept beyond the call', async () => {
    const cache: T.Tensor[] = [];
    await refused(
      (x) => {
        cache.push(T.keep(T.exp(x)));
        return T.neg(x);
      },
      /kept 1 tensor/,
      2,
    );
    // The one kept by the refused recording reads as freed (its buffer went back with the recording's).
    await expect(cache[1].data()).rejects.toThrow(/released/);
    T.dispose(cache);
  });

  it('and a function that throws leaves nothing open; the next call records', async () => {
    let fail = true;
    const jitted = T.jit((x: T.Tensor) => {
      if (fail) throw new Error('boom');
      return T.neg(x);
    });
    const x = T.keep(T.normal(T.key(1), [3]));
    expect(() => jitted(x)).toThrow('boom');
    expect(() => jitted(x)).toThrow('boom');
    expect(gpu.ctx.capture).toBeUndefined();
    fail = false;
    for (let c = 0; c < 3; c++) {
      const y = jitted(x);
      expect(await read(y)).toEqual(await read(T.neg(x)));
      y.dispose();
    }
    jitted.dispose();
    x.dispose();
  });

  it('bad options', () => {
    expect(() => T.jit(3 as never)).toThrow(/expected a function/);
    expect(() => T.jit((x: T.Tensor) => x, { maxRecordings: 0 })).toThrow(/maxRecordings/);
  });
});

describe('jit memory', () => {
  it('replays hold no tensors, recordings past maxRecordings are freed, dispose frees the rest', async () => {
    const f = (x: T.Tensor) => T.sum(T.mul(x, x), { axis: 1 });
    const jitted = T.jit(f, { maxRecordings: 2 });
    const before = T.memory().webgpu;
    const calls = (sizes: number[], rounds: number) => {
      for (let round = 0; round < rounds; round++)
        for (const n of sizes) {
          const x = T.normal(T.key(round), [n, 4]);
          T.dispose(jitted(x), x);
        }
    };
    calls([3, 5], 10);
    expect(jitted.recordings.map((r) => r.replays)).toEqual([9, 9]);
    calls([7], 3); // a third signature: the least recently used recording (3 rows) is freed
    expect(jitted.recordings.map((r) => r.replays)).toEqual([9, 2]);
    // No tensors held; memory() counts the two recordings' bytes, as the recordings report them.
    const held = jitted.recordings.reduce((n, r) => n + r.bytes, 0);
    expect(held).toBeGreaterThan(0);
    expect(T.memory().webgpu).toEqual({ ...before, recordedBytes: before.recordedBytes + held });
    expect(gpu.ctx.recorded.size).toBeGreaterThan(0);
    jitted.dispose();
    expect(gpu.ctx.recorded.size).toBe(0);
    expect(T.memory().webgpu).toEqual(before);
  });

  it('a recording past maxBytes is freed and its calls run as plain ops', async () => {
    const f = (x: T.Tensor) => T.exp(T.neg(x));
    const jitted = T.jit(f, { maxBytes: 4096 });
    const before = T.memory().webgpu;
    for (const n of [4, 4, 4, 4, 100_000, 100_000, 100_000, 4]) {
      const x = T.normal(T.key(n), [n]);
      const y = jitted(x);
      const want = T.scope(() => f(x));
      expect(await read(y)).toEqual(await read(want));
      T.dispose(x, y, want);
    }
    expect(jitted.recordings.map((r) => r.replays)).toEqual([4]); // the small one, replayed; the large one plain
    expect(T.memory().webgpu).toEqual({ ...before, recordedBytes: before.recordedBytes + jitted.recordings[0].bytes });
    jitted.dispose();
    expect(T.memory().webgpu).toEqual(before);
    expect(() => T.jit(f, { maxBytes: 0 })).toThrow(/maxBytes/);
  });

  it('on the CPU backend it is the function itself', async () => {
    const jitted = T.jit((x: T.Tensor) => T.neg(x));
    const x = T.keep(T.tensor([1, 2], { backend: 'cpu' }));
    for (let c = 0; c < 3; c++) T.dispose(jitted(x));
    expect(jitted.recordings.length).toBe(0);
    x.dispose();
  });
});

describe('jit under profile()', () => {
  it('shows a replay kernel by kernel, in the scopes it was recorded in', async () => {
    const f = (x: T.Tensor) => T.named('block', () => T.softmax(T.matmul(x, x)));
    const jitted = T.jit(f);
    const x = T.keep(T.normal(T.key(1), [16, 16]));
    T.dispose(jitted(x), jitted(x));
    const p = await T.profile(() => T.named('outer', () => jitted(x)));
    expect(p.dispatches).toBeGreaterThanOrEqual(jitted.recordings[0].dispatches);
    const matmul = p.rows.find((r) => r.kernel.startsWith('matmul') && r.scope === 'outer/block');
    expect(matmul?.flops).toBe(2 * 16 ** 3); // counted when recorded
    T.dispose(p.value, x);
    jitted.dispose();
  });

  // Work that runs late (a fused expression computed when a later kernel reads it, a backward rule)
  // belongs to the scope it was made in, in a replay as in the plain call.
  it('puts deferred kernels and backward rules in the scopes a plain call shows', async () => {
    const loss = (w: T.Tensor, x: T.Tensor) => {
      const h = T.named('first', () => T.exp(T.mul(x, w)));
      return T.named('second', () => T.sum(T.softmax(T.matmul(h, h))));
    };
    const f = (w: T.Tensor, x: T.Tensor) => T.valueAndGrad(loss)(w, x);
    const w = T.keep(T.normal(T.key(2), [8, 8]));
    const x = T.keep(T.normal(T.key(3), [8, 8]));
    const rows = async (g: typeof f) => {
      const p = await T.profile(() => g(w, x));
      T.dispose(p.value);
      return p.rows.map((r) => `${r.scope} ${r.kernel}`).sort();
    };
    const jitted = T.jit(f);
    T.dispose(jitted(w, x), jitted(w, x));
    const plain = await rows(f);
    expect(plain.some((r) => r.startsWith('first ') && r.includes('exp'))).toBe(true);
    expect(plain.some((r) => r.startsWith('second/backward '))).toBe(true);
    expect(await rows(jitted)).toEqual(plain);
    T.dispose(w, x);
    jitted.dispose();
  });
});

describe('the sampler through the recorded UNet', () => {
  it('gives the same samples on its first and later calls, and the plain UNet within float rounding', async () => {
    const config = UNET_PRESETS.tiny;
    const params = unetInit(T.key(0), config);
    T.treeLeaves(params).forEach((p) => T.keep(p));
    const cond = T.keep(T.normal(T.key(1), [2, 3, 16, 16]));
    const plan = ddimPlan(scaledLinearSchedule(), { steps: 4, eta: 1 });
    const sample = async (model: ReturnType<typeof unetModel>) => {
      const { x0 } = ddimSample(model, params, cond, T.key(7), { plan });
      const v = await read(x0);
      x0.dispose();
      return v;
    };
    const model = unetModel(config);
    const first = await sample(model);
    expect(await sample(model)).toEqual(first);
    expect(await sample(model)).toEqual(first);
    const plain = await sample((p, xt, t, c) => unetApply(p, config, xt, t, c));
    const scale = Math.max(...plain.map(Math.abs));
    expect(Math.max(...plain.map((v, i) => Math.abs(v - first[i])))).toBeLessThan(1e-5 * scale);
    T.dispose(params, cond);
  });
});
