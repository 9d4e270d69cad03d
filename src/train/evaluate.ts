// Evaluation of restorations: a table of named metrics (the paper's PSNR, SSIM, LPIPS-style
// perceptual distance, identity, LMD, a no-reference IQA, and our composite reward), each
// scoring a batch of restored images against their ground truth, summarised as mean and 95%
// interval over images.
import {
  loadFaceRecognitionParams,
  identitySimilarity,
  type FaceRecognitionParams,
} from '../metrics/face-embedding/face-recognition-net.js';
import { faceFeatureCache, type FaceFeatureSource } from '../metrics/face-embedding/features.js';
import {
  landmarkDistance,
  loadFaceLandmarkParams,
  type FaceLandmarkParams,
} from '../metrics/face-landmarks/face-landmark-net.js';
import { brisque } from '../metrics/brisque.js';
import { featureMapDistance } from '../metrics/perceptual.js';
import { psnr } from '../metrics/psnr.js';
import { ssim } from '../metrics/ssim.js';
import { defaultReward, type Reward } from '../lrpo/reward.js';
import { scope, treeLeaves, disposeTree } from '../index.js';
import type { Tensor } from '../index.js';
import { pairBatch, type PairSet } from './pairs.js';
import { meanInterval, type MeanInterval } from './stats.js';

/** The face networks and reward the metrics need, loaded once. */
export interface MetricContext {
  readonly recognition: FaceRecognitionParams;
  readonly landmarks: FaceLandmarkParams;
  readonly reward: Reward;
}

/** Loads face-api's recognition and landmark nets and builds the default reward on them. */
export function metricContext(reward?: (recognition: FaceRecognitionParams) => Reward): MetricContext {
  const recognition = loadFaceRecognitionParams();
  return { recognition, landmarks: loadFaceLandmarkParams(), reward: (reward ?? defaultReward)(recognition) };
}

/** Frees the face networks of a context. */
export const disposeMetricContext = (ctx: MetricContext): void => disposeTree([ctx.recognition, ctx.landmarks]);

export type MetricName = 'psnr' | 'ssim' | 'perceptual' | 'identity' | 'lmd' | 'brisque' | 'reward';

/** A metric context plus the face-ResNet features of one batch's images, computed once and shared. */
interface BatchContext extends MetricContext {
  readonly features: FaceFeatureSource;
}

type ScoreFn = (ctx: BatchContext, restored: Tensor, gt: Tensor, lq: Tensor) => Tensor;

interface MetricSpec {
  /** The column heading in reports. */
  readonly label: string;
  readonly higherIsBetter: boolean;
  /**
   * Per-image scores [N] of restored vs gt (both [N, 3, H, W] in [0, 1]). 'pixels' and 'networks'
   * metrics run inside a scope ('networks' ones need the face networks of a MetricContext);
   * 'host' metrics read the images back themselves and manage their own memory.
   */
  readonly score:
    | { readonly kind: 'pixels'; readonly fn: (restored: Tensor, gt: Tensor) => Tensor }
    | { readonly kind: 'networks'; readonly fn: ScoreFn }
    | { readonly kind: 'host'; readonly fn: (restored: Tensor) => Promise<Tensor> };
}

const pixels = (fn: (restored: Tensor, gt: Tensor) => Tensor) => ({ kind: 'pixels', fn }) as const;
const networks = (fn: ScoreFn) => ({ kind: 'networks', fn }) as const;

/** Every metric, as data: how to compute it and which direction is better. */
export const METRICS: Readonly<Record<MetricName, MetricSpec>> = Object.freeze({
  psnr: { label: 'PSNR (dB)', higherIsBetter: true, score: pixels((x, gt) => psnr(x, gt)) },
  ssim: { label: 'SSIM', higherIsBetter: true, score: pixels((x, gt) => ssim(x, gt)) },
  // perceptualDistance and identitySimilarity(faceEmbedding, faceEmbedding), on shared features.
  perceptual: {
    label: 'Perceptual dist.',
    higherIsBetter: false,
    score: networks((c, x, gt) => featureMapDistance(c.features.of(x).maps, c.features.of(gt).maps)),
  },
  identity: {
    label: 'Identity (cos)',
    higherIsBetter: true,
    score: networks((c, x, gt) => identitySimilarity(c.features.of(x).embedding, c.features.of(gt).embedding)),
  },
  lmd: {
    label: 'LMD (px)',
    higherIsBetter: false,
    score: networks((c, x, gt) => landmarkDistance(x, gt, c.landmarks)),
  },
  brisque: { label: 'BRISQUE', higherIsBetter: false, score: { kind: 'host', fn: (x) => brisque(x) } },
  // The reward's perceptual and identity terms reuse the features above (defaultReward checks they fit).
  reward: {
    label: 'Reward',
    higherIsBetter: true,
    score: networks((c, x, gt, lq) => c.reward(x, gt, lq, { faceFeatures: c.features }).total),
  },
});

