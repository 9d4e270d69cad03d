// `eval`: scores checkpoints (and the LQ input as the baseline) on evaluation sets with every
// metric, prints a table per set, and writes the per-image scores as JSON.
import { named, startProfile, disposeTree, foldIn, key, tensor } from '../../index.js';
import { writeProfile } from '../profile-steps.js';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { alias } from '../../tensor/ops/movement.js';
import { loadCheckpoint } from '../../train/checkpoint.js';
import { evalSet, evalSetLabel, type EvalSetName } from '../../train/eval-sets.js';
import {
  ALL_METRICS,
  disposeMetricContext,
  evaluateRestorer,
  metricContext,
  type Evaluation,
  METRICS,
  type MetricContext,
  type MetricName,
  type Restorer,
} from '../../train/evaluate.js';
import type { PairSet } from '../../train/pairs.js';
import {
  checkStrength,
  POLICY_SCHEDULE,
  policyOfCheckpoint,
  restore,
  sampleKey,
  type Policy,
} from '../../train/policy.js';
import { ddimPlan } from '../../models/diffusion/ddim-plan.js';
import { formatInterval, meanInterval } from '../../train/stats.js';
import type { UNetParams } from '../../models/unet.js';
import { progressBar } from '../progress.js';
import { requireWritableFile } from '../../io/writable-file.js';
import { requireBrisqueModel, requireRealFaces } from '../requirements.js';

/** Per-image scores and restorations of one method on one set. */
export interface MethodResult {
  readonly method: string;
  readonly set: string;
  readonly scores: Partial<Record<MetricName, Float64Array>>;
  /** [N, 3, S, S] in [0, 1]. */
  readonly restored: Float32Array;
}

export interface SamplingOptions {
  readonly steps: number;
  readonly eta: number;
  readonly seed: number;
  /** Average this many samples per face (default 1; see restore). */
  readonly samples?: number;
  /** Keep this much of each restoration, lq + strength (restored - lq) (default 1; see restore). */
  readonly strength?: number;
}

/** restore's options for `samples` samples under the sampling settings `s`. */
const restoreOptionsOf = (s: SamplingOptions, samples: number) => ({
  steps: s.steps,
  eta: s.eta,
  samples,
  strength: s.strength ?? 1,
});

/** The restorer of a loaded policy: DDIM with the given steps/eta, noise keyed per batch by the seed. */
export const policyRestorer =
  (policy: Policy, params: UNetParams, s: SamplingOptions): Restorer =>
  (lq, b) =>
    restore(policy, params, lq, foldIn(key(s.seed), b), restoreOptionsOf(s, s.samples ?? 1));

/**
 * Sample `i` of the `samples: n` restorer's n samples, alone (the same key, sampleKey): scoring
 * every one of them and averaging the scores per face estimates the policy's expected score, with
 * the sampling noise of one draw averaged out.
 */
export const policySampleRestorer =
  (policy: Policy, params: UNetParams, s: SamplingOptions, i: number): Restorer =>
  (lq, b) =>
    restore(policy, params, lq, sampleKey(foldIn(key(s.seed), b), i), restoreOptionsOf(s, 1));

/** The baseline: the LQ input itself (bilinearly resized back to full size by the degradation). */
export const identityRestorer: Restorer = (lq) => alias(lq);

/**
 * A method to evaluate: one restorer, or several whose scores are averaged per face (e.g. the
 * samples of a policy, policySampleRestorer; `restored` is then the first one's), or the per-pixel
 * mean of an earlier method's restorations (`meanOf` names it: its n samples averaged as restore's
 * `samples: n` averages the same samples, so no sample is drawn twice), on `metrics` (default:
 * evaluateMethods' metrics).
 */
export type EvalMethod = { readonly name: string; readonly metrics?: readonly MetricName[] } & (
  { readonly restorer: Restorer } | { readonly restorers: readonly Restorer[] } | { readonly meanOf: string }
);

/** Images per batch of every evaluateMethods restorer (a `meanOf` method serves its images in the same batches). */
const EVAL_BATCH = 8;

