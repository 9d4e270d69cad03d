// The diffusion process (issue 5): the scaled-linear schedule, q_sample and the eps loss, against
// float64 hand computations, on both backends, with gradients checked. The DDIM sampler's tests
// are in models-ddim.test.ts.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { epsLoss, qSample, sampleTimesteps, scaledLinearSchedule } from '../src/nn.js';
import { useBackends } from './support/backends.js';
import { toyModel, toyParams, TOY_T } from './support/diffusion-toys.js';

useBackends();

const host = async (x: Tensor): Promise<number[]> => Array.from(await x.data());

/** abar_t for the default schedule, computed independently: prod_{s<=t} (1 - beta_s). */
function handAlphasCumprod(b0: number, b1: number, steps: number): number[] {
  const out: number[] = [];
  let p = 1;
  for (let s = 0; s < steps; s++) {
    const root = Math.sqrt(b0) + (s / (steps - 1)) * (Math.sqrt(b1) - Math.sqrt(b0));
    p *= 1 - root ** 2;
    out.push(p);
  }
  return out;
}

describe('scaledLinearSchedule', () => {
  it('equals a float64 hand computation of Stable Diffusion betas and abar at several indices', () => {
    const s = scaledLinearSchedule();
    const hand = handAlphasCumprod(0.00085, 0.012, 1000);
    expect(s.T).toBe(1000);
    expect(s.betas[0]).toBeCloseTo(0.00085, 15);
    expect(s.betas[999]).toBeCloseTo(0.012, 15);
    expect(s.alphasCumprod[0]).toBeCloseTo(1 - 0.00085, 15);
    for (const t of [1, 10, 250, 500, 998, 999])
      expect(Math.abs(s.alphasCumprod[t] - hand[t]) / hand[t]).toBeLessThan(1e-12);
    // The well-known final value of Stable Diffusion's schedule, ~0.0047.
    expect(s.alphasCumprod[999]).toBeGreaterThan(0.0046);
    expect(s.alphasCumprod[999]).toBeLessThan(0.0048);
    for (let t = 1; t < 1000; t++) expect(s.alphasCumprod[t]).toBeLessThan(s.alphasCumprod[t - 1]);
  });

  it('is a frozen record and takes custom betas and steps', () => {
    const s = scaledLinearSchedule({ betaStart: 0.0001, betaEnd: 0.02, steps: 10 });
    expect(Object.isFrozen(s)).toBe(true);
    expect(s.betas.length).toBe(10);
    const hand = handAlphasCumprod(0.0001, 0.02, 10);
    hand.forEach((a, t) => expect(s.alphasCumprod[t]).toBeCloseTo(a, 14));
  });

  it('rejects non-integer steps and betas outside (0, 1), naming the function', () => {
    expect(() => scaledLinearSchedule({ steps: 0 })).toThrow(
      /scaledLinearSchedule: steps must be a positive integer, got 0/,
    );
    expect(() => scaledLinearSchedule({ steps: 2.5 })).toThrow(T.ShapeError);
    expect(() => scaledLinearSchedule({ betaEnd: 1.5 })).toThrow(/betaEnd 1.5 must lie in \(0, 1\)/);
  });
});

