// Per-adapter kernel-variant choice by measurement: the first use of an (op, shape class) runs the
// default variant and queues a short background timing of every supporting variant on scratch
// buffers of the same shapes; later uses run the fastest. Choices persist in a JSON file per
// adapter, so the next process starts tuned. Off (defaults only) under vitest, CI, or
// WEBGPU_LRPO_TUNE=0, so tests stay deterministic, and by default on CPU adapters, whose defaults
// are measured there (see tuningEnabled).
import { unprofiled } from '../../profile/recorder.js';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { GpuContext } from './context.js';
import { readEnv } from '../../env.js';

/** Timed runs per variant after one warm-up (which also compiles the pipeline). */
const TIMED_RUNS = 3;
/** A variant whose first timed run is this many times slower than the best so far is not run again. */
const GIVE_UP_FACTOR = 3;
/**
 * The share of the default's time a candidate must save to replace it. The defaults were chosen by
 * measurement; a few percent is inside what one timing moves on a shared machine (this one's cores
 * switch between two speeds: docs/measurements.md), so a closer win is noise and keeps the default.
 */
export const TUNING_MARGIN = 0.1;

/**
 * The variant a measurement settles on: the fastest, unless the default (`fallback`, when timed)
 * is within TUNING_MARGIN of it.
 */
export function measuredChoice(ms: Readonly<Record<string, number>>, fallback: string): string {
  const [fastest, best] = Object.entries(ms).sort((x, y) => x[1] - y[1])[0];
  return fallback in ms && best > ms[fallback] * (1 - TUNING_MARGIN) ? fallback : fastest;
}

/**
 * Bumped when measured choices go stale as a whole: 2 since Winograd keeps a reused weight's
 * transform (the 64-channel face ResNet layers were measured with it re-done every call); 3 since
 * the runs of 8 pixels (runs8x8sg), which no earlier choice was measured against; 4 since the runs
 * kernels share row pieces between lanes and the weight gradients skip side loads (2026-12-07),
 * 6-20% faster a call, so every choice measured against them before is stale.
 */
const CACHE_VERSION = 4;

/**
 * Whether variant choice by measurement is on: WEBGPU_LRPO_TUNE=1/0 decides; unset, it is on
 * except under vitest or CI and on CPU adapters. The defaults (each op's defaultVariant) were
 * measured on lavapipe, and there a settled tuning cache ran whole LRPO steps no faster than them,
 * while an empty one (a fresh machine: every candidate compiled by LLVM and timed on the two cores
 * the work itself needs) made the first `npm start` 13.1 min instead of 8.3 (docs/measurements.md).
 */
export function tuningEnabled(env?: NodeJS.ProcessEnv, adapterDescription = ''): boolean {
  const flag = readEnv('WEBGPU_LRPO_TUNE', env);
  if (flag !== undefined) return flag !== '0' && flag.toLowerCase() !== 'false';
  return !readEnv('VITEST', env) && !readEnv('CI', env) && !isCpuAdapter(adapterDescription);
}

/** Whether the adapter is a CPU rasteriser (lavapipe / llvmpipe / SwiftShader), where barriers are costly. */
export const isCpuAdapter = (adapterDescription: string): boolean =>
  /llvmpipe|lavapipe|swiftshader|software/i.test(adapterDescription);

/**
 * How many back-to-back runs one timing of a candidate records: enough work that the timing is
 * not the submit-and-wait round trip (on a GPU through Dawn, far longer than a small conv: see
 * docs/measurements.md), at most a few on CPU adapters, where every run is slow.
 */
export function tuningRepeats(adapterDescription: string, flops: number): number {
  const [target, most] = isCpuAdapter(adapterDescription) ? [2 ** 25, 8] : [2 ** 30, 64];
  return Math.max(1, Math.min(most, Math.ceil(target / Math.max(flops, 1))));
}

/**
 * The variants worth measuring on this adapter: on CPU adapters not the GPU-only ones: the
 * shared-memory tiled variants, whose barrier per K step is a sync of every thread there (on
 * lavapipe they almost never won, and their compiles slowed a fresh machine's first demo:
 * docs/measurements.md), and conv's im2col (it lost all 136 conv keys of one lavapipe tuning run,
 * 5-100x slower). Tests and benches can still force any supported variant by name. The op's
 * default (`fallback`) is always measured, GPU-only or not (a rule may pick such a variant on a CPU
 * adapter, split-K for a strided weight gradient): a candidate must beat it, not replace it unmeasured.
 */
