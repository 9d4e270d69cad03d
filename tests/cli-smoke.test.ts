// Issue 17 item 1: every command of the CLI runs end to end, in process through the same
// commander program `npm run cli` parses, on the default WebGPU backend (lavapipe in CI: the face
// networks of the metrics are several times faster there than on the CPU reference backend) with
// the smallest settings (one or two steps, 16 px faces (SSIM's window needs 11), two images). Each
// command reads what the one before wrote: pretrain's policy is train's, eval's, restore's,
// ablate's and demo's starting point; report reads eval and train outputs and re-renders the demo.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import * as F from '../src/faces.js';
import { buildProgram } from '../src/cli/main.js';
import { readRunLog } from '../src/train/run-dir.js';
import { TINY_GROUP, TINY_PRETRAIN } from './support/cli-args.js';

let dir: string;
/** pretrain's output policy, the start of every later command. */
const policy = () => join(dir, 'sft', 'policy.safetensors');

/** Runs one CLI command line in this process (commander errors throw instead of exiting). */
const cli = (...args: string[]) =>
  buildProgram()
    .exitOverride()
    .parseAsync(['node', 'webgpu-lrpo', ...args]);

/** A generous per-command limit: on a loaded 2-core CI machine the demo alone takes minutes. */
const SLOW = 600_000;

// 4 sampling steps: 3 trained, of which --steps-per-update draws 1.
const LRPO_TINY = [...TINY_GROUP, '--steps-per-update', '1', '--gt-steps', '1'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrpo-cli-smoke-'));
});