describe.each(['cpu', 'webgpu'] as const)('qSample on %s', (backend) => {
  const schedule = scaledLinearSchedule();
  const x0Values = [0.5, -0.25, 1, -1, 0.1, 0.2, 0.3, 0.4];
  const noiseValues = [1, 2, -1, 0.5, -0.3, 0.7, 1.5, -2];

  it('equals sqrt(abar_t) x0 + sqrt(1 - abar_t) noise per sample, for number[], int32 and float32 timesteps', async () => {
    const ts = [0, 999];
    const want = x0Values.map((x, i) => {
      const a = schedule.alphasCumprod[ts[Math.floor(i / 4)]];
      return Math.sqrt(a) * x + Math.sqrt(1 - a) * noiseValues[i];
    });
    const x0 = T.tensor(x0Values, { shape: [2, 1, 2, 2], backend });
    const noise = T.tensor(noiseValues, { shape: [2, 1, 2, 2], backend });
    for (const t of [ts, T.tensor(ts, { dtype: 'int32', backend }), T.tensor(ts, { dtype: 'float32', backend })]) {
      const xt = qSample(schedule, x0, t, noise);
      expect(xt.shape).toEqual([2, 1, 2, 2]);
      expect(xt.dtype).toBe('float32');
      (await host(xt)).forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
      xt.dispose();
      if (t instanceof T.Tensor) t.dispose();
    }
    x0.dispose();
    noise.dispose();
  });

  it('is differentiable in x0 and noise, with per-sample coefficients as gradients', async () => {
    const x0 = T.tensor(x0Values, { shape: [2, 1, 2, 2], backend });
    const noise = T.tensor(noiseValues, { shape: [2, 1, 2, 2], backend });
    const [value, [gx, gn]] = T.valueAndGrad((a: Tensor, b: Tensor) => T.sum(qSample(schedule, a, [3, 700], b)), {
      argnums: [0, 1],
    })(x0, noise);
    const a = [3, 700].map((t) => schedule.alphasCumprod[t]);
    (await host(gx)).forEach((g, i) => expect(g).toBeCloseTo(Math.sqrt(a[Math.floor(i / 4)]), 6));
    (await host(gn)).forEach((g, i) => expect(g).toBeCloseTo(Math.sqrt(1 - a[Math.floor(i / 4)]), 6));
    [value, gx, gn, x0, noise].forEach((t) => t.dispose());
  });

  it('rejects timesteps outside 0..T-1, a wrong count, a bool tensor and mismatched noise', () => {
    const before = T.memory();
    T.scope(() => {
      const x0 = T.zeros([2, 1, 2, 2], { backend });
      expect(() => qSample(schedule, x0, [0, 1000], x0)).toThrow(
        /qSample: timestep t\[1\] = 1000 is not an integer in 0\.\.999/,
      );
      expect(() => qSample(schedule, x0, [-1, 0], x0)).toThrow(T.ShapeError);
      expect(() => qSample(schedule, x0, [0.5, 0], x0)).toThrow(/t\[0\] = 0.5/);
      expect(() => qSample(schedule, x0, [0], x0)).toThrow(/got 1 timesteps for a batch of 2/);
      expect(() => qSample(schedule, x0, T.tensor([true, false], { backend }), x0)).toThrow(T.DTypeError);
      expect(() => qSample(schedule, x0, T.tensor([1, 2, 3], { dtype: 'int32', backend }), x0)).toThrow(
        /must have shape \[2\]/,
      );
      expect(() => qSample(schedule, x0, [0, 1], T.zeros([2, 1, 2, 3], { backend }))).toThrow(
        /noise \[2, 1, 2, 3\] must have the shape of x0 \[2, 1, 2, 2\]/,
      );
      expect(() => qSample(schedule, T.zeros([2, 2], { dtype: 'int32', backend }), [0, 1], x0)).toThrow(
        /x0 must be float32 or float64, got int32/,
      );
    });
    expect(T.memory()[backend].tensors).toBe(before[backend].tensors);
  });
});

describe('sampleTimesteps', () => {
  it('draws integers in 0..T-1, uniformly (mean within 5 standard errors), deterministically for a key', () => {
    const n = 4000;
    const ts = sampleTimesteps(T.key(3), n, 1000);
    expect(ts.every((t) => Number.isInteger(t) && t >= 0 && t < 1000)).toBe(true);
    const m = ts.reduce((a, b) => a + b, 0) / n;
    const se = Math.sqrt((1000 ** 2 - 1) / 12 / n);
    expect(Math.abs(m - 499.5)).toBeLessThan(5 * se);
    expect(sampleTimesteps(T.key(3), n, 1000)).toEqual(ts);
    expect(sampleTimesteps(T.key(4), 8, 1000)).not.toEqual(ts.slice(0, 8));
  });
});

