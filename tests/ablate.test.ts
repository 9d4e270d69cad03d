// Acceptance (issue 7): the ablation command trains every (method, seed) from one SFT checkpoint,
// scores them on the same faces, and writes the per-seed table and the paired-difference table;
// a resumed study reuses finished sub-runs and reproduces the same numbers.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import * as L from '../src/lrpo.js';
import { ablate, type AblateOptions } from '../src/cli/commands/ablate.js';
import { MICRO_UNET as MICRO } from './support/micro-policy.js';
import { useBackends } from './support/backends.js';

useBackends();

let options: AblateOptions;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrpo-ablate-'));
  const policy = L.policyOf({ name: 'micro', unet: MICRO }, 16);
  const params = L.initPolicyParams(policy, T.key(0));
  const init = join(dir, 'micro.safetensors');
  await L.saveCheckpoint(init, {
    info: { preset: 'micro', unet: MICRO, space: policy.space, stage: 'sft', step: 0, imageSize: 16 },
    params,
  });
  T.disposeTree(params);
  options = {
    run: join(dir, 'study'),
    init,
    steps: 1,
    seeds: [0, 1],
    methods: ['sft', 'grpo'],
    set: 'synthetic',
    count: 2,
    trainCount: 4,
    overrides: { groupSize: 2, inputsPerBatch: 1, sampling: { steps: 4, eta: 1 }, gtRegularization: { lastSteps: 1 } },
    quiet: true,
  };
});

describe('ablate', () => {
  it('writes the per-seed table and the paired differences from SFT, and resumes to the same numbers', async () => {
    const before = T.memory().webgpu.tensors;
    const markdown = await ablate(options);
    expect(T.memory().webgpu.tensors).toBe(before);
    expect(markdown).toMatch(/# Ablation: LRPO components \(2 seeds, 1 steps each\)/);
    expect(markdown).toMatch(/\| SFT \(start\) \| 2 \|/);
    expect(markdown).toMatch(/\| Method − SFT \(start\) \| Seeds \| Reward ↑/);
    expect(markdown).toMatch(/\| GRPO \(no noise-level, no GT reg\.\) \| 2 \| (\*\*)?[+-]?\d\.\d{3} ± /);
    const saved = JSON.parse(readFileSync(join(options.run, 'ablation.json'), 'utf8'));
    expect(saved.rows.map((r: { method: string; seeds: number[] }) => [r.method, r.seeds])).toEqual([
      ['SFT (start)', [0, 1]],
      ['GRPO (no noise-level, no GT reg.)', [0, 1]],
    ]);
    // The start by its contents (merge-ablations compares it).
    expect(saved.initSha256).toBe(createHash('sha256').update(readFileSync(options.init)).digest('hex'));
    // The delta cell is the mean of the per-seed differences.
    const [sft, grpo] = saved.rows;
    const mean = (grpo.perSeed[0].lmd - sft.perSeed[0].lmd + grpo.perSeed[1].lmd - sft.perSeed[1].lmd) / 2;
    expect(markdown).toContain(`${mean.toFixed(3)} ±`);
    const again = await ablate({ ...options, resume: true });
    expect(again).toBe(markdown);
  });

  it("scores every row with the study's reward and names non-default weights in the caption", async () => {
    const sftOnly = { ...options, methods: ['sft'] as const, seeds: [0] };
    const plain = await ablate({ ...sftOnly, run: `${options.run}-plain` });
    const weights = { identity: 0, perceptual: 0, noReference: 0, wavelet: 1 };
    const waveletOnly = await ablate({
      ...sftOnly,
      run: `${options.run}-wavelet`,
      overrides: { ...options.overrides, rewardWeights: weights },
    });
    expect(plain).not.toMatch(/The reward \(trained on and scored\)/);
    expect(waveletOnly).toContain(
      'The reward (trained on and scored) weighs its terms identity 0, perceptual 0, noReference 0, wavelet 1 (the default: identity 0.3, perceptual 0.3, noReference 0.1, wavelet 0.3).',
    );
    const row = (run: string) => JSON.parse(readFileSync(join(run, 'ablation.json'), 'utf8')).rows[0].perSeed[0];
    const [a, b] = [row(`${options.run}-plain`), row(`${options.run}-wavelet`)];
    // Same restorations (same checkpoint and noise), another reward.
    expect(b.psnr).toBe(a.psnr);
    expect(b.perceptual).toBe(a.perceptual);
    expect(b.reward).not.toBeCloseTo(a.reward, 4);
  });
});