describe('every CLI command runs end to end', () => {
  it(
    'pretrain trains, evaluates, checkpoints, and resumes',
    async () => {
      const args = ['pretrain', '--run', join(dir, 'sft'), '--steps', '2', ...TINY_PRETRAIN];
      await cli(...args, '--profile', '1'); // step 1 warms up, step 2 is profiled
      expect(existsSync(policy())).toBe(true);
      const profileMd = readFileSync(join(dir, 'sft', 'profile.md'), 'utf8');
      expect(profileMd).toContain('| kernel | scope | calls | ms | % | GFLOP/s | GB/s | compiles |');
      expect(profileMd).toMatch(/\| \* \| unet \|/); // the by-phase table: the UNet's forward and backward under its scope
      expect(readFileSync(join(dir, 'sft', 'profile.svg'), 'utf8')).toMatch(/^<svg/);
      expect(readdirSync(join(dir, 'sft', 'checkpoints')).sort()).toEqual([
        'step-000001.safetensors',
        'step-000002.safetensors',
      ]);
      const events = readRunLog(join(dir, 'sft'));
      expect(events.map((e) => e.event)).toEqual(['baseline', 'step', 'eval', 'step', 'eval']);
      expect(Number(events[0].psnr)).toBeGreaterThan(5);
      await cli(...args, '--resume'); // already at its last step: resumes and only rewrites the policy
      expect(readRunLog(join(dir, 'sft')).filter((e) => e.event === 'step')).toHaveLength(2);
    },
    SLOW,
  );

  it(
    'train fine-tunes the policy with LRPO',
    async () => {
      await cli(
        'train',
        '--run',
        join(dir, 'lrpo'),
        '--init',
        policy(),
        '--steps',
        '1',
        ...LRPO_TINY,
        '--train-count',
        '2',
        '--checkpoint-every',
        '1',
      );
      expect(readdirSync(join(dir, 'lrpo', 'checkpoints'))).toEqual(['step-000001.safetensors']);
      expect(readRunLog(join(dir, 'lrpo')).filter((e) => e.event === 'step')).toHaveLength(1);
    },
    SLOW,
  );

  it(
    'eval scores the checkpoints with every metric and writes --out',
    async () => {
      const out = join(dir, 'eval', 'scores.json');
      await cli(
        'eval',
        '--checkpoint',
        policy(),
        join(dir, 'lrpo', 'checkpoints', 'step-000001.safetensors'),
        '--data',
        'synthetic',
        '--count',
        '2',
        '--sampling-steps',
        '2',
        '--strength',
        '0.75',
        '--out',
        out,
        '--profile',
        join(dir, 'eval'),
      );
      expect(readFileSync(join(dir, 'eval', 'profile.md'), 'utf8')).toMatch(/\| \* \| synthetic \|/); // the set's scope, in the by-phase table
      expect(existsSync(join(dir, 'eval', 'profile.svg'))).toBe(true);
      const { results, sampling } = JSON.parse(readFileSync(out, 'utf8')) as {
        results: { method: string; scores: Record<string, number[]> }[];
        sampling: { strength: number };
      };
      expect(sampling.strength).toBe(0.75);
      expect(results.map((r) => r.method)).toHaveLength(3);
      expect(Object.keys(results[0].scores).sort()).toEqual([
        'brisque',
        'identity',
        'lmd',
        'perceptual',
        'psnr',
        'reward',
        'ssim',
      ]);
      expect(
        results.every((r) => Object.values(r.scores).every((s) => s.length === 2 && s.every(Number.isFinite))),
      ).toBe(true);
    },
    SLOW,
  );

  it(
    'restore writes one PNG per input face',
    async () => {
      await T.setBackend('cpu');
      const faces = F.faceDataset({ split: 'test', count: 2, size: 16 });
      mkdirSync(join(dir, 'faces'));
      for (let i = 0; i < 2; i++) {
        const img = T.tensor(faces.get(i).hq, { shape: [3, 16, 16] });
        await F.writeImage(join(dir, 'faces', `face${i}.png`), img);
        img.dispose();
      }
      await T.shutdown();
      await cli(
        'restore',
        '--checkpoint',
        policy(),
        '--input',
        join(dir, 'faces'),
        '--output',
        join(dir, 'restored'),
        '--sampling-steps',
        '2',
        '--strength',
        '0.5',
      );
      expect(readdirSync(join(dir, 'restored')).sort()).toEqual(['face0.png', 'face1.png']);
    },
    SLOW,
  );

  it(
    'report builds a report from eval and train outputs',
    async () => {
      await cli(
        'report',
        '--run',
        join(dir, 'report'),
        '--eval',
        join(dir, 'eval', 'scores.json'),
        '--train',
        join(dir, 'lrpo'),
      );
      expect(readFileSync(join(dir, 'report', 'report.md'), 'utf8')).toMatch(/PSNR/);
    },
    SLOW,
  );

  it(
    'ablate trains and scores a two-row study',
    async () => {
      await cli(
        'ablate',
        '--run',
        join(dir, 'ablate'),
        '--init',
        policy(),
        '--steps',
        '1',
        ...LRPO_TINY,
        '--seeds',
        '0',
        '--methods',
        'sft',
        'lrpo',
        '--count',
        '2',
        '--train-count',
        '2',
      );
      expect(readdirSync(join(dir, 'ablate')).some((f) => f.endsWith('.md'))).toBe(true);
    },
    SLOW,
  );

  it(
    'demo runs LRPO, evaluates and writes report.md, which report re-renders',
    async () => {
      const run = join(dir, 'demo');
      expect(existsSync(policy())).toBe(true); // else demo would fall back to a full 300-step pretrain
      // --data photo (the demo's default, named so the assertions below stay true if it moves).
      await cli(
        'demo',
        '--run',
        run,
        '--sft',
        policy(),
        '--data',
        'photo',
        '--lrpo-steps',
        '1',
        '--synthetic-count',
        '2',
        '--real-count',
        '4',
        '--real-strength', // the default only for the committed checkpoint it was chosen for
        '0.25',
      );
      const report = readFileSync(join(run, 'report.md'), 'utf8');
      // Restored - LQ split by how degraded the input is (4 faces or more a set).
      expect(report).toMatch(
        /real faces, Perceptual dist\.: LRPO - LQ input, split at the median input perceptual distance [\d.]+: milder 2: /,
      );
      expect(report).toMatch(/LRPO - SFT/);
      expect(report).toMatch(/photographic synthetic \(held-out\), Identity \(cos\): LRPO - LQ input = /);
      expect(report).toMatch(/real faces, Perceptual dist\.: SFT - LQ input = /);
      // Each policy's posterior-mean estimate, against the input and against the other's.
      expect(report).toMatch(/real faces, Identity \(cos\): LRPO, mean of 8 - LQ input = /);
      expect(report).toMatch(/real faces, Perceptual dist\.: LRPO, mean of 8 - SFT, mean of 8 = /);
      // Each policy's expected score (8 samples scored one by one), against the other's and the input.
      expect(report).toMatch(/real faces, Reward: LRPO, 8 samples scored - SFT, 8 samples scored = /);
      expect(report).toMatch(/real faces, Perceptual dist\.: LRPO, 8 samples scored - LQ input = /);
      expect(report).toMatch(/\| LRPO, 8 samples scored \| [\d.]+ ± [\d.]+ \|/);
      expect(report).toMatch(/\| Training faces \| photographic procedural faces/);
      // The real faces at a restoration strength (the default one for DEMO_SFT).
      expect(report).toMatch(/real faces, Reward: LRPO, strength 0\.25 - SFT, strength 0\.25 = /);
      expect(report).toMatch(/real faces, Perceptual dist\.: LRPO, strength 0\.25 - LQ input = /);
      expect(report).toMatch(/\| Restoration strength \| 1 \(the policy's sample\) everywhere/);
      expect(report).not.toMatch(/photographic synthetic \(held-out\), [^:]+: LRPO, strength/);
      await cli('report', '--run', run);
      expect(existsSync(join(run, 'report-data.json'))).toBe(true);
    },
    SLOW,
  );
});