describe.each(['cpu', 'webgpu'] as const)('epsLoss on %s', (backend) => {
  const schedule = scaledLinearSchedule({ steps: TOY_T });

  it('is deterministic for a key, positive, and equals its composition by hand', async () => {
    const params = toyParams(backend);
    const x0 = T.uniform(T.key(1), [3, 2, 4, 4], { min: -1, max: 1, backend });
    const cond = T.uniform(T.key(2), [3, 2, 4, 4], { min: -1, max: 1, backend });
    const k = T.key(7);
    const [a, b, c] = [k, k, T.key(8)].map((key) => epsLoss(toyModel, params, { x0, cond, key, schedule }));
    expect(a.shape).toEqual([]);
    const [va, vb, vc] = await Promise.all([a, b, c].map(host));
    expect(va).toEqual(vb);
    expect(va[0]).toBeGreaterThan(0);
    expect(vc[0]).not.toBeCloseTo(va[0], 6);
    // By hand: the key splits into [timesteps, noise].
    const manual = T.scope(() => {
      const [kt, kn] = T.split(k, 2);
      const t = sampleTimesteps(kt, 3, TOY_T);
      const noise = T.normal(kn, x0.shape, { backend });
      const xt = qSample(schedule, x0, t, noise);
      return T.mean(T.square(T.sub(toyModel(params, xt, T.tensor(t, { backend }), cond), noise)));
    });
    expect((await host(manual))[0]).toBeCloseTo(va[0], 6);
    T.treeLeaves([params, x0, cond, a, b, c, manual]).forEach((t) => t.dispose());
  });

  it('works inside valueAndGrad over the params, with finite gradients shaped like them', async () => {
    const params = toyParams(backend);
    const x0 = T.uniform(T.key(1), [2, 2, 4, 4], { min: -1, max: 1, backend });
    const before = T.memory()[backend].tensors;
    const [loss, grads] = T.valueAndGrad((p: typeof params) =>
      epsLoss(toyModel, p, { x0, cond: x0, key: T.key(5), schedule }),
    )(params);
    for (const name of ['wx', 'wc', 'wt', 'b'] as const) {
      expect(grads[name].shape).toEqual(params[name].shape);
      expect((await host(grads[name])).every(Number.isFinite)).toBe(true);
    }
    T.treeLeaves([loss, grads]).forEach((t) => t.dispose());
    expect(T.memory()[backend].tensors).toBe(before);
    T.treeLeaves([params, x0]).forEach((t) => t.dispose());
  });
});

describe('epsLoss gradients', () => {
  it('passes checkGrad w.r.t. the toy model params in float64 on the CPU', async () => {
    const schedule = scaledLinearSchedule({ steps: TOY_T });
    const p = toyParams('cpu', 'float64');
    const x0 = T.uniform(T.key(1), [2, 2, 3, 3], { min: -1, max: 1, backend: 'cpu', dtype: 'float64' });
    const cond = T.uniform(T.key(2), [2, 2, 3, 3], { min: -1, max: 1, backend: 'cpu', dtype: 'float64' });
    const report = await T.checkGrad(
      (wx, wc, wt, b) => epsLoss(toyModel, { wx, wc, wt, b }, { x0, cond, key: T.key(11), schedule }),
      [p.wx, p.wc, p.wt, p.b],
    );
    expect(report.ok, report.message).toBe(true);
    T.treeLeaves([p, x0, cond]).forEach((t) => t.dispose());
  });

  it('rejects a batch mismatch between x0 and cond, and a missing key', () => {
    const schedule = scaledLinearSchedule({ steps: TOY_T });
    T.scope(() => {
      const p = toyParams('cpu');
      const x0 = T.zeros([2, 2, 3, 3], { backend: 'cpu' });
      expect(() =>
        epsLoss(toyModel, p, { x0, cond: T.zeros([3, 2, 3, 3], { backend: 'cpu' }), key: T.key(0), schedule }),
      ).toThrow(/epsLoss: cond \[3, 2, 3, 3\] and x0 \[2, 2, 3, 3\] must have the same batch size/);
      expect(() => epsLoss(toyModel, p, { x0, cond: x0, key: 3 as unknown as T.PRNGKey, schedule })).toThrow(
        /epsLoss: expected a PRNGKey/,
      );
    });
  });
});
