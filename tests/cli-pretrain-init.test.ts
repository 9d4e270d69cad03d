// `pretrain --init <checkpoint>` fine-tunes: the run starts from the checkpoint's params (with lr 0
// they come out unchanged), records the init in config.json, and refuses a checkpoint of another size.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { loadCheckpoint } from '../src/lrpo.js';
import { TINY_PRETRAIN } from './support/cli-args.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let dir: string;

function cli(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args, '--backend', 'cpu'],
    { cwd: root, encoding: 'utf8', timeout: 240_000 },
  );
  return { status: r.status, stderr: r.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lrpo-init-'));
  await T.setBackend('cpu');
  const r = cli('pretrain', '--run', join(dir, 'base'), '--steps', '2', ...TINY_PRETRAIN);
  expect(r.status, r.stderr).toBe(0);
});
afterAll(async () => {
  await T.shutdown();
});

describe('pretrain --init', () => {
  it('starts from the checkpoint: with lr 0 the params come out equal, and config.json names the init', async () => {
    const init = join(dir, 'base', 'policy.safetensors');
    const r = cli('pretrain', '--run', join(dir, 'ft'), '--init', init, '--steps', '1', '--lr', '0', ...TINY_PRETRAIN);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/fine-tuning from .*base\/policy\.safetensors/);
    expect(JSON.parse(readFileSync(join(dir, 'ft', 'config.json'), 'utf8')).init).toBe(init);
    const a = await loadCheckpoint(init, { backend: 'cpu' });
    const b = await loadCheckpoint(join(dir, 'ft', 'policy.safetensors'), { backend: 'cpu' });
    const [la, lb] = [T.treeLeaves(a.params), T.treeLeaves(b.params)];
    expect(lb.length).toBe(la.length);
    for (let i = 0; i < la.length; i++) expect(Array.from(await lb[i].data())).toEqual(Array.from(await la[i].data()));
    T.disposeTree([a.params, b.params]);
  });

  it('--input-lowpass writes the space into the checkpoint, and may differ from the init (targets do not use it)', async () => {
    const init = join(dir, 'base', 'policy.safetensors');
    const args = ['--init', init, '--steps', '1', '--lr', '0', '--input-lowpass', '1.5', ...TINY_PRETRAIN];
    const r = cli('pretrain', '--run', join(dir, 'lowpass'), ...args);
    expect(r.status, r.stderr).toBe(0);
    const c = await loadCheckpoint(join(dir, 'lowpass', 'policy.safetensors'), { backend: 'cpu' });
    expect(c.info.space).toEqual({ kind: 'residual', scale: 4, inputLowpass: 1.5 });
    T.disposeTree(c.params);
    const scale = cli('pretrain', '--run', join(dir, 'scale'), ...args, '--residual-scale', '2');
    expect(scale.status).toBe(1);
    expect(scale.stderr).toMatch(/samples in space .* match --target and --residual-scale to the checkpoint/);
    const wide = cli('pretrain', '--run', join(dir, 'wide'), ...args.map((a) => (a === '1.5' ? '100' : a)));
    expect(wide.status).toBe(1);
    expect(wide.stderr).toMatch(
      /inputLowpass 100 is not a number of pixels in \[0, 64\]; check --target, --residual-scale and --input-lowpass/,
    );
    expect(existsSync(join(dir, 'wide'))).toBe(false);
  });

  it('refuses a checkpoint trained at another size', () => {
    const r = cli(
      'pretrain',
      '--run',
      join(dir, 'bad'),
      '--init',
      join(dir, 'base', 'policy.safetensors'),
      '--steps',
      '1',
      ...TINY_PRETRAIN.map((a) => (a === '16' ? '24' : a)),
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/loadCheckpoint\(.*policy\.safetensors\)/);
  });
});
