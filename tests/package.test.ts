// The package a user installs: `npm pack` builds dist/ (prepack) and ships it with the CLI's bin
// and the committed checkpoint. The tarball is unpacked into an empty project's node_modules with
// the runtime dependencies linked from this checkout (offline: no registry), and there the
// README's .mjs example, the subpath entries and the `webgpu-lrpo` command run as a user runs them.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  bin: Record<string, string>;
};
const work = mkdtempSync(join(tmpdir(), 'webgpu-lrpo-package-'));
const project = join(work, 'project');
const installed = join(project, 'node_modules', pkg.name);
let tarball = '';
let listing: string[] = [];

const run = (cmd: string, args: string[], options: SpawnSyncOptions = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...options });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
};
/** Runs in the empty project, with the real-face cache variable cleared (its default is inside the package). */
const inProject = (cmd: string, args: string[]) =>
  run(cmd, args, { cwd: project, env: { ...process.env, WEBGPU_LRPO_REAL_FACES_DIR: '' } });

/** The README's main example: its first ```js block, runnable as plain .mjs. */
const readmeMjs = (): string => {
  const m = /```js\n([\s\S]*?)```/.exec(readFileSync(join(root, 'README.md'), 'utf8'));
  if (!m) throw new Error('README.md has no ```js example');
  return m[1];
};

beforeAll(() => {
  const packed = run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root });
  expect(packed.status, packed.stdout + packed.stderr).toBe(0);
  tarball = join(work, packed.stdout.trim().split('\n').pop()!);
  listing = run('tar', ['-tzf', tarball]).stdout.split('\n');
  // What `npm install <tarball>` lays out, without the registry: the package, its runtime and peer
  // dependencies (linked; Node resolves their own dependencies from the checkout) and the bin link.
  mkdirSync(installed, { recursive: true });
  const untar = run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  expect(untar.status, untar.stderr).toBe(0);
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
    mkdirSync(dirname(join(project, 'node_modules', dep)), { recursive: true });
    symlinkSync(join(root, 'node_modules', dep), join(project, 'node_modules', dep));
  }
  mkdirSync(join(project, 'node_modules', '.bin'));
  for (const [name, target] of Object.entries(pkg.bin)) {
    chmodSync(join(installed, target), 0o755);
    symlinkSync(join('..', pkg.name, target), join(project, 'node_modules', '.bin', name));
  }
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'empty-project', private: true, type: 'module' }),
  );
}, 180_000);

