// The PyTorch peer of the UNet rows: bench/torch_networks.py runs the same UNet (written again in
// PyTorch) on our params and inputs, checks its outputs against ours, then times itself. Debian's
// python3-torch is installed on first use, as scripts/setup.mjs installs lavapipe.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UNetConfig } from '../../src/nn.js';

const SCRIPT = join(import.meta.dirname, '..', 'torch_networks.py');
const PYTHONS = ['/usr/bin/python3', 'python3'];

/** A run the peer declined (e.g. no CUDA device), with its reason. */
export interface TorchSkipped {
  readonly skipped: string;
}

export interface TorchRun {
  readonly params: number;
  readonly maxRelErr: number;
  readonly gradMaxRelErr?: number;
  readonly ms: readonly number[];
  readonly threads: number;
  readonly torch: string;
  readonly device: string;
}

/** A python3 that imports torch, or why there is none (after trying to install python3-torch once). */
export function findTorch(): { python: string } | { missing: string } {
  const probe = (): string | undefined =>
    PYTHONS.find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
  let python = probe();
  if (!python && process.env.BENCH_NO_INSTALL !== '1' && process.getuid?.() === 0) {
    process.stderr.write('[bench] installing the PyTorch peer (Debian python3-torch) ...\n');
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', 'python3-torch'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status === 0) python = probe();
  }
  return python
    ? { python }
    : { missing: 'no python3 with torch (install Debian python3-torch; the bench installs it when run as root)' };
}

/** A scratch folder for the exchange file, removed after `fn`. */
export async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-lrpo-bench-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the PyTorch UNet on `file` (params, inputs, our outputs) and returns its check and timings. */
export function runTorchUnet(
  python: string,
  file: string,
  config: UNetConfig,
  opts: {
    readonly threads: number;
    readonly reps: number;
    readonly backward: boolean;
    readonly budgetS: number;
    readonly device?: 'cpu' | 'cuda';
  },
): TorchRun | TorchSkipped {
  const args = [
    SCRIPT,
    file,
    '--config',
    JSON.stringify(config),
    '--threads',
    String(opts.threads),
    '--reps',
    String(opts.reps),
    '--budget-s',
    String(opts.budgetS),
    '--device',
    opts.device ?? 'cpu',
  ];
  if (opts.backward) args.push('--backward');
  const r = spawnSync(python, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    env: { ...process.env, OMP_NUM_THREADS: String(opts.threads) },
  });
  if (r.status !== 0)
    throw new Error(`torch_networks.py failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchRun | TorchSkipped;
}
