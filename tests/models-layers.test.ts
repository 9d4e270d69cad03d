// The UNet's layers as pure functions over param trees: init schemes, output shapes, known values
// against host computations, gradients (checkGrad, CPU float64), WebGPU = CPU, and clear errors.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import {
  attentionApply,
  attentionInit,
  checkParamsAgainstSpec,
  convApply,
  convInit,
  defaultGroups,
  downsampleApply,
  groupNormApply,
  groupNormInit,
  linearApply,
  linearInit,
  linearSpec,
  resampleInit,
  resBlockApply,
  resBlockInit,
  resBlockTimeShifts,
  sinusoidalEmbedding,
  specParamCount,
  timeEmbeddingApply,
  timeMlpApply,
  timeMlpInit,
  upsampleApply,
  type AttentionParams,
} from '../src/nn.js';
import { expectClose, useBackends } from './support/backends.js';

useBackends();

const cpu64 = { backend: 'cpu', dtype: 'float64' } as const;
/** A float64 CPU tensor from host values. */
const host = (values: readonly number[], shape: readonly number[]): Tensor =>
  T.tensor(Float64Array.from(values), { shape: [...shape], ...cpu64 });
/** Deterministic float64 CPU values in [-1, 1). */
const rand = (seed: number, shape: readonly number[]): Tensor =>
  T.uniform(T.key(seed), [...shape], { ...cpu64, min: -1, max: 1 });
const values = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

const expectAllClose = (got: readonly number[], want: readonly number[], tol: number, what: string): void => {
  expect(got.length, what).toBe(want.length);
  got.forEach((g, i) => {
    if (!(Math.abs(g - want[i]) <= tol * (1 + Math.abs(want[i]))))
      throw new Error(`${what}[${i}]: got ${g}, want ${want[i]} (tol ${tol})`);
  });
};

/** Runs `body` and checks it leaves no tensor alive on either backend. */
async function expectNoLeaks(body: () => Promise<void>): Promise<void> {
  const before = T.memory();
  await body();
  const after = T.memory();
  expect(after.cpu.tensors, 'live CPU tensors').toBe(before.cpu.tensors);
  expect(after.webgpu.tensors, 'live WebGPU tensors').toBe(before.webgpu.tensors);
}