describe('the packed tarball', () => {
  it('holds the built entries, the bin and the committed checkpoint, not the sources', () => {
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/nn.js',
      'dist/faces.js',
      'dist/lrpo.js',
      'dist/report.js',
      'dist/testing/index.js',
      'dist/cli/bin.js',
      'checkpoints/sft-tiny-32.safetensors',
      'checkpoints/sft-tiny-32-photo.safetensors',
      'checkpoints/sft-small-32-photo.safetensors',
      'README.md',
    ]) {
      expect(listing, file).toContain(`package/${file}`);
    }
    expect(listing.some((f) => f.startsWith('package/src/') || f.startsWith('package/tests/'))).toBe(false);
    expect(readFileSync(join(installed, 'dist/cli/bin.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

describe('installed in an empty project', () => {
  it("runs the README's .mjs example", () => {
    writeFileSync(join(project, 'example.mjs'), readmeMjs());
    const r = inProject(process.execPath, ['example.mjs']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Tensor\(\[\], float32, (webgpu|cpu)\)/m);
  });

  it('imports every subpath entry by name, with types next to each', () => {
    const program = `
      import { setBackend, shutdown, tensor, sum } from 'webgpu-lrpo';
      import { UNET_PRESETS } from 'webgpu-lrpo/nn';
      import { faceDataset, psnr } from 'webgpu-lrpo/faces';
      import { meanInterval } from 'webgpu-lrpo/lrpo';
      import { metricsTable } from 'webgpu-lrpo/report';
      import { arbitraryTensor } from 'webgpu-lrpo/testing';
      await setBackend('cpu');
      const face = tensor(faceDataset({ split: 'test', count: 1, size: 16 }).get(0).hq, { shape: [1, 3, 16, 16] });
      console.log(JSON.stringify({ presets: Object.keys(UNET_PRESETS), psnr: Math.round((await psnr(face, face).data())[0]), ci: meanInterval([1, 2, 3]).mean, table: typeof metricsTable, arb: typeof arbitraryTensor, sum: await sum(tensor([1, 2])).array() }));
      await shutdown();
    `;
    writeFileSync(join(project, 'entries.mjs'), program);
    const r = inProject(process.execPath, ['entries.mjs']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      presets: ['tiny', 'small', 'base'],
      psnr: 100,
      ci: 2,
      table: 'function',
      arb: 'function',
      sum: 3,
    });
    for (const entry of ['index', 'nn', 'faces', 'lrpo', 'report'])
      expect(existsSync(join(installed, 'dist', `${entry}.d.ts`)), entry).toBe(true);
  });

  it('`webgpu-lrpo --help` runs through the bin and says what needs more than the package', () => {
    const r = inProject('npx', ['--no', '--', 'webgpu-lrpo', '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: webgpu-lrpo \[options\] \[command\]/);
    expect(r.stdout).toMatch(/restore \[options\]/);
    expect(r.stdout).toMatch(
      /Needs beyond the installed package:[\s\S]*esbuild, @tensorflow\/tfjs-core[\s\S]*opencv-data/,
    );
  });

  it('restore works with the packaged checkpoint', () => {
    const r1 = inProject(process.execPath, [
      '-e',
      `
      import('webgpu-lrpo').then(async ({ setBackend, shutdown, tensor }) => {
        const { faceDataset, writeImage } = await import('webgpu-lrpo/faces');
        await setBackend('cpu');
        const faces = faceDataset({ split: 'test', count: 2, size: 32 });
        (await import('node:fs')).mkdirSync('faces');
        for (let i = 0; i < 2; i++) await writeImage('faces/f' + i + '.png', tensor(faces.get(i).hq, { shape: [3, 32, 32] }));
        await shutdown();
      });`,
    ]);
    expect(r1.status, r1.stderr).toBe(0);
    const r = inProject('npx', [
      '--no',
      '--',
      'webgpu-lrpo',
      'restore',
      '--checkpoint',
      `node_modules/${pkg.name}/checkpoints/sft-tiny-32.safetensors`,
      '--input',
      'faces',
      '--output',
      'restored',
      '--sampling-steps',
      '2',
      '--backend',
      'cpu',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('restored 2 images into restored');
    expect(readdirSync(join(project, 'restored')).sort()).toEqual(['f0.png', 'f1.png']);
  });

  it('eval, demo and ablate on the real-face set fail before any work, naming the missing dev dependencies and the alternative', () => {
    const ev = inProject('npx', [
      '--no',
      '--',
      'webgpu-lrpo',
      'eval',
      '--checkpoint',
      `node_modules/${pkg.name}/checkpoints/sft-tiny-32.safetensors`,
      '--backend',
      'cpu',
    ]);
    expect(ev.status).toBe(1);
    expect(ev.stderr).toMatch(
      /error: eval: the real-face set is not built .*building it needs esbuild, @tensorflow\/tfjs-core, @tensorflow\/tfjs-backend-cpu.*run from a git checkout after `npm ci`.*or pass --data synthetic/,
    );
    const demo = inProject('npx', ['--no', '--', 'webgpu-lrpo', 'demo', '--run', 'demo-run', '--backend', 'cpu']);
    expect(demo.status).toBe(1);
    expect(demo.stderr).toMatch(/error: demo: the real-face set is not built .*or run the demo from a git checkout/);
    expect(existsSync(join(project, 'demo-run'))).toBe(false); // refused before the run folder was made
    const ablate = inProject('npx', [
      '--no',
      '--',
      'webgpu-lrpo',
      'ablate',
      '--run',
      'ablate-run',
      '--data',
      'real',
      '--backend',
      'cpu',
    ]);
    expect(ablate.status).toBe(1);
    expect(ablate.stderr).toMatch(/error: ablate: the real-face set is not built .*or pass --data synthetic/);
  });

  it("the CLI's default SFT checkpoints (ablate/train --init, demo --sft) are the ones inside the installed package", () => {
    const r = inProject(process.execPath, [
      '--input-type=module',
      '-e',
      `
      const { COMMITTED_SFT, DEMO_SFT } = await import('./node_modules/${pkg.name}/dist/cli/commands/demo.js');
      const { existsSync } = await import('node:fs');
      console.log(JSON.stringify([COMMITTED_SFT, DEMO_SFT].map((path) => ({ path, exists: existsSync(path) }))));`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(
      ['sft-tiny-32.safetensors', 'sft-small-32-photo.safetensors'].map((file) => ({
        path: join(installed, 'checkpoints', file),
        exists: true,
      })),
    );
  });
});

describe('in this checkout', () => {
  it('plain Node ESM imports the built package by its own name', () => {
    const program = `
      import { tensor, matmul, sum, setBackend, shutdown } from '${pkg.name}';
      await setBackend('cpu');
      const y = sum(matmul(tensor([[1, 2], [3, 4]]), tensor([[1], [1]])));
      console.log(JSON.stringify(await y.array()));
      await shutdown();
    `;
    const r = run(process.execPath, ['--input-type=module', '-e', program], { cwd: root });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('10');
  });
});
