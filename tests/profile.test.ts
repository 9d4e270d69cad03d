// profile(fn) and named(): every kernel that ran is listed once per (kernel, scope), the rows add
// up to gpuMs, gpuMs fits in the wall time, scopes name where the work ran (forward and backward),
// and nothing is recorded outside a profile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { backendFor } from '../src/tensor/backends.js';
import type { View } from '../src/kernels/backend.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { UNET_PRESETS, unetApply, unetInit } from '../src/nn.js';
import { activeProfile } from '../src/profile/recorder.js';
import { FLOOR_PROBES, floorProbe } from '../src/profile/profile.js';
import { useBackends } from './support/backends.js';

useBackends();

let gpu: WebGpuBackend;
beforeAll(() => {
  gpu = backendFor('webgpu') as WebGpuBackend;
});
afterAll(() => {
  if (gpu) gpu.ctx.fusion = true;
});

/** Dispatch counts by kernel name while `run` goes (the dispatcher's own tally, independent of the profiler). */
async function dispatchedDuring(run: () => Promise<void>): Promise<Map<string, number>> {
  const before = new Map(gpu.ctx.dispatcher.kernelCounts);
  await run();
  const after = gpu.ctx.dispatcher.kernelCounts;
  return new Map([...after].map(([k, n]) => [k, n - (before.get(k) ?? 0)] as const).filter(([, n]) => n > 0));
}

/**
 * The dispatcher's tally during a WebGPU profile() less the profile's own floor probes (FLOOR_PROBES
 * runs of floorProbe after fn's work, timed to read a timed pass's cost and left out of the rows).
 */
async function dispatchedByProfiled(run: () => Promise<void>): Promise<Map<string, number>> {
  const probe = await dispatchedDuring(floorProbe);
  expect(probe.size).toBe(1);
  const [kernel] = [...probe.keys()];
  const all = await dispatchedDuring(run);
  const left = (all.get(kernel) ?? 0) - FLOOR_PROBES;
  expect(left).toBeGreaterThanOrEqual(0);
  if (left === 0) all.delete(kernel);
  else all.set(kernel, left);
  return all;
}

const callsByKernel = (rows: readonly T.ProfileRow[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const r of rows) m.set(r.kernel, (m.get(r.kernel) ?? 0) + r.calls);
  return m;
};

/** What must hold of any profile: the rows are the sum, device time fits in the wall time. */
function expectConsistent(p: T.Profile<unknown>): void {
  const sum = p.rows.reduce((n, r) => n + r.gpuMs, 0);
  expect(p.gpuMs).toBeCloseTo(sum, 6);
  expect(p.rows.reduce((n, r) => n + r.calls, 0)).toBe(p.dispatches);
  expect(p.gpuMs).toBeGreaterThan(0);
  // Kernels run one after another inside the measured interval (one queue; CPU ops synchronous).
  expect(p.gpuMs).toBeLessThanOrEqual(p.wallMs);
  for (const r of p.rows) expect(r.gpuMs).toBeGreaterThanOrEqual(0);
  expect(p.table()).toContain('| kernel | scope | calls | ms | % | GFLOP/s | GB/s | compiles |');
}

const chain = (x: T.Tensor, a: T.Tensor) => T.sum(T.sub(T.mul(T.silu(T.add(T.matmul(x, a), 1)), 1.5), T.tanh(x)));