/** Evaluates each method on `pairs` with a progress bar. */
export async function evaluateMethods(
  ctx: MetricContext | undefined,
  methods: readonly EvalMethod[],
  pairs: PairSet,
  setLabel: string,
  { metrics = ALL_METRICS, quiet = false }: { metrics?: readonly MetricName[]; quiet?: boolean } = {},
): Promise<MethodResult[]> {
  const out: MethodResult[] = [];
  const restorations = new Map<string, readonly Float32Array[]>();
  for (const method of methods) {
    const restorers = 'meanOf' in method ? [meanRestorer(method, restorations, pairs)] : restorersOf(method);
    const asked = method.metrics ?? metrics;
    const bar = progressBar(`eval ${method.name}`.slice(0, 14), pairs.count * restorers.length, [], { quiet });
    try {
      const runs: Evaluation[] = [];
      for (const restorer of restorers) {
        const done = runs.length * pairs.count;
        runs.push(
          await evaluateRestorer(ctx, restorer, pairs, {
            metrics: asked,
            batchSize: EVAL_BATCH,
            onProgress: (n) => bar.update(done + n),
          }),
        );
      }
      restorations.set(
        method.name,
        runs.map((r) => r.restored),
      );
      out.push({ method: method.name, set: setLabel, scores: averageScores(runs, asked), restored: runs[0].restored });
    } finally {
      bar.stop();
    }
  }
  return out;
}

function restorersOf(
  method: EvalMethod & ({ restorer: Restorer } | { restorers: readonly Restorer[] }),
): readonly Restorer[] {
  const restorers = 'restorers' in method ? method.restorers : [method.restorer];
  if (restorers.length === 0) throw new RangeError(`evaluateMethods: method "${method.name}" has no restorers.`);
  return restorers;
}

/** A restorer serving the per-pixel mean of an earlier method's restorations, batch by batch. */
function meanRestorer(
  method: EvalMethod & { meanOf: string },
  restorations: ReadonlyMap<string, readonly Float32Array[]>,
  pairs: PairSet,
): Restorer {
  const images = restorations.get(method.meanOf);
  if (!images)
    throw new RangeError(
      `evaluateMethods: method "${method.name}" averages "${method.meanOf}", which is not an earlier method of this call; list it first.`,
    );
  const mean = meanImages(images);
  const plane = 3 * pairs.size * pairs.size;
  return (lq, b) =>
    tensor(mean.subarray(b * EVAL_BATCH * plane, b * EVAL_BATCH * plane + lq.size), {
      shape: lq.shape,
      backend: lq.backend,
      dtype: lq.dtype,
    });
}

/**
 * The per-pixel float32 mean of equally sized images: summed in order, then divided, each step
 * rounded to float32 as restore's `samples: n` rounds it on the device, so the same samples give
 * the same bytes (tests/evaluate.test.ts).
 */
function meanImages(images: readonly Float32Array[]): Float32Array {
  const total = Float32Array.from(images[0]);
  for (const image of images.slice(1)) for (let i = 0; i < total.length; i++) total[i] += image[i];
  for (let i = 0; i < total.length; i++) total[i] /= images.length;
  return total;
}

/** Per-image scores averaged over several evaluations of the same pairs. */
function averageScores(
  runs: readonly Evaluation[],
  metrics: readonly MetricName[],
): Partial<Record<MetricName, Float64Array>> {
  return Object.fromEntries(
    metrics.map((m) => {
      const sum = Float64Array.from(runs[0].scores[m]!);
      for (const run of runs.slice(1)) run.scores[m]!.forEach((v, i) => (sum[i] += v));
      return [m, sum.map((v) => v / runs.length)];
    }),
  );
}

