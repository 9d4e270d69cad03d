// `demo` (what `npm start` runs): from the committed SFT checkpoint, a short LRPO run, then SFT vs
// LRPO (and the LQ input) on held-out synthetic faces and on the real-face set, written up as
// report.md with tables, a reward curve, a perception/fidelity plot and an image grid.
import { existsSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { backendInfo, disposeTree } from '../../index.js';
import { writeReport, type MethodEvaluation, type ReportData } from '../../report/index.js';
import { reportDataToJson } from './report.js';
import { loadCheckpoint } from '../../train/checkpoint.js';
import { evalSet, evalSetLabel } from '../../train/eval-sets.js';
import { disposeMetricContext, metricContext, METRICS, type MetricName } from '../../train/evaluate.js';
import { checkStrength, policyOfCheckpoint } from '../../train/policy.js';
import { openRun, readRunLog } from '../../train/run-dir.js';
import { meanInterval } from '../../train/stats.js';
import {
  evaluateMethods,
  formatResults,
  identityRestorer,
  policyRestorer,
  policySampleRestorer,
  type MethodResult,
  type SamplingOptions,
} from './eval.js';
import { pretrain } from './pretrain.js';
import { train, trainConfig } from './train.js';
import { unetStats } from '../../models/unet-stats.js';
import { packageRoot } from '../../io/package-paths.js';
import { requireBrisqueModel, requireRealFaces } from '../requirements.js';

/**
 * The SFT checkpoint committed with the repository (trained by `pretrain` on cartoon faces, see
 * README); shipped in the package's checkpoints/. The default of `train --init` and `ablate --init`.
 */
export const COMMITTED_SFT = join(packageRoot(), 'checkpoints', 'sft-tiny-32.safetensors');
/**
 * COMMITTED_SFT fine-tuned on photographic faces (and dead leaves), which transfers to real faces
 * far better (docs/faces.md; the stages in its config.json): the demo's start until the small
 * policy replaced it, and still the speed issue's reference LRPO step (the bench).
 */
export const TINY_PHOTO_SFT = join(packageRoot(), 'checkpoints', 'sft-tiny-32-photo.safetensors');
/**
 * The demo's SFT checkpoint: the small preset (tiny at twice the width) trained from scratch on
 * the same photographic faces and dead leaves. Width moved real faces further than any other
 * lever: its samples tie the real faces' LQ input where TINY_PHOTO_SFT's are worse (docs/faces.md,
 * "Capacity"), and its demo takes about twice the tiny one's time.
 */
export const DEMO_SFT = join(packageRoot(), 'checkpoints', 'sft-small-32-photo.safetensors');

/** The procedural faces a demo trains LRPO on and holds out for scoring: the SFT checkpoint's own style. */
export type DemoFaces = 'photo' | 'synthetic';
/** DEMO_SFT's faces. */
export const DEMO_FACES: DemoFaces = 'photo';
/**
 * LRPO updates of the demo. 80: from the tiny photographic checkpoint with its input low-pass,
 * every seed of a six-seed study improved reward, perceptual distance, identity, PSNR and SSIM at
 * 80, at 40 they did not separate from SFT; from the small one three seeds of 80 raise the reward
 * beyond the seed-to-seed spread (docs/ablation.md). (The cartoon checkpoint, without the
 * low-pass, lost real-face fidelity at 80.)
 */
export const DEMO_LRPO_STEPS = 80;

/**
 * restore's strength for the real faces: the share of one DEMO_SFT sample that raised the reward
 * most on real photographs of a person not in the evaluation set (15 held-out crops of
 * @vladmandic/human; `npx tsx scripts/calibrate-strength.ts checkpoints/sft-small-32-photo.safetensors
 * human`, docs/faces.md "Restoration strength"). On the validation split of the photographic
 * procedural faces the same rule keeps the whole sample, so those are scored at strength 1.
 */
export const DEMO_REAL_STRENGTH = 0.25;

/**
 * The real faces' strength of a demo: the one given, else DEMO_REAL_STRENGTH for DEMO_SFT (what it
 * was chosen for) and 1 (no strength rows) for any other checkpoint, whose own share is unknown
 * until scripts/calibrate-strength.ts measures it.
 */
export const demoRealStrength = (sft: string, given?: number): number =>
  given ?? (resolve(sft) === resolve(DEMO_SFT) ? DEMO_REAL_STRENGTH : 1);

export interface DemoOptions {
  readonly run: string;
  readonly sft: string;
  /** 'photo' (photographic procedural faces) or 'synthetic' (cartoon); must be what the SFT checkpoint was trained on. */
  readonly data: DemoFaces;
  readonly lrpoSteps: number;
  readonly syntheticCount: number;
  readonly realCount: number;
  /** restore's strength for the real faces' extra rows (default: demoRealStrength; 1 leaves them out). */
  readonly realStrength?: number;
  readonly seed: number;
  readonly quiet?: boolean;
}

/**
 * Each policy's expected score per face: 8 samples, each scored on its own and the scores averaged.
 * The same expectation as one sample's score with an eighth of its sampling variance, so a paired
 * LRPO - SFT difference is not lost in the noise of one draw.
 */
const SCORED = [
  { name: 'SFT, 8 samples scored', policy: 'sft', samples: 8 },
  { name: 'LRPO, 8 samples scored', policy: 'lrpo', samples: 8 },
] as const;
const [SFT_SCORED, LRPO_SCORED] = SCORED.map((r) => r.name);

/**
 * The restorations the demo scores, in table, grid and findings order: one sample of each policy,
 * then each policy's posterior-mean estimate (the mean image of the 8 scored samples: the fidelity
 * end of the perception/fidelity trade-off, the image `restore --samples 8` gives). `column` heads
 * the sample grid's column.
 */
const RESTORED = [
  { name: 'SFT', column: 'SFT', policy: 'sft' },
  { name: 'LRPO', column: 'LRPO', policy: 'lrpo' },
  { name: 'SFT, mean of 8', column: 'SFT x8', meanOf: SFT_SCORED },
  { name: 'LRPO, mean of 8', column: 'LRPO x8', meanOf: LRPO_SCORED },
] as const;
const [, , SFT_MEAN_OF_8, LRPO_MEAN_OF_8] = RESTORED.map((r) => r.name);
/**
 * The real faces' extra rows: one sample of each policy kept at `strength` (restore's option;
 * the same samples as the SFT and LRPO rows, then lq + strength (sample - lq)).
 */
const strengthRows = (strength: number) =>
  strength === 1
    ? []
    : ([
        { name: `SFT, strength ${strength}`, policy: 'sft' },
        { name: `LRPO, strength ${strength}`, policy: 'lrpo' },
      ] as const);
/** The rows of a set's results, in order. */
const rowsOf = (strength: number): readonly string[] => [
  'LQ input',
  ...RESTORED.map((r) => r.name),
  ...strengthRows(strength).map((r) => r.name),
  ...SCORED.map((r) => r.name),
];

/** What the scored samples are scored on (LMD and BRISQUE, slower, stay with the single-sample rows). */
const SCORED_METRICS: readonly MetricName[] = ['psnr', 'ssim', 'perceptual', 'identity', 'reward'];

/** Runs the demo and returns the path of report.md. */
export async function demo(o: DemoOptions): Promise<string> {
  const started = Date.now();
  const say = (msg: string) => o.quiet || process.stderr.write(`${msg}\n`);
  requireRealFaces('demo', ['real'], 'run the demo from a git checkout');
  requireBrisqueModel('demo');
  const realStrength = demoRealStrength(o.sft, o.realStrength);
  checkStrength('demo', realStrength);
  const { run: runPath, quiet: _quiet, ...recorded } = o;
  const run = openRun(runPath, 'demo', recorded);
  try {
    let sft = o.sft;
    if (!existsSync(sft)) {
      say(
        `demo: no SFT checkpoint at ${sft}; training a short one first (the committed one is better: git checkout it)`,
      );
      sft = await pretrain({
        run: join(run.path, 'sft'),
        preset: 'tiny',
        size: 32,
        steps: 300,
        batchSize: 16,
        lr: 2e-3,
        warmupSteps: 50,
        weightDecay: 0,
        gradClip: 1,
        seed: o.seed,
        data: o.data,
        trainCount: 512,
        evalCount: 16,
        evalEvery: 300,
        evalSteps: 10,
        quiet: o.quiet,
      });
    }
    const config = trainConfig('lrpo', {});
    const sampling: SamplingOptions = { steps: config.sampling.steps, eta: config.sampling.eta, seed: o.seed + 1000 };
    const lrpoRun = join(run.path, 'lrpo');
    const lrpoPath = await train({
      run: lrpoRun,
      init: sft,
      steps: o.lrpoSteps,
      ablation: 'lrpo',
      overrides: {},
      trainCount: 256,
      data: o.data,
      checkpointEvery: o.lrpoSteps,
      seed: o.seed,
      quiet: o.quiet,
    });
    const trainedAt = Date.now();

    const before = await loadCheckpoint(sft, { withOptimizer: false });
    const after = await loadCheckpoint(lrpoPath, { withOptimizer: false });
    const policy = policyOfCheckpoint(before.info);
    const ctx = metricContext();
    const results: MethodResult[] = [];
    const grids: Float32Array[][] = [];
    try {
      for (const [set, count] of [
        [o.data, o.syntheticCount],
        ['real', o.realCount],
      ] as const) {
        const pairs = await evalSet(set, { size: policy.imageSize, count, seed: o.seed });
        const paramsOf = (p: 'sft' | 'lrpo') => (p === 'sft' ? before : after).params;
        const strength = set === 'real' ? realStrength : 1;
        const rows = rowsOf(strength);
        // The scored samples before the means that average them; the rows then in table order.
        const setResults = (
          await evaluateMethods(
            ctx,
            [
              { name: 'LQ input', restorer: identityRestorer },
              ...RESTORED.flatMap((r) =>
                'policy' in r ? [{ name: r.name, restorer: policyRestorer(policy, paramsOf(r.policy), sampling) }] : [],
              ),
              ...strengthRows(strength).map((r) => ({
                name: r.name,
                restorer: policyRestorer(policy, paramsOf(r.policy), { ...sampling, strength }),
              })),
              ...SCORED.map((r) => ({
                name: r.name,
                metrics: SCORED_METRICS,
                restorers: Array.from({ length: r.samples }, (_, i) =>
                  policySampleRestorer(policy, paramsOf(r.policy), sampling, i),
                ),
              })),
              ...RESTORED.flatMap((r) => ('meanOf' in r ? [{ name: r.name, meanOf: r.meanOf }] : [])),
            ],
            pairs,
            evalSetLabel(set),
            { quiet: o.quiet },
          )
        ).sort((a, b) => rows.indexOf(a.method) - rows.indexOf(b.method));
        say(`\n${evalSetLabel(set)} (${pairs.count} faces)\n${formatResults(setResults)}`);
        results.push(...setResults);
        const plane = 3 * pairs.size * pairs.size;
        const image = (data: Float32Array, i: number) => data.slice(i * plane, (i + 1) * plane);
        for (let i = 0; i < Math.min(4, pairs.count); i++)
          grids.push([
            image(pairs.lq, i),
            ...RESTORED.map((r) => image(setResults.find((m) => m.method === r.name)!.restored, i)),
            image(pairs.hq, i),
          ]);
      }
    } finally {
      disposeTree([before.params, after.params]);
      disposeMetricContext(ctx);
    }
    const evaluations: MethodEvaluation[] = results.map((r) => ({
      method: r.method,
      dataset: r.set,
      scores: r.scores,
    }));
    const log = readRunLog(lrpoRun).filter((e) => e.event === 'step');
    const info = backendInfo();
    const stats = unetStats(policy.unet, { height: policy.imageSize, width: policy.imageSize });
    const data: ReportData = {
      title: `LRPO fine-tuning of a ${policy.preset} diffusion face-restoration policy`,
      summary: summarize(results, realStrength),
      setup: [
        ['Backend', `${info.name} (${info.description ?? 'unknown adapter'})`],
        [
          'Policy',
          `UNet '${policy.preset}' (${stats.params.toLocaleString('en')} params, ` +
            `${(stats.flopsPerImage / 1e6).toFixed(1)} MFLOP per ${policy.imageSize} px image), ` +
            `${policy.space.kind} target x${policy.space.scale}`,
        ],
        ['SFT checkpoint', `${relative(process.cwd(), sft) || sft} (step ${before.info.step})`], // relative: reports are read on other machines
        [
          'Training faces',
          `${o.data === 'photo' ? 'photographic' : 'cartoon'} procedural faces (SFT and LRPO trained on them; held-out ones scored)`,
        ],
        [
          'LRPO',
          `${o.lrpoSteps} steps; ${config.inputsPerBatch} LQ inputs x ${config.groupSize} candidates per step; ` +
            `DDIM ${config.sampling.steps} steps, eta ${config.sampling.eta}; lr ${config.optimizer.lr}; ` +
            `clip eps ${config.clipEps}; GT regularization weight ${config.gtRegularization.weight} on the last ` +
            `${config.gtRegularization.lastSteps} trained steps, temperature ${config.gtRegularization.temperature}`,
        ],
        [
          'Evaluation sampling',
          `DDIM ${sampling.steps} steps, eta ${sampling.eta}, the same noise for every method (seed ${sampling.seed})`,
        ],
        ...(realStrength === 1
          ? []
          : [
              [
                'Restoration strength',
                `1 (the policy's sample) everywhere; the real faces' "strength ${realStrength}" rows keep ${realStrength} of ` +
                  `each sample (lq + ${realStrength} (sample - lq)), the share chosen on held-out real photographs of ` +
                  `another person (scripts/calibrate-strength.ts)`,
              ] as const,
            ]),
        ['Intervals', '95% Student-t intervals of the mean over faces'],
        [
          'Wall time',
          `LRPO ${((trainedAt - started) / 60000).toFixed(1)} min, evaluation ${((Date.now() - trainedAt) / 60000).toFixed(1)} min`,
        ],
      ],
      evaluations,
      rewardCurves: [
        {
          method: 'LRPO',
          points: log.map((e) => ({ step: Number(e.step), mean: Number(e.rewardMean), std: Number(e.rewardStd) })),
        },
      ],
      tradeoff: { x: 'psnr', y: 'perceptual' },
      grid: { columns: ['LQ', ...RESTORED.map((r) => r.column), 'GT'], rows: grids, size: policy.imageSize },
    };
    // The report's data beside it, so `report --run` re-renders it (e.g. after a style change).
    writeFileSync(join(run.path, 'report-data.json'), JSON.stringify(reportDataToJson(data)));
    await writeReport(run.path, data);
    const report = join(run.path, 'report.md');
    say(`\ndemo: wrote ${report} in ${((Date.now() - started) / 60000).toFixed(1)} min`);
    return report;
  } finally {
    run.close();
  }
}

/** Per-face differences `method` - `baseline` of a metric on a set (undefined when either is missing). */
function pairedDeltas(
  results: readonly MethodResult[],
  set: string,
  metric: MetricName,
  method: string,
  baseline: string,
): number[] | undefined {
  const base = results.find((r) => r.set === set && r.method === baseline)?.scores[metric];
  const scores = results.find((r) => r.set === set && r.method === method)?.scores[metric];
  if (!base || !scores) return undefined;
  return Array.from(scores, (v, i) => v - base[i]);
}

/** Whether a difference in metric m is an improvement. */
const improves = (m: MetricName, d: number): boolean => (METRICS[m].higherIsBetter ? d > 0 : d < 0);

/** One finding: a paired difference and whether it exceeds its interval, stated plainly. */
function finding(results: readonly MethodResult[], set: string, m: MetricName, method: string, baseline: string) {
  const deltas = pairedDeltas(results, set, m, method, baseline);
  if (!deltas) return [];
  const d = meanInterval(deltas);
  const clear = Math.abs(d.mean) > d.halfWidth;
  const verdict = !clear ? 'within noise' : improves(m, d.mean) ? 'better' : 'worse';
  const digits = m === 'psnr' ? 2 : 4;
  return [
    `- ${set}, ${METRICS[m].label}: ${method} - ${baseline} = ${d.mean.toFixed(digits)} ± ` +
      `${d.halfWidth.toFixed(digits)} (paired, 95%): **${verdict}**`,
  ];
}

/**
 * Restored - LQ input on the faces whose input is milder or more degraded than the set's median
 * (by the input's own perceptual distance): a restorer whose prior misses a set (real faces for
 * one trained on procedural ones) loses where there is little to restore and gains where there is
 * much, which one mean over the set hides.
 */
export function bySeverity(results: readonly MethodResult[], set: string, m: MetricName, method: string): string[] {
  const severity = results.find((r) => r.set === set && r.method === 'LQ input')?.scores.perceptual;
  const deltas = pairedDeltas(results, set, m, method, 'LQ input');
  if (!severity || !deltas || deltas.length < 4) return [];
  const median = [...severity].sort((a, b) => a - b)[Math.floor(severity.length / 2)];
  const half = (name: string, keep: (s: number) => boolean) => {
    const part = deltas.filter((_, i) => keep(severity[i]));
    const d = meanInterval(part);
    return `${name} ${part.length}: ${d.mean.toFixed(4)} ± ${d.halfWidth.toFixed(4)}, better on ${part.filter((v) => improves(m, v)).length}`;
  };
  return [
    `- ${set}, ${METRICS[m].label}: ${method} - LQ input, split at the median input perceptual distance ` +
      `${median.toFixed(3)}: ${half('milder', (v) => v < median)}; ${half('more degraded', (v) => v >= median)}`,
  ];
}

/** The findings paragraphs: LRPO against SFT, then both against the LQ input they restore, then the real faces at the calibrated strength. */
function summarize(results: readonly MethodResult[], realStrength: number): string {
  const sets = [...new Set(results.map((r) => r.set))];
  const versusSft = sets.flatMap((set) => [
    ...SCORED_METRICS.flatMap((m) => finding(results, set, m, LRPO_SCORED, SFT_SCORED)),
    ...(['reward', 'perceptual', 'identity', 'psnr', 'ssim'] as MetricName[]).flatMap((m) =>
      finding(results, set, m, 'LRPO', 'SFT'),
    ),
    ...(['perceptual', 'identity'] as MetricName[]).flatMap((m) =>
      finding(results, set, m, LRPO_MEAN_OF_8, SFT_MEAN_OF_8),
    ),
  ]);
  const versusInput = sets.flatMap((set) =>
    (['identity', 'perceptual'] as MetricName[]).flatMap((m) =>
      [...RESTORED, ...SCORED].flatMap((r) => finding(results, set, m, r.name, 'LQ input')),
    ),
  );
  const severity = sets.flatMap((set) =>
    (['perceptual', 'identity'] as MetricName[]).flatMap((m) => bySeverity(results, set, m, 'LRPO')),
  );
  const [sftAt, lrpoAt] = strengthRows(realStrength).map((r) => r.name);
  const atStrength = !sftAt
    ? []
    : [
        '',
        `The real faces with each sample kept at strength ${realStrength} (the share of a sample that raised the reward most on ` +
          'held-out real photographs of another person; docs/faces.md "Restoration strength"): LRPO against SFT, then each against the LQ input:',
        '',
        ...(['reward', 'perceptual', 'identity', 'psnr', 'ssim'] as MetricName[]).flatMap((m) =>
          finding(results, evalSetLabel('real'), m, lrpoAt, sftAt),
        ),
        ...(['identity', 'perceptual', 'psnr'] as MetricName[]).flatMap((m) =>
          [sftAt, lrpoAt].flatMap((name) => finding(results, evalSetLabel('real'), m, name, 'LQ input')),
        ),
      ];
  return [
    'Paired per-face differences of LRPO against its SFT starting point (same faces, same sampling noise). ' +
      '"8 samples scored": each face scored on 8 samples of the policy, scores averaged (its expected score, ' +
      'the sampling noise of one draw averaged out); then one sample; then the mean image of 8 samples:',
    '',
    ...versusSft,
    '',
    'Does restoring help at all? The restored faces (one sample; the mean image of 8 samples; 8 samples scored one by one) against the degraded input they were given:',
    '',
    ...versusInput,
    '',
    'The same for one LRPO sample, on the faces whose input is milder and on those more degraded than the median (95% intervals):',
    '',
    ...severity,
    ...atStrength,
    '',
    'One training seed: these intervals are over faces, not over training runs. `npm run cli -- ablate` trains every',
    'variant for several seeds and reports the seed-to-seed spread.',
  ].join('\n');
}
