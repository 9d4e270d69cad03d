// Runs one row on every engine: the same seeded host inputs for all, outputs compared against
// tfjs-webgpu (and ours-cpu) before anything is timed, then timing, then a leak check.
import type { BenchCase } from './case.js';
import type { Engine, EngineName, PreparedCase } from './engines/engine.js';
import { compareOutputs, hashString, seededUniform, type HostTensor } from './host.js';
import type { CheckResult, EngineOutcome, RowResult } from './result.js';
import { measure, type TimingOptions } from './timing.js';

export interface RunOptions {
  /** Check outputs only; no timing. */
  readonly quick: boolean;
  readonly gpuTiming: TimingOptions;
  readonly cpuTiming: TimingOptions;
  readonly cpuMaxFlops: number;
}

const DEFAULT_TOLERANCE = 2e-4;

/** Who checks whom: every engine against tfjs-webgpu, and our GPU against our CPU reference. */
const CHECK_PAIRS: readonly (readonly [EngineName, EngineName])[] = [
  ['ours-webgpu', 'tfjs-webgpu'],
  ['ours-webgpu', 'ours-cpu'],
  ['ours-cpu', 'tfjs-webgpu'],
  ['tfjs-cpu', 'tfjs-webgpu'],
];

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export const hostInputs = (c: BenchCase): HostTensor[] =>
  c.inputs.map((spec, i) => seededUniform(spec.shape, (hashString(c.id) + i) >>> 0, spec.scale ?? 1));

/** Prepares the row on `e`, runs `body`, and disposes the inputs whatever happens. */
async function withPrepared<R>(
  e: Engine,
  c: BenchCase,
  inputs: readonly HostTensor[],
  body: (p: PreparedCase) => Promise<R>,
): Promise<R> {
  const p = await e.prepare(c, inputs);
  try {
    return await body(p);
  } finally {
    p.dispose();
  }
}

export async function runCase(c: BenchCase, engines: readonly Engine[], o: RunOptions): Promise<RowResult> {
  const inputs = hostInputs(c);
  const tolerance = c.tolerance ?? DEFAULT_TOLERANCE;
  const outcomes: Partial<Record<EngineName, EngineOutcome>> = {};
  const outputs = new Map<EngineName, HostTensor[]>();
  const leaks = new Set<string>();
  /** Runs one phase of `e`, recording an error outcome or a leak. */
  const phase = async (e: Engine, body: () => Promise<void>): Promise<void> => {
    const before = e.liveTensors();
    try {
      await body();
    } catch (err) {
      outcomes[e.name] = { status: 'error', error: message(err) };
    }
    const leaked = e.liveTensors() - before;
    if (leaked > 0) leaks.add(`${e.name}: ${leaked} tensor(s)`);
  };

  const tooBigForCpu = c.work.kind === 'flops' && c.work.amount > o.cpuMaxFlops;
  const active = engines.filter((e) => {
    if (e.onCpu && tooBigForCpu && !o.quick) {
      outcomes[e.name] = {
        status: 'skipped',
        reason: `${(c.work.amount / 1e9).toFixed(1)} GFLOP > CPU cap ${(o.cpuMaxFlops / 1e9).toFixed(1)}`,
      };
      return false;
    }
    return true;
  });

  // 1. Correctness, before any timing.
  for (const e of active) {
    await phase(e, async () => {
      outputs.set(e.name, await withPrepared(e, c, inputs, (p) => p.outputs()));
      outcomes[e.name] = { status: 'checked' };
    });
  }
  const checks: CheckResult[] = [];
  for (const [engine, reference] of CHECK_PAIRS) {
    const got = outputs.get(engine);
    const ref = outputs.get(reference);
    if (got && ref) checks.push({ engine, reference, ...compareOutputs(ref, got, tolerance) });
  }

  // 2. Timing, of the engines whose outputs exist.
  if (!o.quick) {
    for (const e of active) {
      if (!outputs.has(e.name)) continue;
      await phase(e, async () => {
        const timing = e.onCpu ? o.cpuTiming : o.gpuTiming;
        const stats = await withPrepared(e, c, inputs, (p) =>
          measure(
            (runs) => p.timeOnce(runs),
            timing,
            () => p.settle(),
          ),
        );
        outcomes[e.name] = { status: 'timed', stats };
      });
    }
  }

  const ours = outcomes['ours-webgpu'];
  const oursMs = ours?.status === 'timed' ? ours.stats.median : undefined;
  const speedup: Partial<Record<EngineName, number>> = {};
  for (const e of engines) {
    const out = outcomes[e.name];
    if (e.name !== 'ours-webgpu' && oursMs && out?.status === 'timed') speedup[e.name] = out.stats.median / oursMs;
  }
  const oursChecked = checks.some((k) => k.engine === 'ours-webgpu');
  const ok =
    oursChecked &&
    checks.every((k) => k.ok) &&
    Object.values(outcomes).every((out) => out.status !== 'error') &&
    leaks.size === 0;
  return {
    id: c.id,
    op: c.op,
    shape: c.shape,
    work: c.work,
    tolerance,
    ...(c.torch ? { torch: c.torch } : {}),
    engines: outcomes,
    checks,
    leaks: [...leaks],
    ok,
    ...(oursMs ? { throughput: c.work.amount / oursMs / 1e6 } : {}),
    speedup,
  };
}
