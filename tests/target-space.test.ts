// The policy's target space: how a generated sample becomes an image. With `inputLowpass` the
// restoration keeps its input's content below a Gaussian of that sigma and drops what the sample
// adds there; checkpoints carrying a space that cannot be used are refused when loaded.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { initPolicyParams, policyOf } from '../src/train/policy.js';
import { imageOf, targetOf, targetSpaceProblem, type TargetSpace } from '../src/train/target-space.js';
import { useBackends } from './support/backends.js';
import { MICRO_UNET as MICRO } from './support/micro-policy.js';

useBackends();

const expectNear = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i]), `element ${i}`).toBeLessThanOrEqual(tol);
};

const SPACE: TargetSpace = { kind: 'residual', scale: 4 };
const LOWPASS: TargetSpace = { ...SPACE, inputLowpass: 2 };

describe('imageOf', () => {
  it('without inputLowpass inverts targetOf (residual and image spaces)', async () => {
    const hq = T.uniform(T.key(1), [2, 3, 16, 16]);
    const lq = T.uniform(T.key(2), [2, 3, 16, 16]);
    for (const space of [SPACE, { kind: 'image', scale: 1 } as const]) {
      const back = T.scope(() => imageOf(space, targetOf(space, hq, lq), lq));
      expectNear(await back.data(), await hq.data(), 1e-6);
      back.dispose();
    }
    T.disposeTree([hq, lq]);
  });

  it("with inputLowpass keeps the input's coarse content: a smooth residual is dropped, a fine one kept", async () => {
    const lq = T.full([1, 3, 16, 16], 0.5);
    // A constant residual is all low-pass: the image stays the input.
    const flat = T.scope(() => imageOf(LOWPASS, T.full([1, 3, 16, 16], 0.4), lq));
    expectNear(await flat.data(), await lq.data(), 1e-5);
    // A 1-px checkerboard is almost all high-pass: it passes nearly whole (a 2 px Gaussian keeps ~0 of it).
    const checker = Float32Array.from({ length: 3 * 16 * 16 }, (_, i) =>
      ((i % 16) + Math.floor(i / 16)) % 2 ? 0.4 : -0.4,
    );
    const fine = T.scope(() => imageOf(LOWPASS, T.tensor(checker, { shape: [1, 3, 16, 16] }), lq));
    const got = await fine.data();
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - (0.5 + checker[i] / 4))).toBeLessThan(1e-3);
    T.disposeTree([lq, flat, fine]);
  });

  it('is differentiable through the low-pass (reward backprop needs it)', async () => {
    // float64 on the CPU backend; the input sits mid-range so the final clamp stays inactive.
    const host = (n: number, f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
    const opts = { shape: [1, 3, 8, 8], dtype: 'float64', backend: 'cpu' } as const;
    const lq = T.tensor(
      host(192, (i) => 0.4 + 0.2 * Math.sin(i)),
      opts,
    );
    const x0 = T.tensor(
      host(192, (i) => Math.cos(3 * i)),
      opts,
    );
    const f = (x: T.Tensor) => T.sum(T.square(imageOf(LOWPASS, T.mul(x, 0.1), lq)));
    const report = await T.checkGrad(f, [x0]);
    expect(report.ok, report.message).toBe(true);
    T.disposeTree([lq, x0]);
  });
});

describe('targetSpaceProblem', () => {
  it('accepts the spaces the toolkit writes and names what is wrong with others', () => {
    expect(targetSpaceProblem(SPACE)).toBeUndefined();
    expect(targetSpaceProblem(LOWPASS)).toBeUndefined();
    expect(targetSpaceProblem({ kind: 'image', scale: 1 })).toBeUndefined();
    expect(targetSpaceProblem(null)).toMatch(/not a record/);
    expect(targetSpaceProblem({ kind: 'latent', scale: 1 })).toMatch(/kind "latent" is not 'residual' or 'image'/);
    expect(targetSpaceProblem({ kind: 'residual', scale: 0 })).toMatch(/scale 0 is not a finite number > 0/);
    expect(targetSpaceProblem({ kind: 'residual', scale: 4, inputLowpass: -1 })).toMatch(/inputLowpass -1/);
    expect(targetSpaceProblem({ kind: 'residual', scale: 4, inputLowpass: '2' })).toMatch(/inputLowpass "2"/);
  });

  it('loadCheckpoint refuses a checkpoint whose space cannot be used, and keeps inputLowpass of one that can', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lrpo-space-'));
    const policy = policyOf({ name: 'micro', unet: MICRO }, 8, LOWPASS);
    const params = initPolicyParams(policy, T.key(5));
    const info = { preset: 'micro', unet: MICRO, stage: 'sft', step: 1, imageSize: 8 };
    await saveCheckpoint(join(dir, 'good.safetensors'), { info: { ...info, space: LOWPASS }, params });
    await saveCheckpoint(join(dir, 'bad.safetensors'), {
      info: { ...info, space: { kind: 'residual', scale: Infinity } as TargetSpace },
      params,
    });
    const good = await loadCheckpoint(join(dir, 'good.safetensors'));
    expect(good.info.space).toEqual(LOWPASS);
    await expect(loadCheckpoint(join(dir, 'bad.safetensors'))).rejects.toThrow(/scale null is not a finite number > 0/);
    T.disposeTree([params, good.params]);
  });
});