describe('init schemes', () => {
  it('linear and conv weights and biases are U(-1/sqrt(fan_in), 1/sqrt(fan_in)) like torch, spread over the range', async () => {
    const lin = linearInit(T.key(1), { inFeatures: 50, outFeatures: 40 }, { backend: 'cpu' });
    const conv = convInit(T.key(2), { inChannels: 6, outChannels: 20, kernel: 3 }, { backend: 'cpu' });
    for (const [name, t, fanIn] of [
      ['linear.weight', lin.weight, 50],
      ['linear.bias', lin.bias, 50],
      ['conv.weight', conv.weight, 54],
      ['conv.bias', conv.bias, 54],
    ] as const) {
      const v = await values(t);
      const bound = 1 / Math.sqrt(fanIn);
      expect(t.dtype).toBe('float32');
      expect(Math.max(...v.map(Math.abs)), name).toBeLessThanOrEqual(bound);
      expect(Math.max(...v), name).toBeGreaterThan(bound * 0.5);
      expect(Math.min(...v), name).toBeLessThan(-bound * 0.5);
    }
    expect(lin.weight.shape).toEqual([40, 50]);
    expect(conv.weight.shape).toEqual([20, 6, 3, 3]);
    T.disposeTree([lin, conv]);
  });

  it('zeroInit gives all-zero leaves and leaves every other leaf of the tree unchanged', async () => {
    const on = resBlockInit(
      T.key(3),
      { inChannels: 4, outChannels: 4, timeEmbedDim: 8, zeroInit: true },
      { backend: 'cpu' },
    );
    const off = resBlockInit(
      T.key(3),
      { inChannels: 4, outChannels: 4, timeEmbedDim: 8, zeroInit: false },
      { backend: 'cpu' },
    );
    expect((await values(on.conv2.weight)).every((x) => x === 0)).toBe(true);
    expect((await values(on.conv2.bias)).every((x) => x === 0)).toBe(true);
    expect((await values(off.conv2.weight)).some((x) => x !== 0)).toBe(true);
    expect(await values(on.conv1.weight)).toEqual(await values(off.conv1.weight));
    expect(await values(on.time.weight)).toEqual(await values(off.time.weight));
    T.disposeTree([on, off]);
  });

  it('groupNorm starts at scale 1 and shift 0; defaultGroups is the largest divisor up to 32', async () => {
    const gn = groupNormInit({ channels: 6 }, { backend: 'cpu' });
    expect(await values(gn.weight)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(await values(gn.bias)).toEqual([0, 0, 0, 0, 0, 0]);
    expect([defaultGroups(64), defaultGroups(48), defaultGroups(16), defaultGroups(7), defaultGroups(96, 8)]).toEqual([
      32, 24, 16, 7, 8,
    ]);
    T.disposeTree(gn);
  });

  it('the same key gives the same params, another key different ones; float64 on request', async () => {
    const [a, b, c] = [1, 1, 2].map((s) => linearInit(T.key(s), { inFeatures: 3, outFeatures: 2 }, { ...cpu64 }));
    expect(a.weight.dtype).toBe('float64');
    expect(await values(a.weight)).toEqual(await values(b.weight));
    expect(await values(a.weight)).not.toEqual(await values(c.weight));
    T.disposeTree([a, b, c]);
  });

  it('specParamCount counts the spec leaves, and checkParamsAgainstSpec names the first mismatching path', () => {
    const spec = {
      layers: [linearSpec({ inFeatures: 3, outFeatures: 2 }), linearSpec({ inFeatures: 2, outFeatures: 5 })],
    };
    expect(specParamCount(spec)).toBe(3 * 2 + 2 + 2 * 5 + 5);
    const good = {
      layers: [
        linearInit(T.key(0), { inFeatures: 3, outFeatures: 2 }, { backend: 'cpu' }),
        linearInit(T.key(1), { inFeatures: 2, outFeatures: 5 }, { backend: 'cpu' }),
      ],
    };
    expect(() => checkParamsAgainstSpec('op', good, spec, 'the spec', 'Fix it.')).not.toThrow();
    const wrong = { layers: [good.layers[0], { weight: good.layers[0].weight, bias: good.layers[1].bias }] };
    expect(() => checkParamsAgainstSpec('op', wrong, spec, 'the spec', 'Fix it.')).toThrow(
      /op: params\.layers\.1\.weight has shape \[2, 3\] but the spec expects \[5, 2\]\. Fix it\./,
    );
    expect(() => checkParamsAgainstSpec('op', { layers: [good.layers[0]] }, spec, 'the spec', '')).toThrow(
      /params\.layers should be an array of 2 entries .* an array of 1/,
    );
    expect(() =>
      checkParamsAgainstSpec(
        'op',
        { layers: [good.layers[0], { weight: good.layers[1].weight }] },
        spec,
        'the spec',
        '',
      ),
    ).toThrow(/params\.layers\.1\.bias should be a tensor of shape \[5\] .* missing/);
    expect(() => checkParamsAgainstSpec('op', { ...good, extra: good.layers[0].bias }, spec, 'the spec', '')).toThrow(
      /params\.extra is not part of the spec/,
    );
    T.disposeTree(good);
  });
});

describe('linear, conv, groupNorm', () => {
  it('linear computes x W^T + b over the last axis of any rank', async () => {
    const p = { weight: host([1, 2, 3, -1, 0, 0.5], [2, 3]), bias: host([0.25, -2], [2]) };
    const x = host([1, 1, 1, 2, 0, -4, 0, 0, 0, 1, -1, 2], [2, 2, 3]);
    const y = linearApply(p, x);
    expect(y.shape).toEqual([2, 2, 2]);
    // rows: (1,1,1) -> (6.25, -2.5); (2,0,-4) -> (-9.75, -6); (0,0,0) -> (0.25, -2); (1,-1,2) -> (5.25, -2)
    expectAllClose(await values(y), [6.25, -2.5, -9.75, -6, 0.25, -2, 5.25, -2], 1e-12, 'linear');
    expect(() => linearApply(p, host([1, 2], [1, 2]))).toThrow(
      /linear: x \[1, 2\] must end in 3 features to match weight \[2, 3\]/,
    );
    T.disposeTree([p, x, y]);
  });

  it('a 3x3 conv keeps H and W; a centre-tap identity kernel returns x + bias; a 1x1 conv mixes channels', async () => {
    const x = rand(10, [2, 2, 5, 4]);
    const w = new Float64Array(2 * 2 * 9);
    w[0 * 18 + 0 * 9 + 4] = 1; // out 0 <- in 0, centre
    w[1 * 18 + 1 * 9 + 4] = 1; // out 1 <- in 1, centre
    const identity = { weight: T.tensor(w, { shape: [2, 2, 3, 3], ...cpu64 }), bias: host([0.5, -1], [2]) };
    const y = convApply(identity, x);
    expect(y.shape).toEqual([2, 2, 5, 4]);
    const xs = await values(x);
    expectAllClose(
      await values(y),
      xs.map((v, i) => v + (Math.floor(i / 20) % 2 === 0 ? 0.5 : -1)),
      1e-12,
      'identity conv',
    );
    const mix = { weight: host([1, 2, -1, 0.5, 3, 0], [3, 2, 1, 1]), bias: host([0, 0, 1], [3]) };
    const z = convApply(mix, x);
    expect(z.shape).toEqual([2, 3, 5, 4]);
    const zs = await values(z);
    // out channel 2, sample 1, pixel 7: 3 x[1,0,7] + 0 x[1,1,7] + 1
    expect(zs[1 * 60 + 2 * 20 + 7]).toBeCloseTo(3 * xs[1 * 40 + 7] + 1, 12);
    expect(() => convApply(mix, rand(1, [1, 3, 4, 4]))).toThrow(
      /conv: x \[1, 3, 4, 4\] must be \[N, 2, H, W\] to match weight \[3, 2, 1, 1\]/,
    );
    T.disposeTree([x, identity, y, mix, z]);
  });

  it('groupNormApply normalises each group to mean 0 and variance 1 before the affine', async () => {
    const x = T.add(T.mul(rand(11, [2, 4, 3, 3]), 5), 2);
    const p = groupNormInit({ channels: 4 }, cpu64);
    const y = groupNormApply(p, x, { groups: 2 });
    const ys = await values(y);
    for (let g = 0; g < 4; g++) {
      const chunk = ys.slice(g * 18, (g + 1) * 18);
      const m = chunk.reduce((a, v) => a + v, 0) / 18;
      const v = chunk.reduce((a, u) => a + (u - m) ** 2, 0) / 18;
      expect(m).toBeCloseTo(0, 10);
      expect(v).toBeCloseTo(1, 3); // eps 1e-5 in the denominator
    }
    expect(() => groupNormApply(p, x, { groups: 3 })).toThrow(
      /groups = 3 must divide the 4 channels; use defaultGroups\(4\) = 4/,
    );
    T.disposeTree([x, p, y]);
  });
});

describe('timestep embedding', () => {
  /** diffusers.models.embeddings.get_timestep_embedding written out in plain JS. */
  const reference = (ts: number[], dim: number, { flip = false, shift = 1, maxPeriod = 10000 } = {}): number[] => {
    const half = Math.floor(dim / 2);
    return ts.flatMap((t) => {
      const f = Array.from({ length: half }, (_, i) => Math.exp((-Math.log(maxPeriod) * i) / (half - shift)));
      const sines = f.map((fi) => Math.sin(t * fi));
      const cosines = f.map((fi) => Math.cos(t * fi));
      return [...(flip ? [...cosines, ...sines] : [...sines, ...cosines]), ...(dim % 2 ? [0] : [])];
    });
  };

  it('equals get_timestep_embedding for even and odd dims, flip and shift options', async () => {
    const ts = [0, 1, 17, 999];
    const t = host(ts, [4]);
    for (const [dim, opts, ref] of [
      [8, {}, {}],
      [7, {}, {}],
      [6, { flipSinToCos: true, downscaleFreqShift: 0, maxPeriod: 100 }, { flip: true, shift: 0, maxPeriod: 100 }],
    ] as const) {
      const e = sinusoidalEmbedding(t, dim, opts);
      expect(e.shape).toEqual([4, dim]);
      expectAllClose(await values(e), reference(ts, dim, ref), 1e-12, `embedding dim ${dim}`);
      e.dispose();
    }
    expect(() => sinusoidalEmbedding(host([1, 2], [2, 1]), 8)).toThrow(
      /sinusoidalEmbedding: t must be 1-D \[B\].*got \[2, 1\]/,
    );
    expect(() => sinusoidalEmbedding(t, 2)).toThrow(/dim = 2 is too small/);
    t.dispose();
  });

  it('the float32 embedding on WebGPU equals the CPU one for timesteps up to 999', async () => {
    const ts = [0, 3, 250, 511, 998, 999];
    const [c, g] = (['cpu', 'webgpu'] as const).map((backend) => {
      const t = T.tensor(ts, { backend });
      const e = sinusoidalEmbedding(t, 32);
      t.dispose();
      return e;
    });
    expect(g.backend).toBe('webgpu');
    expectClose(
      { cpu: await c.data(), gpu: await g.data(), shape: c.shape, dtype: 'float32' },
      { rtol: 0, atol: 2e-5 },
    );
    T.disposeTree([c, g]);
  });

  it('the time MLP maps [B] timesteps to [B, embedDim] as linear2(silu(linear1(sinusoid)))', async () => {
    const p = timeMlpInit(T.key(4), { inDim: 8, embedDim: 12 }, cpu64);
    const t = host([3, 500], [2]);
    const direct = timeMlpApply(p, sinusoidalEmbedding(t, 8));
    const whole = timeEmbeddingApply(p, t);
    expect(whole.shape).toEqual([2, 12]);
    expectAllClose(await values(whole), await values(direct), 0, 'time MLP');
    T.disposeTree([p, t, direct, whole]);
  });
});

describe('residual block', () => {
  it('maps [B, in, H, W] to [B, out, H, W], with a 1x1 skip exactly when the channels change', () => {
    const same = resBlockInit(T.key(5), { inChannels: 4, outChannels: 4, timeEmbedDim: 6 }, cpu64);
    const grow = resBlockInit(T.key(6), { inChannels: 4, outChannels: 8, timeEmbedDim: 6 }, cpu64);
    expect(same.skip).toBeUndefined();
    expect(grow.skip?.weight.shape).toEqual([8, 4, 1, 1]);
    const x = rand(12, [2, 4, 4, 4]);
    const temb = rand(13, [2, 6]);
    expect(resBlockApply(same, x, temb, { groups: 2 }).shape).toEqual([2, 4, 4, 4]);
    expect(resBlockApply(grow, x, temb, { groups: 2 }).shape).toEqual([2, 8, 4, 4]);
    expect(() => resBlockApply(same, x, rand(0, [2, 5]), { groups: 2 })).toThrow(
      /resBlock: temb \[2, 5\] must be \[B, 6\] with B = 2/,
    );
    T.disposeTree([same, grow, x, temb]);
  });

  it("resBlockTimeShifts gives every block's linear(SiLU(temb)) from one product, and a block given its shift computes the same", async () => {
    await expectNoLeaks(async () => {
      const widths = [4, 8, 3];
      const blocks = widths.map((outChannels, i) =>
        resBlockInit(T.key(40 + i), { inChannels: 4, outChannels, timeEmbedDim: 6, zeroInit: false }, cpu64),
      );
      const temb = rand(41, [2, 6]);
      const shifts = resBlockTimeShifts(blocks, temb);
      expect(shifts.map((s) => s.shape)).toEqual(widths.map((w) => [2, w]));
      for (const [i, block] of blocks.entries()) {
        const own = T.scope(() => linearApply(block.time, T.silu(temb)));
        expectAllClose(await values(shifts[i]), await values(own), 0, `block ${i}'s shift`);
        own.dispose();
      }
      const x = rand(42, [2, 4, 4, 4]);
      const given = resBlockApply(blocks[1], x, temb, { groups: 2, shift: shifts[1] });
      const own = resBlockApply(blocks[1], x, temb, { groups: 2 });
      expectAllClose(await values(given), await values(own), 0, 'block with its shift');
      expect(() => resBlockApply(blocks[1], x, temb, { groups: 2, shift: shifts[0] })).toThrow(
        /resBlock: shift \[2, 4\] must be \[2, 8\], the block's linear\(SiLU\(temb\)\)/,
      );
      expect(resBlockTimeShifts([], temb)).toEqual([]);
      const narrow = rand(43, [2, 5]);
      expect(() => resBlockTimeShifts(blocks, narrow)).toThrow(
        /resBlockTimeShifts: temb \[2, 5\] must be \[B, E\] with E every block's time embedding width \(the blocks take 6\)/,
      );
      T.disposeTree([blocks, temb, shifts, x, given, own, narrow]);
    });
  });

  it('zero-initialised, the block is its skip path: x itself, or the 1x1 conv of x', async () => {
    const x = rand(14, [1, 4, 3, 3]);
    const temb = rand(15, [1, 6]);
    const same = resBlockInit(T.key(7), { inChannels: 4, outChannels: 4, timeEmbedDim: 6 }, cpu64);
    const grow = resBlockInit(T.key(8), { inChannels: 4, outChannels: 8, timeEmbedDim: 6 }, cpu64);
    const [a, b, skip] = [
      resBlockApply(same, x, temb, { groups: 2 }),
      resBlockApply(grow, x, temb, { groups: 4 }),
      convApply(grow.skip!, x),
    ];
    expectAllClose(await values(a), await values(x), 1e-12, 'identity block');
    expectAllClose(await values(b), await values(skip), 1e-12, 'skip block');
    T.disposeTree([x, temb, same, grow, a, b, skip]);
  });

  it('equals GN -> SiLU -> conv -> + W silu(temb) + b over H, W -> GN -> SiLU -> conv, plus the 1x1 skip', async () => {
    const p = resBlockInit(T.key(9), { inChannels: 2, outChannels: 4, timeEmbedDim: 3, zeroInit: false }, cpu64);
    const x = rand(16, [2, 2, 3, 3]);
    const temb = rand(17, [2, 3]);
    const y = resBlockApply(p, x, temb, { groups: 2 });
    const want = T.scope(() => {
      const gn = (t: Tensor, n: { weight: Tensor; bias: Tensor }) =>
        T.groupNorm(t, { groups: 2, weight: n.weight, bias: n.bias });
      const conv = (t: Tensor, c: { weight: Tensor; bias: Tensor }, padding: number) =>
        T.conv2d(t, c.weight, { padding, bias: c.bias });
      const shift = T.add(T.matmul(T.silu(temb), T.transpose(p.time.weight)), p.time.bias); // [2, 4]
      const h = T.add(conv(T.silu(gn(x, p.norm1)), p.conv1, 1), T.reshape(shift, [2, 4, 1, 1]));
      return T.add(conv(x, p.skip!, 0), conv(T.silu(gn(h, p.norm2)), p.conv2, 1));
    });
    expectAllClose(await values(y), await values(want), 1e-12, 'res block');
    T.disposeTree([p, x, temb, y, want]);
  });

  it('checkGrad passes w.r.t. x, temb and conv1/time/conv2/skip weights (CPU float64)', async () => {
    const p = resBlockInit(T.key(10), { inChannels: 2, outChannels: 4, timeEmbedDim: 3, zeroInit: false }, cpu64);
    const x = rand(19, [2, 2, 3, 3]);
    const temb = rand(20, [2, 3]);
    const report = await T.checkGrad(
      (xi, ti, c1, tw, c2, sk, n2) =>
        resBlockApply(
          {
            ...p,
            conv1: { ...p.conv1, weight: c1 },
            time: { ...p.time, weight: tw },
            conv2: { ...p.conv2, weight: c2 },
            skip: { ...p.skip!, weight: sk },
            norm2: { ...p.norm2, weight: n2 },
          },
          xi,
          ti,
          { groups: 2 },
        ),
      [x, temb, p.conv1.weight, p.time.weight, p.conv2.weight, p.skip!.weight, p.norm2.weight],
      { maxElementsPerInput: 12 },
    );
    expect(report.ok, report.message).toBe(true);
    T.disposeTree([p, x, temb]);
  });
});

describe('attention', () => {
  /** The attention block on host arrays: GN (eps 1e-5), qkv, per-head softmax(q k^T / sqrt(d)) v, proj, residual. */
  const hostAttention = (
    x: number[],
    [b, c, h, w]: number[],
    p: Record<string, number[]>,
    groups: number,
    heads: number,
  ): number[] => {
    const n = h * w;
    const d = c / heads;
    const out = [...x];
    const at = (bi: number, ci: number, pi: number) => x[(bi * c + ci) * n + pi];
    for (let bi = 0; bi < b; bi++) {
      const normed: number[][] = Array.from({ length: n }, () => new Array(c).fill(0)); // [N, C]
      const per = c / groups;
      for (let g = 0; g < groups; g++) {
        const vals: number[] = [];
        for (let ci = g * per; ci < (g + 1) * per; ci++) for (let pi = 0; pi < n; pi++) vals.push(at(bi, ci, pi));
        const m = vals.reduce((a, v) => a + v, 0) / vals.length;
        const v = vals.reduce((a, u) => a + (u - m) ** 2, 0) / vals.length;
        for (let ci = g * per; ci < (g + 1) * per; ci++)
          for (let pi = 0; pi < n; pi++)
            normed[pi][ci] = ((at(bi, ci, pi) - m) / Math.sqrt(v + 1e-5)) * p.normW[ci] + p.normB[ci];
      }
      const lin = (rows: number[][], wt: number[], bias: number[], outF: number) =>
        rows.map((r) =>
          Array.from({ length: outF }, (_, o) => bias[o] + r.reduce((a, v, i) => a + v * wt[o * r.length + i], 0)),
        );
      const qkv = lin(normed, p.qkvW, p.qkvB, 3 * c);
      const attended: number[][] = Array.from({ length: n }, () => new Array(c).fill(0));
      for (let hd = 0; hd < heads; hd++) {
        for (let i = 0; i < n; i++) {
          const scores = Array.from({ length: n }, (_, j) => {
            let s = 0;
            for (let k = 0; k < d; k++) s += qkv[i][hd * d + k] * qkv[j][c + hd * d + k];
            return s / Math.sqrt(d);
          });
          const mx = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - mx));
          const z = e.reduce((a, v) => a + v, 0);
          for (let k = 0; k < d; k++)
            attended[i][hd * d + k] = e.reduce((a, ej, j) => a + (ej / z) * qkv[j][2 * c + hd * d + k], 0);
        }
      }
      const proj = lin(attended, p.projW, p.projB, c);
      for (let ci = 0; ci < c; ci++) for (let pi = 0; pi < n; pi++) out[(bi * c + ci) * n + pi] += proj[pi][ci];
    }
    return out;
  };

  const randomAttention = (seed: number, c: number, dtype: 'float32' | 'float64' = 'float64'): AttentionParams => {
    const base = attentionInit(T.key(seed), { channels: c, zeroInit: false }, { backend: 'cpu', dtype });
    // Non-trivial norm affine too.
    const norm = {
      weight: T.uniform(T.key(seed + 100), [c], { backend: 'cpu', dtype, min: 0.5, max: 1.5 }),
      bias: T.uniform(T.key(seed + 101), [c], { backend: 'cpu', dtype, min: -0.5, max: 0.5 }),
    };
    base.norm.weight.dispose();
    base.norm.bias.dispose();
    return { ...base, norm };
  };

  for (const heads of [1, 2]) {
    it(`with ${heads} head(s) equals a host computation of softmax(Q K^T / sqrt(d)) V + x`, async () => {
      const shape = [2, 4, 2, 3];
      const p = randomAttention(30 + heads, 4);
      const x = rand(21, shape);
      const y = attentionApply(p, x, { groups: 2, heads });
      expect(y.shape).toEqual(shape);
      const hp = {
        normW: await values(p.norm.weight),
        normB: await values(p.norm.bias),
        qkvW: await values(p.qkv.weight),
        qkvB: await values(p.qkv.bias),
        projW: await values(p.proj.weight),
        projB: await values(p.proj.bias),
      };
      expectAllClose(
        await values(y),
        hostAttention(await values(x), shape, hp, 2, heads),
        1e-10,
        `attention (${heads} heads)`,
      );
      T.disposeTree([p, x, y]);
    });
  }

  it('zero-initialised, the block is the identity', async () => {
    const p = attentionInit(T.key(40), { channels: 4 }, cpu64);
    const x = rand(22, [1, 4, 2, 2]);
    const y = attentionApply(p, x, { groups: 2, heads: 2 });
    expectAllClose(await values(y), await values(x), 0, 'zero-init attention');
    expect(() => attentionApply(p, x, { groups: 2, heads: 3 })).toThrow(
      /attention: heads = 3 must divide the 4 channels/,
    );
    T.disposeTree([p, x, y]);
  });

  it('checkGrad passes w.r.t. x and the qkv, proj and norm weights (CPU float64)', async () => {
    const p = randomAttention(41, 4);
    const x = rand(23, [1, 4, 2, 2]);
    const report = await T.checkGrad(
      (xi, qw, pw, nw) =>
        attentionApply(
          { ...p, qkv: { ...p.qkv, weight: qw }, proj: { ...p.proj, weight: pw }, norm: { ...p.norm, weight: nw } },
          xi,
          { groups: 2, heads: 2 },
        ),
      [x, p.qkv.weight, p.proj.weight, p.norm.weight],
      { maxElementsPerInput: 16 },
    );
    expect(report.ok, report.message).toBe(true);
    T.disposeTree([p, x]);
  });

  it('WebGPU equals the CPU on the same float32 params and input', async () => {
    const p32 = randomAttention(42, 8, 'float32');
    const x32 = T.uniform(T.key(24), [2, 8, 4, 4], { backend: 'cpu', min: -1, max: 1 });
    const leaves = T.treeLeaves(p32);
    const onGpu = await Promise.all(leaves.map((l) => T.toBackend(l, 'webgpu')));
    let i = 0;
    const pg = T.treeMap(p32, () => onGpu[i++]);
    const xg = await T.toBackend(x32, 'webgpu');
    await expectNoLeaks(async () => {
      const [c, g] = [
        attentionApply(p32, x32, { groups: 4, heads: 2 }),
        attentionApply(pg, xg, { groups: 4, heads: 2 }),
      ];
      expect(g.backend).toBe('webgpu');
      expectClose(
        { cpu: await c.data(), gpu: await g.data(), shape: c.shape, dtype: 'float32' },
        { rtol: 1e-4, atol: 1e-5 },
      );
      T.disposeTree([c, g]);
    });
    T.disposeTree([p32, pg, x32, xg]);
  });
});