describe('profile on WebGPU', () => {
  it.each([
    ['fused', true],
    ['unfused', false],
  ])(
    'a %s chain: every dispatched kernel is listed with its calls, rows add up, GPU time within wall time',
    async (_, fusion) => {
      expect(gpu.profileTiming).toBe('timestamp-query'); // lavapipe has timestamp-query
      gpu.ctx.fusion = fusion;
      const x = T.keep(T.uniform(T.key(1), [64, 64], { backend: 'webgpu' }));
      const a = T.keep(T.uniform(T.key(2), [64, 64], { backend: 'webgpu' }));
      await T.sync(x, a);
      let p!: T.Profile<T.Tensor>;
      const dispatched = await dispatchedByProfiled(async () => {
        p = await T.profile(() => T.named('chain', () => chain(x, a)));
      });
      expect(p.timing).toBe('timestamp-query');
      expect(callsByKernel(p.rows)).toEqual(dispatched);
      expect(p.rows.every((r) => r.scope === 'chain' && r.backend === 'webgpu')).toBe(true);
      if (fusion) expect(p.rows.some((r) => r.kernel.startsWith('fused:'))).toBe(true);
      else expect(p.rows.some((r) => r.kernel.startsWith('fused:'))).toBe(false);
      const mm = p.rows.find((r) => r.kernel.startsWith('matmul'))!;
      expect(mm.flops).toBe(2 * 64 * 64 * 64);
      expect(mm.bytes).toBeGreaterThanOrEqual(3 * 64 * 64 * 4);
      expectConsistent(p);
      const plain = T.scope(() => chain(x, a));
      expect((await p.value.data())[0]).toBeCloseTo((await plain.data())[0], 4);
      plain.dispose();
      p.value.dispose();
      x.dispose();
      a.dispose();
      gpu.ctx.fusion = true;
    },
  );

  it('reads what a timed pass costs from trivial dispatches, leaves them out of the rows, and says so', async () => {
    const x = T.keep(T.uniform(T.key(8), [256], { backend: 'webgpu' }));
    const p = await T.profile(() => T.named('f', () => T.exp(x)));
    expect(p.dispatchFloorMs).toBeGreaterThan(0);
    expect(Number.isFinite(p.dispatchFloorMs)).toBe(true);
    expect(p.rows.every((r) => r.scope === 'f')).toBe(true);
    expect(p.rows.reduce((n, r) => n + r.calls, 0)).toBe(p.dispatches);
    expect(p.table()).toMatch(/A trivial dispatch read [\d.]+ µs in its timed pass/);
    const cpu = await T.profile(() => T.exp(T.ones([4], { backend: 'cpu' })));
    expect(cpu.dispatchFloorMs).toBeUndefined();
    expect(cpu.table()).not.toContain('trivial dispatch');
    T.dispose([p.value, cpu.value, x]);
  });

  it('a tiny-UNet forward lists every kernel that ran, under the UNet block that ran it', async () => {
    const config = UNET_PRESETS.tiny;
    const params = unetInit(T.key(3), config, { backend: 'webgpu' });
    const xt = T.keep(T.normal(T.key(4), [2, 3, 32, 32], { backend: 'webgpu' }));
    const cond = T.keep(T.normal(T.key(5), [2, 3, 32, 32], { backend: 'webgpu' }));
    const t = T.keep(T.tensor([10, 500], { backend: 'webgpu' }));
    await T.sync(xt, cond, t, ...T.treeLeaves(params));
    let p!: T.Profile<T.Tensor>;
    const dispatched = await dispatchedByProfiled(async () => {
      p = await T.profile(() => unetApply(params, config, xt, t, cond));
    });
    expect(callsByKernel(p.rows)).toEqual(dispatched);
    const scopes = new Set(p.rows.map((r) => r.scope));
    for (const s of ['unet/time', 'unet/inConv', 'unet/down0.res0', 'unet/mid.attn', 'unet/up0.res0', 'unet/out'])
      expect(scopes).toContain(s);
    expect([...scopes].every((s) => s.startsWith('unet'))).toBe(true);
    expect(p.rows.some((r) => r.kernel.startsWith('conv2d') && r.flops! > 0)).toBe(true);
    expectConsistent(p);
    p.value.dispose();
    T.treeLeaves([params, xt, cond, t]).forEach((x) => x.dispose());
  });

  it('a Winograd convolution credits its FLOPs to its GEMMs, not to the transform that writes the output', async () => {
    const x = T.keep(T.uniform(T.key(7), [1, 128, 8, 8], { backend: 'webgpu' }));
    const w = T.keep(T.uniform(T.key(8), [128, 128, 3, 3], { backend: 'webgpu' }));
    await T.sync(x, w);
    const params = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;
    const view = (t: T.Tensor): View => ({ ...t, storage: t.storage('test') });
    gpu.ctx.fusion = false; // record now, inside profile() (a fused producer records when first used)
    const p = await T.profile(() => gpu.conv2d(view(x), view(w), params, 'winograd2x3'));
    gpu.ctx.fusion = true;
    const credited = p.rows.filter((r) => (r.flops ?? 0) > 0);
    expect(credited.map((r) => r.kernel)).toEqual([expect.stringMatching(/^matmul:/)]);
    expect(credited[0].flops).toBe(2 * 128 * 8 * 8 * 128 * 9); // the direct convolution's count
    expect(p.rows.map((r) => r.kernel)).toContainEqual(expect.stringMatching(/^conv2d:winograd2x3:output/));
    gpu.release(p.value);
    x.dispose();
    w.dispose();
  });

  it('backward kernels run under "<forward scope>/backward"; warm-up runs are not counted and are freed', async () => {
    const w = T.keep(T.uniform(T.key(6), [32, 32], { backend: 'webgpu' }));
    const before = T.memory().webgpu.tensors;
    const loss = (v: T.Tensor) => T.named('layer', () => T.sum(T.relu(T.matmul(v, v))));
    const p = await T.profile(() => T.named('step', () => T.grad(loss)(w)), { warmup: 1 });
    const scopes = new Set(p.rows.map((r) => r.scope));
    expect(scopes).toContain('step/layer');
    expect(scopes).toContain('step/layer/backward');
    expect(p.rows.filter((r) => r.kernel.startsWith('matmul')).reduce((n, r) => n + r.calls, 0)).toBe(3); // forward + two grads
    expectConsistent(p);
    p.value.dispose();
    expect(T.memory().webgpu.tensors).toBe(before);
    w.dispose();
  });
});

