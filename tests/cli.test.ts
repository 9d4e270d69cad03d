// Acceptance (issue 7): the command line refuses bad input with a clear message and exit code 1,
// leaving earlier checkpoints intact, and its commands run end to end on a micro checkpoint.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import * as L from '../src/lrpo.js';
import * as F from '../src/faces.js';
import { MICRO_UNET as MICRO } from './support/micro-policy.js';
import { TINY_GROUP } from './support/cli-args.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let dir: string;
let micro: string;

/** Runs the CLI on the CPU backend; returns exit status and output. */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lrpo-cli-'));
  await T.setBackend('cpu');
  const policy = L.policyOf({ name: 'micro', unet: MICRO }, 8);
  const params = L.initPolicyParams(policy, T.key(0));
  micro = join(dir, 'micro.safetensors');
  await L.saveCheckpoint(micro, {
    info: { preset: 'micro', unet: MICRO, space: policy.space, stage: 'sft', step: 0, imageSize: 8 },
    params,
  });
  T.disposeTree(params);
  // A folder of 8x8 and 9x9 face images for restore.
  const faces = F.faceDataset({ split: 'test', count: 2, size: 8 });
  mkdirSync(join(dir, 'in8'));
  mkdirSync(join(dir, 'in9'));
  for (let i = 0; i < 2; i++)
    await F.writeImage(join(dir, 'in8', `f${i}.png`), T.tensor(faces.get(i).hq, { shape: [3, 8, 8] }));
  await F.writeImage(join(dir, 'in9', 'odd.png'), T.zeros([3, 9, 9]));
});
afterAll(async () => {
  await T.shutdown();
});

describe('command line', () => {
  it('names a missing checkpoint and how to get one', () => {
    const r = cli('train', '--run', join(dir, 'r1'), '--init', join(dir, 'nope.safetensors'), '--backend', 'cpu');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nope\.safetensors does not exist; pass a checkpoint written by pretrain or train/);
  });

  it('refuses a file that is not a policy checkpoint', async () => {
    const plain = join(dir, 'plain.safetensors');
    await T.saveSafetensors(plain, { w: T.zeros([2], { backend: 'cpu' }) });
    const r = cli('eval', '--checkpoint', plain, '--backend', 'cpu');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/metadata format is undefined, not 'webgpu-lrpo\/policy'/);
  });

  it('refuses images of the wrong size unless --resize, then restores them', () => {
    const refused = cli(
      'restore',
      '--checkpoint',
      micro,
      '--input',
      join(dir, 'in9'),
      '--output',
      join(dir, 'out9'),
      '--backend',
      'cpu',
    );
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/odd\.png is 9 x 9 but 8 x 8 was asked for.*add --resize/s);
    const ok = cli(
      'restore',
      '--checkpoint',
      micro,
      '--input',
      join(dir, 'in8'),
      '--output',
      join(dir, 'out8'),
      '--sampling-steps',
      '4',
      '--backend',
      'cpu',
    );
    expect(ok.status, ok.stderr).toBe(0);
    expect(readdirSync(join(dir, 'out8')).sort()).toEqual(['f0.png', 'f1.png']);
  });

  it('rejects bad option values with the option name', () => {
    const r = cli('train', '--run', join(dir, 'r2'), '--init', micro, '--steps', '0');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--steps must be a positive integer, got '0'/);
  });

  it('trains LRPO, refuses a resume with other options, resumes with the same ones, and leaves checkpoints intact', () => {
    const run = join(dir, 'lrpo');
    const args = [
      'train',
      '--run',
      run,
      '--init',
      micro,
      '--steps',
      '2',
      ...TINY_GROUP,
      '--gt-steps',
      '1',
      '--train-count',
      '4',
      '--checkpoint-every',
      '1',
      '--backend',
      'cpu',
    ];
    const first = cli(...args);
    expect(first.status, first.stderr).toBe(0);
    const ckpts = readdirSync(join(run, 'checkpoints')).sort();
    expect(ckpts).toEqual(['step-000001.safetensors', 'step-000002.safetensors']);
    const before = statSync(join(run, 'checkpoints', ckpts[0])).mtimeMs;
    const again = cli(...args);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already holds a 'train' run; pass --resume/);
    const changed = cli(...args.map((a, i) => (args[i - 1] === '--steps' ? '3' : a)), '--resume');
    expect(changed.status).toBe(1);
    expect(changed.stderr).toMatch(
      /--resume needs the options it was started with; these differ: steps \(run: 2, now: 3\)/,
    );
    const resumed = cli(...args, '--resume');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(statSync(join(run, 'checkpoints', ckpts[0])).mtimeMs).toBe(before);
    const steps = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(steps.filter((e) => e.event === 'step').map((e) => e.step)).toEqual([1, 2]);
    expect(steps.every((e) => typeof e.liveTensors === 'number' && typeof e.rewardMean === 'number')).toBe(true);
    expect(existsSync(join(run, 'config.json'))).toBe(true);
  });
});