export const tuningCandidates = <V extends { readonly name: string; readonly gpuOnly?: boolean }>(
  adapterDescription: string,
  supported: readonly V[],
  fallback?: string,
): V[] =>
  isCpuAdapter(adapterDescription) ? supported.filter((v) => !v.gpuOnly || v.name === fallback) : [...supported];

/** log2 bucket of a size (0 for 0 and 1), so one tuning covers sizes within a factor of ~1.4 of each other. */
export const sizeBucket = (x: number): number => (x <= 1 ? 0 : Math.round(Math.log2(x)));

/** The tuning file for an adapter: $WEBGPU_LRPO_TUNING_DIR, else $XDG_CACHE_HOME/webgpu-lrpo, else ./node_modules/.cache/webgpu-lrpo. */
export function tuningCachePath(adapterDescription: string, env?: NodeJS.ProcessEnv): string {
  const slug =
    adapterDescription
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 80) || 'adapter';
  const xdgCache = readEnv('XDG_CACHE_HOME', env);
  const dir =
    readEnv('WEBGPU_LRPO_TUNING_DIR', env) ||
    (xdgCache ? join(xdgCache, 'webgpu-lrpo') : undefined) ||
    (process.cwd()
      ? join(process.cwd(), 'node_modules', '.cache', 'webgpu-lrpo')
      : join(homedir(), '.cache', 'webgpu-lrpo'));
  return join(dir, `tuning-${slug}.json`);
}

interface Choice {
  readonly variant: string;
  /** Best milliseconds per variant when measured, for people reading the file. */
  readonly ms: Record<string, number>;
}

interface CacheFile {
  readonly version: number;
  readonly adapter: string;
  readonly choices: Record<string, Choice>;
}

/** One measurable candidate: records one run of the variant (into scratch buffers). */
export interface TuneCandidate {
  readonly name: string;
  readonly record: () => void;
}

/** What a measurement needs: the candidates, a cleanup for their scratch buffers, and the work of one run. */
export interface TuneJob {
  readonly candidates: TuneCandidate[];
  readonly cleanup: () => void;
  /** Floating-point operations of one run: each timing records tuningRepeats(adapter, flops) runs (1 when absent). */
  readonly flops?: number;
}

export class Tuner {
  private readonly choices = new Map<string, Choice>();
  private readonly queued = new Set<string>();
  private readonly settledBy = new WeakMap<Choice, Map<string, string>>();
  private chain: Promise<void> = Promise.resolve();
  private loaded = false;
  /** Set by abandon(): queued measurements are dropped, the one in flight stops at its next candidate. */
  private abandoned = false;
  readonly path: string;

  constructor(
    private readonly ctx: GpuContext,
    readonly enabled = tuningEnabled(undefined, ctx.gpu.adapterDescription),
  ) {
    this.path = tuningCachePath(ctx.gpu.adapterDescription);
  }

  /**
   * The variant to run for `key`: the measured choice when there is one (and it supports this
   * problem), else `fallback`; a choice measured without some of today's `supported` variants
   * is measured again; with tuning on, an unmeasured key queues a measurement built by
   * `prepare`, which returns the job (candidates, their scratch buffers' cleanup, their work).
   */
  choose(key: string, supported: readonly string[], fallback: string, prepare: () => TuneJob): string {
    if (!this.enabled || supported.length < 2) return fallback;
    this.load();
    const known = this.choices.get(key);
    const usable = known && this.settled(known, supported, fallback);
    // A choice made before a variant existed is re-measured (and used until the new result lands).
    if (usable && supported.every((name) => name in known!.ms)) return usable;
    if (this.ctx.capture) {
      // A jit capture records kernels without running them: no measurement now (its scratch
      // buffers would be the recording's); the recording is made again once its keys are measured.
      if (!this.ctx.capture.untuned.has(key)) this.ctx.capture.untuned.set(key, known);
      return usable ?? fallback;
    }
    if (!this.queued.has(key)) {
      this.queued.add(key);
      // Scratch inputs are allocated now (sizes known), measured later, off the caller's path.
      const job = prepare();
      this.chain = this.chain
        .then(() => (this.abandoned ? undefined : this.measure(key, job, fallback)))
        .finally(job.cleanup)
        .catch(() => undefined);
    }
    return usable ?? fallback;
  }