/** The asked metrics that need the face networks (a MetricContext). */
const metricsNeedingNetworks = (metrics: readonly MetricName[]): MetricName[] =>
  metrics.filter((m) => METRICS[m].score.kind === 'networks');

export const ALL_METRICS = Object.keys(METRICS) as MetricName[];

/**
 * Per-image scores of every asked metric, as host arrays. Inputs are not disposed. `ctx` may be
 * undefined when no asked metric needs the face networks (psnr, ssim, brisque).
 */
export async function scoreImages(
  ctx: MetricContext | undefined,
  restored: Tensor,
  gt: Tensor,
  lq: Tensor,
  metrics: readonly MetricName[] = ALL_METRICS,
): Promise<Record<MetricName, Float64Array>> {
  const needing = metricsNeedingNetworks(metrics);
  if (needing.length > 0 && !ctx)
    throw new Error(`scoreImages: metrics ${needing.join(', ')} need the face networks; pass metricContext().`);
  const out = {} as Record<MetricName, Float64Array>;
  // One face-ResNet pass per image tensor for perceptual, identity and the reward's face terms;
  // kept past the metric scopes and freed at the end.
  const features = ctx && needing.length > 0 ? faceFeatureCache(ctx.recognition) : undefined;
  try {
    for (const name of metrics) {
      const { score } = METRICS[name];
      const scores =
        score.kind === 'host'
          ? await score.fn(restored)
          : score.kind === 'pixels'
            ? scope(() => score.fn(restored, gt))
            : scope(() => score.fn({ ...ctx!, features: features! }, restored, gt, lq));
      try {
        out[name] = Float64Array.from(await scores.data());
      } finally {
        scores.dispose();
      }
    }
  } finally {
    features?.dispose();
  }
  return out;
}

/** Means and 95% intervals of per-image scores. */
export const summarize = (
  scores: Partial<Record<MetricName, ArrayLike<number>>>,
): Partial<Record<MetricName, MeanInterval>> =>
  Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, meanInterval(v as ArrayLike<number>)])) as Partial<
    Record<MetricName, MeanInterval>
  >;

/** Anything that maps a batch of LQ images [N, 3, H, W] to restorations (the policy, the identity, bicubic...). */
export type Restorer = (lq: Tensor, batchIndex: number) => Tensor;

export interface EvaluateOptions {
  readonly metrics?: readonly MetricName[];
  /** Images per batch (default 16). */
  readonly batchSize?: number;
  /** Called after each batch with the number of images done. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface Evaluation {
  /** Per-image scores by metric, in pair order. */
  readonly scores: Partial<Record<MetricName, Float64Array>>;
  /** The restored images [N, 3, S, S] in [0, 1] on the host (for grids). */
  readonly restored: Float32Array;
}

/** Restores every pair of `pairs` with `restorer` and scores the results (metrics need ctx unless only psnr/ssim). */
export async function evaluateRestorer(
  ctx: MetricContext | undefined,
  restorer: Restorer,
  pairs: PairSet,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const metrics = options.metrics ?? ALL_METRICS;
  const needing = metricsNeedingNetworks(metrics);
  if (needing.length > 0 && !ctx)
    throw new Error(`evaluateRestorer: metrics ${needing.join(', ')} need the face networks; pass metricContext().`);
  const batchSize = options.batchSize ?? 16;
  const plane = 3 * pairs.size * pairs.size;
  const restoredHost = new Float32Array(pairs.count * plane);
  const parts: Record<string, Float64Array[]> = {};
  for (let start = 0, b = 0; start < pairs.count; start += batchSize, b++) {
    const indices = Array.from({ length: Math.min(batchSize, pairs.count - start) }, (_, i) => start + i);
    const { hq, lq } = pairBatch(pairs, indices, backendOfContext(ctx));
    let restored: Tensor | undefined;
    try {
      restored = restorer(lq, b);
      const scores = await scoreImages(ctx, restored, hq, lq, metrics);
      for (const m of metrics) (parts[m] ??= []).push(scores[m]);
      restoredHost.set((await restored.data()) as Float32Array, start * plane);
    } finally {
      [hq, lq, restored].forEach((t) => t?.dispose());
    }
    options.onProgress?.(start + indices.length, pairs.count);
  }
  const scores = Object.fromEntries(metrics.map((m) => [m, concatFloat64(parts[m] ?? [])])) as Partial<
    Record<MetricName, Float64Array>
  >;
  return { scores, restored: restoredHost };
}

const backendOfContext = (ctx: MetricContext | undefined) =>
  ctx ? treeLeaves(ctx.recognition)[0]?.backend : undefined;

function concatFloat64(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
