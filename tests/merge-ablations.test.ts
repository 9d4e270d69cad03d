// scripts/merge-ablations.ts: joins the ablation.json files of one study into one table, names the
// GT-regularized rows of a weight sweep by their weight, and refuses files from another study or
// whose shared rows disagree (they did not score the same faces with the same noise).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'merge-ablations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scores = (reward: number) => ({ reward, psnr: 20 + reward, ssim: 0.5, perceptual: 1, identity: 0.9, lmd: 3 });
function study(
  name: string,
  rows: Record<string, number[]>,
  overrides: Record<string, unknown> = { optimizer: { lr: 3e-5 } },
  start: { readonly init?: string; readonly initSha256?: string } = {},
): string {
  const run = join(dir, name);
  mkdirSync(run, { recursive: true });
  const options = {
    init: start.init ?? 'sft.safetensors',
    steps: 40,
    seeds: [0, 1],
    set: 'synthetic',
    count: 32,
    trainCount: 256,
    overrides,
  };
  const saved = {
    options,
    ...(start.initSha256 ? { initSha256: start.initSha256 } : {}),
    rows: Object.entries(rows).map(([method, rewards]) => ({ method, seeds: [0, 1], perSeed: rewards.map(scores) })),
  };
  writeFileSync(join(run, 'ablation.json'), JSON.stringify(saved));
  return run;
}

const merge = (...files: string[]): string => {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}.md`);
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/merge-ablations.ts', out, ...files], { stdio: 'pipe' });
  return readFileSync(out, 'utf8');
};

describe('merge-ablations', () => {
  it('joins rows of one study and names the GT-regularized rows of each weight', () => {
    const base = study('base', { 'SFT (start)': [0.5, 0.6], 'GRPO (no noise-level, no GT reg.)': [0.51, 0.61] });
    const w1 = study(
      'w1',
      { 'SFT (start)': [0.5, 0.6], '+ GT regularization': [0.52, 0.62] },
      { optimizer: { lr: 3e-5 }, gtRegularization: { weight: 0.1 } },
    );
    const w2 = study(
      'w2',
      { '+ GT regularization': [0.53, 0.63] },
      { optimizer: { lr: 3e-5 }, gtRegularization: { weight: 1 } },
    );
    const md = merge(base, w1, w2);
    const order = [
      '| SFT (start) |',
      '| GRPO (no noise-level, no GT reg.) |',
      '| + GT regularization (GT weight 0.1) |',
      '| + GT regularization (GT weight 1) |',
    ].map((r) => md.indexOf(r));
    order.forEach((i) => expect(i).toBeGreaterThan(0));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // The paired table: GT weight 1 minus SFT is +0.030 in reward for both seeds.
    expect(md).toMatch(/\| \+ GT regularization \(GT weight 1\) \| 2 \| \*\*\+0\.030/);
  });

  it('refuses a file whose shared row disagrees, and one from another study', () => {
    const a = study('a', { 'SFT (start)': [0.5, 0.6] });
    const b = study('b', { 'SFT (start)': [0.5, 0.7] });
    expect(() => merge(a, b)).toThrow(/"SFT \(start\)" seed 1 differs from an earlier file/);
    const c = study('c', { 'SFT (start)': [0.5, 0.6] }, { optimizer: { lr: 1e-4 } });
    expect(() => merge(a, c)).toThrow(/is another study than/);
  });

  it('compares the starts by contents where the files record them, else by path', () => {
    const sft = { 'SFT (start)': [0.5, 0.6] };
    const lr = { optimizer: { lr: 3e-5 } };
    const a = study('sha-a', sft, lr, { init: 'checkpoints/x.safetensors', initSha256: 'aa' });
    // The same file under another path (a copy in a worktree): one study.
    const moved = study('sha-moved', sft, lr, { init: '/elsewhere/x.safetensors', initSha256: 'aa' });
    expect(merge(a, moved)).toContain('| SFT (start) |');
    // The same path, retrained in between: another study.
    const retrained = study('sha-b', sft, lr, { init: 'checkpoints/x.safetensors', initSha256: 'bb' });
    expect(() => merge(a, retrained)).toThrow(/is another study than .*\(init sha256,/);
    // An older file without the hash: paths decide, as before.
    const old = study('sha-old', sft, lr, { init: 'checkpoints/x.safetensors' });
    expect(merge(a, old)).toContain('| SFT (start) |');
    expect(() => merge(moved, old)).toThrow(/is another study than .*\(init,/);
  });
});