  /**
   * The variant a record settles on with this default, decided from its times (so a file written
   * before the margin rule still keeps a default that was within the margin), or undefined where
   * that variant does not support the problem. Remembered per record and default: choose() runs at
   * every dispatch.
   */
  private settled(known: Choice, supported: readonly string[], fallback: string): string | undefined {
    let memo = this.settledBy.get(known);
    if (!memo) this.settledBy.set(known, (memo = new Map()));
    let variant = memo.get(fallback);
    if (variant === undefined) memo.set(fallback, (variant = measuredChoice(known.ms, fallback)));
    return supported.includes(variant) ? variant : undefined;
  }

  /** Resolves when every queued measurement has finished (benches await it after a warm-up). */
  settle(): Promise<void> {
    return this.chain;
  }

  /**
   * Drops the measurements not yet done (their keys are measured again by a later process) and
   * resolves once the one in flight has stopped: a program that ends does not wait minutes for
   * tuning it will never use. The tuner measures nothing after this.
   */
  abandon(): Promise<void> {
    this.abandoned = true;
    return this.chain;
  }

  private async measure(key: string, job: TuneJob, fallback: string): Promise<void> {
    const { dispatcher, device } = this.ctx;
    const repeats = job.flops === undefined ? 1 : tuningRepeats(this.ctx.gpu.adapterDescription, job.flops);
    const timeRuns = async (c: TuneCandidate): Promise<number> => {
      dispatcher.flush();
      await device.queue.onSubmittedWorkDone();
      const t0 = performance.now();
      unprofiled(() => {
        for (let i = 0; i < repeats; i++) c.record();
      });
      dispatcher.flush();
      await device.queue.onSubmittedWorkDone();
      return performance.now() - t0;
    };
    const ms: Record<string, number> = {};
    let best = Infinity;
    // Round 1: warm-up (compile) and a first timing of each candidate; hopeless ones drop out.
    const timed: TuneCandidate[] = [];
    for (const c of job.candidates) {
      if (this.abandoned) return;
      let warm = await timeRuns(c); // warm-up: compiles the pipeline
      // A compile can take 100x a fast GPU's kernel: look again before writing the variant off.
      if (warm > best * 10 * GIVE_UP_FACTOR) warm = await timeRuns(c);
      if (warm > best * 10 * GIVE_UP_FACTOR) {
        ms[c.name] = Math.round(warm * 1000) / 1000;
        continue;
      }
      const t = await timeRuns(c);
      ms[c.name] = t;
      best = Math.min(best, t);
      timed.push(c);
    }
    // Later rounds interleave the contenders, so a slow spell of a shared machine (seconds long)
    // lands on all of them rather than on whichever ran then; each keeps its best time.
    const contenders = timed.filter((c) => ms[c.name] < best * GIVE_UP_FACTOR);
    for (let round = 1; round < TIMED_RUNS; round++)
      for (const c of contenders) {
        if (this.abandoned) return;
        ms[c.name] = Math.min(ms[c.name], await timeRuns(c));
      }
    for (const c of timed) ms[c.name] = Math.round(ms[c.name] * 1000) / 1000;
    // A written-off candidate's time is its hopeless first run, far outside the margin.
    const variant = measuredChoice(ms, fallback);
    this.choices.set(key, { variant, ms });
    this.save();
  }

  /**
   * Whether every key in `seen` (a key and the choice record it had then, as a jit capture notes
   * them) has been measured since: a recording is made again once, when all its choices are known,
   * not each time some unrelated key lands (on a cold cache that redid every recording per key).
   */
  measuredSince(seen: ReadonlyMap<string, unknown>): boolean {
    for (const [key, then] of seen) if (this.choices.get(key) === then) return false;
    return true;
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    try {
      const file = JSON.parse(readFileSync(this.path, 'utf8')) as CacheFile;
      if (file.version !== CACHE_VERSION || file.adapter !== this.ctx.gpu.adapterDescription) return;
      for (const [k, v] of Object.entries(file.choices)) this.choices.set(k, v);
    } catch {
      // No cache yet, or an unreadable one: measure afresh.
    }
  }

  private save(): void {
    const file: CacheFile = {
      version: CACHE_VERSION,
      adapter: this.ctx.gpu.adapterDescription,
      choices: Object.fromEntries(this.choices),
    };
    try {
      mkdirSync(join(this.path, '..'), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(file, null, 1));
      renameSync(tmp, this.path);
    } catch {
      // A read-only cache directory only costs re-measuring next time.
    }
  }
}

const tuners = new WeakMap<GpuContext, Tuner>();

/** The context's tuner, created on first use. */
export function tunerFor(ctx: GpuContext): Tuner {
  let t = tuners.get(ctx);
  if (!t) tuners.set(ctx, (t = new Tuner(ctx)));
  return t;
}