describe('resampling', () => {
  it('downsampling halves H and W with a stride-2 conv, and refuses odd sizes', () => {
    const p = resampleInit(T.key(50), { channels: 3 }, cpu64);
    const x = rand(25, [2, 3, 8, 6]);
    const y = downsampleApply(p, x);
    expect(y.shape).toEqual([2, 3, 4, 3]);
    expect(() => downsampleApply(p, rand(0, [1, 3, 5, 6]))).toThrow(
      /downsample: x \[1, 3, 5, 6\] must be \[B, C, H, W\] with even H and W/,
    );
    T.disposeTree([p, x, y]);
  });

  it('upsampling doubles H and W: with a centre-tap identity conv it is nearest-neighbour x2', async () => {
    const w = new Float64Array(2 * 2 * 9);
    w[4] = 1;
    w[18 + 9 + 4] = 1;
    const p = { weight: T.tensor(w, { shape: [2, 2, 3, 3], ...cpu64 }), bias: host([0, 0], [2]) };
    const x = host([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    const y = upsampleApply(p, x);
    expect(y.shape).toEqual([1, 2, 4, 4]);
    expect(await values(y)).toEqual([
      1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4, 5, 5, 6, 6, 5, 5, 6, 6, 7, 7, 8, 8, 7, 7, 8, 8,
    ]);
    T.disposeTree([p, x, y]);
  });
});

describe('memory', () => {
  it('every layer frees its intermediates and leaves its params and inputs alive', async () => {
    const block = resBlockInit(T.key(60), { inChannels: 4, outChannels: 8, timeEmbedDim: 6 }, { backend: 'webgpu' });
    const attn = attentionInit(T.key(61), { channels: 8, zeroInit: false }, { backend: 'webgpu' });
    const x = T.uniform(T.key(26), [1, 4, 4, 4], { backend: 'webgpu' });
    const temb = T.uniform(T.key(27), [1, 6], { backend: 'webgpu' });
    const before = T.memory();
    const y = attentionApply(attn, resBlockApply(block, x, temb, { groups: 4 }), { groups: 4, heads: 2 });
    // One tensor more (y) plus the resBlock output, which is the caller's here.
    expect(T.memory().webgpu.tensors - before.webgpu.tensors).toBe(2);
    await y.data();
    T.disposeTree([block, attn, x, temb, y]);
  });
});