describe('profile on the CPU backend', () => {
  it('times each op on the host (timing "host"), one row per op and scope', async () => {
    const x = T.keep(T.uniform(T.key(1), [48, 48], { backend: 'cpu' }));
    const p = await T.profile(() => T.named('chain', () => chain(x, x)));
    expect(p.timing).toBe('host');
    expect(new Set(p.rows.map((r) => r.kernel))).toEqual(
      new Set(['matmul', 'add', 'silu', 'mul', 'tanh', 'sub', 'reduceSum']),
    );
    expect(p.rows.every((r) => r.backend === 'cpu' && r.scope === 'chain' && r.calls === 1)).toBe(true);
    expectConsistent(p);
    p.value.dispose();
    x.dispose();
  });
});

describe('profile and named: API', () => {
  it('named outside a profile only calls fn, and nothing is recorded', async () => {
    expect(activeProfile()).toBeUndefined();
    const before = gpu.ctx.dispatcher.dispatchCount;
    const y = T.named('outside', () => T.scope(() => T.add(T.ones([4]), 1)));
    expect(await y.data()).toEqual(new Float32Array([2, 2, 2, 2]));
    expect(gpu.ctx.dispatcher.dispatchCount).toBeGreaterThan(before);
    expect(activeProfile()).toBeUndefined();
    y.dispose();
  });

  it('named keeps its scope across awaits inside an async body', async () => {
    const p = await T.profile(() =>
      T.named('outer', async () => {
        const a = T.add(T.ones([8]), 1);
        await a.data();
        const b = T.named('inner', () => T.mul(a, 2));
        await b.data();
        a.dispose();
        return b;
      }),
    );
    const scopes = new Set(p.rows.map((r) => r.scope));
    expect(scopes).toEqual(new Set(['outer', 'outer/inner']));
    p.value.dispose();
  });

  it('bad arguments give clear errors', async () => {
    expect(() => T.named('', () => 1)).toThrow(/named: the scope name must be a non-empty string/);
    expect(() => T.named('x', 3 as never)).toThrow(/fn must be a function/);
    await expect(T.profile(3 as never)).rejects.toThrow(/profile: fn must be a function/);
    await expect(T.profile(() => 1, { warmup: -1 })).rejects.toThrow(/warmup must be a non-negative integer/);
    await expect(T.profile(() => T.profile(() => 1))).rejects.toThrow(/profiles do not nest/);
    expect(activeProfile()).toBeUndefined();
  });

  it('a throwing fn leaves profiling off', async () => {
    await expect(
      T.profile(() =>
        T.named('boom', () => {
          throw new Error('boom');
        }),
      ),
    ).rejects.toThrow('boom');
    expect(activeProfile()).toBeUndefined();
  });

  it('table groups by kernel or by scope, and the SVG names the top kernels', async () => {
    const x = T.keep(T.uniform(T.key(9), [32, 32], { backend: 'webgpu' }));
    const p = await T.profile(() => T.named('a', () => T.sum(T.named('b', () => T.matmul(x, x)))));
    const byScope = p.table({ by: 'scope' });
    expect(byScope).toMatch(/\| \* \| a\/b \|/);
    // matmul, then the sum's kernel(s): every row past the top one is folded into '(n more)'.
    const kernels = new Set(p.rows.map((r) => r.kernel)).size;
    expect(kernels).toBeGreaterThan(1);
    expect(p.table({ by: 'kernel', top: 1 })).toContain(`(${kernels - 1} more)`);
    expect(p.table({ by: 'scope', depth: 1 })).toMatch(/\| \* \| a \|/);
    expect(p.table({ by: 'scope', depth: 1 })).not.toContain('a/b');
    expect(() => p.table({ depth: 0 })).toThrow(/depth must be a positive integer/);
    const svg = T.profileSvg(p);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('matmul');
    p.value.dispose();
    x.dispose();
  });
});
