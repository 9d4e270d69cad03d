// Specification of per-adapter variant tuning: the first use measures every candidate in the
// background and keeps the fastest, the choice survives in a JSON file per adapter, a stale file
// (one measured before a variant existed) is measured again, and the switches that turn it off.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { View } from '../src/kernels/backend.js';
import { convVariants, createWebGpuBackend, matmulVariants, type WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { matmul } from '../src/kernels/webgpu/kernels/matmul.js';
import {
  measuredChoice,
  Tuner,
  TUNING_MARGIN,
  tuningCachePath,
  tuningCandidates,
  tuningEnabled,
  tuningRepeats,
} from '../src/kernels/webgpu/tuning.js';

let gpu: WebGpuBackend;
let dir: string;
const savedDir = process.env.WEBGPU_LRPO_TUNING_DIR;

beforeAll(async () => {
  gpu = await createWebGpuBackend();
  dir = mkdtempSync(join(tmpdir(), 'tuning-test-'));
  process.env.WEBGPU_LRPO_TUNING_DIR = dir;
});

afterAll(async () => {
  if (savedDir === undefined) delete process.env.WEBGPU_LRPO_TUNING_DIR;
  else process.env.WEBGPU_LRPO_TUNING_DIR = savedDir;
  rmSync(dir, { recursive: true, force: true });
  await gpu?.destroy();
});

describe('tuning switches', () => {
  it('is on by default on GPUs, off under vitest, CI or on CPU adapters, and WEBGPU_LRPO_TUNE decides when set', () => {
    const gpu = 'NVIDIA H100 80GB HBM3';
    const lavapipe = 'mesa software llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1';
    expect(tuningEnabled({}, gpu)).toBe(true);
    expect(tuningEnabled({}, lavapipe)).toBe(false);
    expect(tuningEnabled({ WEBGPU_LRPO_TUNE: '1' }, lavapipe)).toBe(true);
    expect(tuningEnabled({ VITEST: 'true' }, gpu)).toBe(false);
    expect(tuningEnabled({ CI: '1' }, gpu)).toBe(false);
    expect(tuningEnabled({ CI: '1', WEBGPU_LRPO_TUNE: '1' }, gpu)).toBe(true);
    expect(tuningEnabled({ WEBGPU_LRPO_TUNE: '0' }, gpu)).toBe(false);
    expect(tuningEnabled({ WEBGPU_LRPO_TUNE: 'false' }, gpu)).toBe(false);
  });

  it('keeps one file per adapter under the chosen directory', () => {
    expect(tuningCachePath('Mesa llvmpipe (LLVM 15)', { WEBGPU_LRPO_TUNING_DIR: '/x' })).toBe(
      '/x/tuning-mesa-llvmpipe-llvm-15.json',
    );
    expect(tuningCachePath('A', { XDG_CACHE_HOME: '/c' })).toBe('/c/webgpu-lrpo/tuning-a.json');
  });

  it('a disabled tuner returns the fallback and measures nothing', () => {
    const tuner = new Tuner(gpu.ctx, false);
    let prepared = 0;
    const choice = tuner.choose('k', ['a', 'b'], 'b', () => {
      prepared++;
      return { candidates: [], cleanup: () => undefined };
    });
    expect(choice).toBe('b');
    expect(prepared).toBe(0);
  });
});

describe('measured choice', () => {
  /** Scratch buffers for 128^3 matmuls: `runs(n)` records n of them, `release` frees the buffers. */
  function matmulScratch() {
    const ctx = gpu.ctx;
    const size = 128 * 128;
    const view = (): View => ({
      storage: ctx.alloc('float32', size),
      dtype: 'float32',
      shape: [128, 128],
      strides: [128, 1],
      offset: 0,
    });
    const [a, b] = [view(), view()];
    const out = ctx.alloc('float32', size);
    return {
      runs: (n: number) => {
        for (let i = 0; i < n; i++) matmul(ctx, a, b, 'rows8x8', out);
      },
      release: () => [a.storage, b.storage, out].forEach((s) => ctx.release(s as never)),
    };
  }

  /** Candidates doing 1 or `slowRuns` 128^3 matmuls into scratch buffers, and a counter of preparations. */
  function workload(slowRuns: number, names: readonly string[]) {
    let prepared = 0;
    const prepare = () => {
      prepared++;
      const scratch = matmulScratch();
      return {
        candidates: names.map((name) => ({ name, record: () => scratch.runs(name === 'slow' ? slowRuns : 1) })),
        cleanup: scratch.release,
      };
    };
    return { prepare, prepared: () => prepared };
  }

  /** A tuner that has measured `key` once with the default 'slow' (24 products against 1). */
  async function measuredOnce(key: string) {
    const w = workload(24, ['slow', 'fast']);
    const tuner = new Tuner(gpu.ctx, true);
    tuner.choose(key, ['slow', 'fast'], 'slow', w.prepare);
    await tuner.settle();
    return { w, tuner };
  }

  it('runs the fallback first, then the fastest candidate, and persists it for the next process', async () => {
    const key = 'test|measured';
    const w = workload(24, ['slow', 'fast']);
    const tuner = new Tuner(gpu.ctx, true);
    expect(tuner.choose(key, ['slow', 'fast'], 'slow', w.prepare)).toBe('slow');
    expect(tuner.choose(key, ['slow', 'fast'], 'slow', w.prepare)).toBe('slow'); // queued once
    await tuner.settle();
    expect(w.prepared()).toBe(1);
    expect(tuner.choose(key, ['slow', 'fast'], 'slow', w.prepare)).toBe('fast');

    const file = JSON.parse(readFileSync(tuner.path, 'utf8'));
    expect(file.adapter).toBe(gpu.ctx.gpu.adapterDescription);
    expect(file.choices[key].variant).toBe('fast');
    expect(Object.keys(file.choices[key].ms).sort()).toEqual(['fast', 'slow']);

    // A new tuner (the next process) starts from the file: no measurement.
    const next = new Tuner(gpu.ctx, true);
    expect(next.choose(key, ['slow', 'fast'], 'slow', w.prepare)).toBe('fast');
    expect(w.prepared()).toBe(1);
  });

  it('a jit capture notes the keys it could not tune; its recording is redone once all are measured, not before', async () => {
    const tuner = new Tuner(gpu.ctx, true);
    const [k1, k2] = ['test|capture-1', 'test|capture-2'];
    const w = workload(4, ['slow', 'fast']);
    gpu.calls.begin([]);
    let seen: ReadonlyMap<string, unknown>;
    try {
      // Inside a capture: the fallback, nothing measured or queued, each key noted once.
      for (const key of [k1, k2, k1]) expect(tuner.choose(key, ['slow', 'fast'], 'slow', w.prepare)).toBe('slow');
      seen = new Map(gpu.ctx.capture!.untuned);
    } finally {
      gpu.calls.abort();
    }
    expect([...seen.keys()]).toEqual([k1, k2]);
    expect(w.prepared()).toBe(0);
    expect(tuner.measuredSince(seen)).toBe(false);
    // One key measured (by a plain call): the recording would still wait for the other.
    tuner.choose(k1, ['slow', 'fast'], 'slow', w.prepare);
    await tuner.settle();
    expect(tuner.measuredSince(seen)).toBe(false);
    tuner.choose(k2, ['slow', 'fast'], 'slow', w.prepare);
    await tuner.settle();
    expect(tuner.measuredSince(seen)).toBe(true);
    expect(tuner.measuredSince(new Map())).toBe(true);
  });

  it('measures again when a variant appeared since the choice was made, using the old choice meanwhile', async () => {
    const key = 'test|stale';
    await measuredOnce(key);
    const second = workload(24, ['slow', 'fast', 'newer']);
    const next = new Tuner(gpu.ctx, true);
    expect(next.choose(key, ['slow', 'fast', 'newer'], 'slow', second.prepare)).toBe('fast');
    expect(second.prepared()).toBe(1);
    await next.settle();
    const choice = next.choose(key, ['slow', 'fast', 'newer'], 'slow', second.prepare);
    expect(['fast', 'newer']).toContain(choice);
    expect(Object.keys(JSON.parse(readFileSync(next.path, 'utf8')).choices[key].ms).sort()).toEqual([
      'fast',
      'newer',
      'slow',
    ]);
    // A choice that no longer supports the problem is not used: the fallback runs.
    expect(next.choose(key, ['slow'], 'slow', second.prepare)).toBe('slow');
  });

  it('keeps the default unless a candidate saves more than the margin of its time (closer is noise)', () => {
    const near = 1 - TUNING_MARGIN;
    expect(measuredChoice({ default: 10, other: 10 * near + 0.01 }, 'default')).toBe('default');
    expect(measuredChoice({ default: 10, other: 10 * near - 0.01 }, 'default')).toBe('other');
    expect(measuredChoice({ default: 10, other: 9.99, third: 5 }, 'default')).toBe('third');
    // A default that was not timed (written off, or not a candidate) does not compete.
    expect(measuredChoice({ other: 9.99, third: 9.98 }, 'default')).toBe('third');
  });

  it('applies the margin to choices read from a file too (one written before the rule)', async () => {
    const key = 'test|from-file';
    const { w, tuner: first } = await measuredOnce(key);
    const file = JSON.parse(readFileSync(first.path, 'utf8'));
    const rewrite = (ms: Record<string, number>) => {
      file.choices[key] = { variant: 'fast', ms };
      writeFileSync(first.path, JSON.stringify(file));
      return new Tuner(gpu.ctx, true).choose(key, ['slow', 'fast'], 'slow', w.prepare);
    };
    expect(rewrite({ slow: 10, fast: 9.5 })).toBe('slow'); // within the margin: the default
    expect(rewrite({ slow: 10, fast: 8 })).toBe('fast');
    expect(w.prepared()).toBe(1); // neither was measured again
  });

  it('times a candidate again when its first run was slow (a pipeline compile), instead of writing it off', async () => {
    const { runs, release } = matmulScratch();
    // 'steady' always does 24 products; 'compiles' does 1500 the first time (its "compile", over
    // 30x steady's) and 1 after: ratios wide enough to hold on a loaded machine.
    let calls = 0;
    const candidates = [
      { name: 'steady', record: () => runs(24) },
      { name: 'compiles', record: () => runs(calls++ === 0 ? 1500 : 1) },
    ];
    const tuner = new Tuner(gpu.ctx, true);
    tuner.choose('test|first-run-slow', ['steady', 'compiles'], 'steady', () => ({ candidates, cleanup: release }));
    await tuner.settle();
    expect(calls).toBeGreaterThan(2); // timed after its slow first run
    expect(
      tuner.choose('test|first-run-slow', ['steady', 'compiles'], 'steady', () => ({
        candidates: [],
        cleanup: () => undefined,
      })),
    ).toBe('compiles');
  });

  it('leaves the GPU-only variants (barrier-per-step tiles, im2col) out of the candidates on CPU adapters only, unless one is the default', () => {
    const variants = [{ name: 'rows8x8' }, { name: 'tiled64x64k16', gpuOnly: true }];
    expect(tuningCandidates('llvmpipe (LLVM 15)', variants).map((v) => v.name)).toEqual(['rows8x8']);
    expect(tuningCandidates('nvidia NVIDIA: 580', variants).map((v) => v.name)).toEqual(['rows8x8', 'tiled64x64k16']);
    // The op's default stays a candidate, GPU-only or not: the measurement must beat it.
    expect(tuningCandidates('llvmpipe (LLVM 15)', variants, 'tiled64x64k16').map((v) => v.name)).toEqual([
      'rows8x8',
      'tiled64x64k16',
    ]);
    // Every tiled variant declares it.
    for (const v of [...matmulVariants, ...convVariants])
      if (v.name.startsWith('tiled') || v.name === 'im2col')
        expect((v as { gpuOnly?: boolean }).gpuOnly, v.name).toBe(true);
  });

  it('repeats a candidate until the timing holds real work: more on GPUs, whose round trip dwarfs small kernels', () => {
    expect(tuningRepeats('llvmpipe (LLVM 15)', 2 ** 20)).toBe(8);
    expect(tuningRepeats('llvmpipe (LLVM 15)', 2 ** 26)).toBe(1);
    expect(tuningRepeats('nvidia NVIDIA: 580', 2 ** 20)).toBe(64);
    expect(tuningRepeats('nvidia NVIDIA: 580', 2 ** 27)).toBe(8);
    expect(tuningRepeats('nvidia NVIDIA: 580', 2 ** 31)).toBe(1);
  });

  it('abandon() drops queued measurements, frees their scratch buffers and stops measuring', async () => {
    const w = workload(24, ['slow', 'fast']);
    let cleaned = 0;
    const prepare = () => {
      const job = w.prepare();
      return { ...job, cleanup: () => (cleaned++, job.cleanup()) };
    };
    const tuner = new Tuner(gpu.ctx, true);
    for (const key of ['test|abandon-1', 'test|abandon-2', 'test|abandon-3'])
      tuner.choose(key, ['slow', 'fast'], 'slow', prepare);
    expect(w.prepared()).toBe(3);
    await tuner.abandon();
    expect(cleaned).toBe(3); // every job's scratch buffers went back
    const measured = JSON.parse(readFileSync(tuner.path, 'utf8')).choices;
    // At most the measurement already in flight finished; the queued ones never ran.
    expect(['test|abandon-2', 'test|abandon-3'].filter((k) => k in measured)).toEqual([]);
    // Nothing is queued after abandon().
    tuner.choose('test|abandon-4', ['slow', 'fast'], 'slow', prepare);
    await tuner.settle();
    expect(cleaned).toBe(4);
    expect('test|abandon-4' in JSON.parse(readFileSync(tuner.path, 'utf8')).choices).toBe(false);
  });
});