/** A plain-text table of means ± 95% intervals (the report writes the markdown version). */
export function formatResults(results: readonly MethodResult[]): string {
  const metrics = ALL_METRICS.filter((m) => results.some((r) => r.scores[m]));
  const header = ['method', ...metrics.map((m) => `${METRICS[m].label} ${METRICS[m].higherIsBetter ? '↑' : '↓'}`)];
  const rows = results.map((r) => [
    r.method,
    ...metrics.map((m) => (r.scores[m] ? formatInterval(meanInterval(r.scores[m]!), m === 'psnr' ? 2 : 3) : '-')),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export interface EvalOptions {
  readonly checkpoints: readonly string[];
  readonly sets: readonly EvalSetName[];
  readonly count: number;
  readonly sampling: SamplingOptions;
  readonly out?: string;
  readonly metrics?: readonly MetricName[];
  readonly quiet?: boolean;
  /** A folder: profile the evaluation and write profile.md and profile.svg there. */
  readonly profile?: string;
}

/** Loads the checkpoints, builds the sets at their image size, evaluates everything, prints and saves. */
export async function evaluate(options: EvalOptions): Promise<MethodResult[]> {
  if (options.checkpoints.length === 0) throw new Error('eval: give at least one --checkpoint.');
  if (options.out) requireWritableFile(options.out, 'eval --out');
  requireRealFaces('eval', options.sets, 'pass --data synthetic (or folders of face images)');
  if ((options.metrics ?? ALL_METRICS).includes('brisque')) requireBrisqueModel('eval');
  // The sampling plan of every policy: a bad step count or eta fails here, not after the LQ scores.
  ddimPlan(POLICY_SCHEDULE, { steps: options.sampling.steps, eta: options.sampling.eta });
  checkStrength('eval', options.sampling.strength ?? 1);
  const loaded = [];
  for (const path of options.checkpoints)
    loaded.push({ path, ckpt: await loadCheckpoint(path, { withOptimizer: false }) });
  try {
    const sizes = new Set(loaded.map((l) => l.ckpt.info.imageSize));
    if (sizes.size > 1)
      throw new Error(
        `eval: the checkpoints work at different image sizes (${[...sizes].join(', ')} px); evaluate them separately.`,
      );
    const size = [...sizes][0];
    const strength = options.sampling.strength ?? 1;
    const strengthNote = strength === 1 ? '' : `, restorations kept at strength ${strength}`;
    const ctx = metricContext();
    const results: MethodResult[] = [];
    const session = options.profile === undefined ? undefined : await startProfile();
    try {
      for (const set of options.sets) {
        const pairs = await evalSet(set, { size, count: options.count, seed: options.sampling.seed });
        const methods = [
          { name: 'LQ input', restorer: identityRestorer },
          ...loaded.map(({ path, ckpt }) => ({
            name: `${ckpt.info.stage}@${ckpt.info.step} (${path.split('/').slice(-3).join('/')})`,
            restorer: policyRestorer(policyOfCheckpoint(ckpt.info), ckpt.params, options.sampling),
          })),
        ];
        const setResults = await named(set, () =>
          evaluateMethods(ctx, methods, pairs, evalSetLabel(set), { metrics: options.metrics, quiet: options.quiet }),
        );
        if (!options.quiet)
          process.stdout.write(
            `\n${evalSetLabel(set)} (${pairs.count} faces, ${size} px${strengthNote})\n${formatResults(setResults)}\n`,
          );
        results.push(...setResults);
      }
      if (session) {
        const p = await session.stop();
        mkdirSync(options.profile!, { recursive: true });
        const path = writeProfile(
          options.profile!,
          p,
          `eval: ${options.sets.join(', ')}, ${options.count} faces, ${loaded.length} checkpoint(s)`,
        );
        if (!options.quiet)
          process.stderr.write(
            `eval: ${p.dispatches} kernel runs, ${p.gpuMs.toFixed(0)} ms device of ${p.wallMs.toFixed(0)} ms wall; wrote ${path}\n`,
          );
      }
    } finally {
      await session?.stop();
      disposeMetricContext(ctx);
    }
    if (options.out) {
      mkdirSync(dirname(options.out), { recursive: true });
      writeFileSync(
        options.out,
        JSON.stringify(
          {
            sampling: options.sampling,
            results: results.map((r) => ({
              method: r.method,
              set: r.set,
              scores: Object.fromEntries(Object.entries(r.scores).map(([k, v]) => [k, Array.from(v)])),
            })),
          },
          null,
          1,
        ),
      );
    }
    return results;
  } finally {
    loaded.forEach(({ ckpt }) => disposeTree(ckpt.params));
  }
}
