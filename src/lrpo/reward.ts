// The LRPO composite reward (docs/architecture.md, "The LRPO pipeline"): a pure builder from named,
// weighted terms to a batched reward (restored, gt, lq) -> { total, terms }, and the paper's
// four-part default built from our offline stand-ins.
import { identitySimilarity, type FaceRecognitionParams } from '../metrics/face-embedding/face-recognition-net.js';
import {
  FACE_FEATURE_LAYERS,
  faceFeatures,
  type FaceFeatures,
  type FaceFeatureSource,
} from '../metrics/face-embedding/features.js';
import { featureMapDistance, similarityOfDistance, type PerceptualSimilarityOptions } from '../metrics/perceptual.js';
import { checkImages } from '../metrics/validate.js';
import { waveletFidelity, type WaveletFidelityOptions } from '../metrics/wavelet.js';
import { ShapeError, scope, add, mul, Tensor } from '../index.js';
import { fmtShape } from '../tensor/errors.js';
import { repeatEach } from './groups.js';
import { detailQuality } from '../metrics/detail-quality.js';
import { LRPO_DEFAULTS, type LrpoConfig, type RewardWeights } from './config.js';
import { requireOptions } from '../tensor/ops/operand.js';

/** One reward term: restored, ground-truth and low-quality NCHW batches to a score per image, [N]. */
export type RewardTermFn = (restored: Tensor, gt: Tensor, lq: Tensor) => Tensor;

/** A term and its weight in the total. */
export interface RewardTerm {
  readonly weight: number;
  readonly fn: RewardTermFn;
  /**
   * false (default): fn gets gt and lq with one row per restored image (a grouped call's
   * references repeated K times). true: fn gets them as given, G rows for N = G * K candidates
   * (candidate i against reference floor(i / K)), so it can work on each reference once.
   */
  readonly grouped?: boolean;
}

/** What a reward returns: the weighted total [N] and every term's unweighted scores [N], by name. */
export interface RewardResult {
  readonly total: Tensor;
  readonly terms: Readonly<Record<string, Tensor>>;
}

/**
 * A batched reward: (restored [N, C, H, W], gt, lq) -> { total, terms }, each [N]. gt and lq have
 * either N rows (one reference per image) or G rows with N = G * K: a group's K candidates are
 * contiguous and share their reference (candidate i is scored against gt[floor(i / K)]), as a
 * rollout samples them; passing each reference once lets a term embed it once.
 */
export type Reward = (restored: Tensor, gt: Tensor, lq: Tensor, shared?: RewardShared) => RewardResult;

/**
 * Work a caller has already done that a reward may reuse instead of repeating: the evaluation
 * passes the face features it computed for its own perceptual and identity scores. Rewards that
 * cannot use it ignore it; the result must be the same either way.
 */
export interface RewardShared {
  readonly faceFeatures?: FaceFeatureSource;
}

/** A reward configuration that cannot work (no terms, a bad name or weight, a term that is not a function). */
export class RewardConfigError extends TypeError {
  override name = 'RewardConfigError';
}

/** The terms as a record, or as a list of named terms (names must then be unique). */
export type RewardTerms = Readonly<Record<string, RewardTerm>> | readonly (RewardTerm & { readonly name: string })[];

function normalizeTerms(terms: RewardTerms): readonly (readonly [string, RewardTerm])[] {
  const op = 'compositeReward';
  if (terms === null || typeof terms !== 'object')
    throw new RewardConfigError(
      `${op}: expected a record { name: { weight, fn } } of terms, got ${terms === null ? 'null' : typeof terms}.`,
    );
  const entries: (readonly [string, RewardTerm])[] = Array.isArray(terms)
    ? terms.map((t: RewardTerm & { name: string }, i) => {
        if (t === null || typeof t !== 'object')
          throw new RewardConfigError(
            `${op}: terms[${i}] is ${t === null ? 'null' : typeof t}; expected { name, weight, fn }.`,
          );
        return [t.name, t] as const;
      })
    : Object.entries(terms as Record<string, RewardTerm>);
  if (entries.length === 0) throw new RewardConfigError(`${op}: no terms; give at least one { name: { weight, fn } }.`);
  const seen = new Set<string>();
  for (const [name, term] of entries) {
    if (typeof name !== 'string' || name.trim() === '')
      throw new RewardConfigError(`${op}: a term has name ${JSON.stringify(name)}; names must be non-empty strings.`);
    if (seen.has(name))
      throw new RewardConfigError(
        `${op}: two terms are named ${JSON.stringify(name)}; names must be unique (they key the result's terms).`,
      );
    seen.add(name);
    if (term === null || typeof term !== 'object')
      throw new RewardConfigError(
        `${op}: term "${name}" is ${term === null ? 'null' : typeof term}; expected { weight, fn }.`,
      );
    if (typeof term.weight !== 'number' || !Number.isFinite(term.weight)) {
      throw new RewardConfigError(
        `${op}: term "${name}" has weight ${String(term.weight)}; weights must be finite numbers.`,
      );
    }
    if (typeof term.fn !== 'function')
      throw new RewardConfigError(`${op}: term "${name}" has no fn; expected fn: (restored, gt, lq) => Tensor [N].`);
  }
  // A frozen copy: later edits to the caller's object do not change the reward.
  return Object.freeze(
    entries.map(([name, t]) =>
      Object.freeze([name, Object.freeze({ weight: t.weight, fn: t.fn, grouped: t.grouped === true })] as const),
    ),
  );
}

/** Checks a reward call's batches: restored [N, C, H, W]; gt and lq G rows of restored's image shape (lq: any size), G dividing N. Returns K = N / G. */
function checkRewardInputs(op: string, restored: Tensor, gt: Tensor, lq: Tensor): number {
  checkImages(op, restored, 'restored');
  checkImages(op, gt, 'gt');
  checkImages(op, lq, 'lq');
  const n = restored.shape[0];
  const g = gt.shape[0];
  if (gt.shape.slice(1).some((d, i) => d !== restored.shape[i + 1]) || n % g !== 0) {
    throw new ShapeError(
      `${op}: restored ${fmtShape(restored.shape)} and gt ${fmtShape(gt.shape)} do not fit; gt must have restored's image shape and N rows, or G rows with N = G * K (each group's K candidates contiguous). Resize or repeat the ground truth.`,
    );
  }
  if (lq.shape[0] !== g)
    throw new ShapeError(
      `${op}: lq ${fmtShape(lq.shape)} has ${lq.shape[0]} images but gt ${fmtShape(gt.shape)} has ${g}; pass one LQ input per ground truth.`,
    );
  if (restored.backend !== gt.backend || gt.backend !== lq.backend)
    throw new ShapeError(
      `${op}: restored, gt and lq are on ${restored.backend}, ${gt.backend} and ${lq.backend}; move them to one backend with toBackend.`,
    );
  return n / g;
}

/**
 * Builds a batched reward from named, weighted terms: the result maps NCHW batches restored [N]
 * and gt, lq (N rows, or one per group: see Reward) to { total, terms }, where terms[name] is
 * fn(restored, gt, lq), shape [N], and total = sum of weight * terms[name]. Validates the
 * configuration when built (RewardConfigError) and each term's output shape when run
 * (ShapeError). Pure: no state, the configuration is copied. Differentiable if the terms are.
 */
export function compositeReward(terms: RewardTerms): Reward {
  const entries = normalizeTerms(terms);
  return (restored, gt, lq) => {
    const op = 'compositeReward';
    const k = checkRewardInputs(op, restored, gt, lq);
    const n = restored.shape[0];
    return scope(() => {
      // Per-image references for the terms that are not group-aware, made once.
      let perImage: readonly [Tensor, Tensor] | undefined;
      const references = (grouped: boolean) =>
        grouped || k === 1 ? ([gt, lq] as const) : (perImage ??= [repeatEach(gt, k), repeatEach(lq, k)]);
      const scores: Record<string, Tensor> = {};
      let total: Tensor | undefined;
      for (const [name, { weight, fn, grouped }] of entries) {
        const s = fn(restored, ...references(grouped === true));
        if (!(s instanceof Tensor))
          throw new ShapeError(
            `${op}: term "${name}" returned ${s === null ? 'null' : typeof s}; a term must return a Tensor of shape [${n}].`,
          );
        if (s.rank !== 1 || s.shape[0] !== n)
          throw new ShapeError(
            `${op}: term "${name}" returned shape ${fmtShape(s.shape)}; a term must return one score per image, shape [${n}].`,
          );
        if (s.dtype !== 'float32' && s.dtype !== 'float64')
          throw new ShapeError(`${op}: term "${name}" returned dtype ${s.dtype}; scores must be float32 or float64.`);
        scores[name] = s;
        const weighted = mul(s, weight);
        total = total ? add(total, weighted) : weighted;
      }
      return { total: total!, terms: scores };
    });
  };
}

/** The default terms' names: the paper's four parts, by role (the fields of LrpoConfig.rewardWeights). */
export type DefaultRewardTermName = keyof RewardWeights;

/**
 * The paper's weights (docs/architecture.md, "The LRPO pipeline"): 0.3 face quality,
 * 0.3 (1 - LPIPS), 0.1 no-reference IQA, 0.3 wavelet.
 */
export const DEFAULT_REWARD_WEIGHTS: Readonly<Record<DefaultRewardTermName, number>> = LRPO_DEFAULTS.rewardWeights;

export interface DefaultRewardOptions {
  /** Overrides of DEFAULT_REWARD_WEIGHTS; a weight of 0 keeps the term in `terms` but out of the total. */
  readonly weights?: Partial<Record<DefaultRewardTermName, number>>;
  /**
   * The no-reference IQA term: restored [N, 3, H, W] -> [N], higher is better, ideally in [0, 1].
   * Default detailQuality (differentiable: direct reward backprop can use it too). The old
   * stand-in `laplacianSharpness` plugs in here; it rewards noise.
   */
  readonly noReference?: (restored: Tensor) => Tensor;
  /** Options of perceptualSimilarity (layers, scale). */
  readonly perceptual?: PerceptualSimilarityOptions;
  /** Options of waveletFidelity (levels, scale, normalization). */
  readonly wavelet?: WaveletFidelityOptions;
}

/**
 * The paper's four-part reward with offline stand-ins (none of the paper's CLIP models exists
 * offline), each term [N], higher is better:
 * - identity (0.3, for the paper's face-quality score): cosine of face-api's face-ResNet
 *   descriptors of restored and gt (identitySimilarity), in [-1, 1], 1 for the gt itself. It
 *   measures identity, not quality: a stand-in, and it needs gt.
 * - perceptual (0.3, for 1 - LPIPS): perceptualSimilarity = 1 - min(perceptualDistance / 5, 1),
 *   LPIPS-style on face-ResNet features with unit weights, in [0, 1].
 * - noReference (0.1, for CLIP-IQA): detailQuality (metrics/detail-quality.ts, in (0, 1)): rises
 *   with detail, falls with blur, Gaussian noise and JPEG blocking at 32-64 px, differentiable
 *   (tests/metrics-detail-quality.test.ts), unless `noReference` plugs in another term.
 * - wavelet (0.3): waveletFidelity, exp(-15 L1) of the level-3 Haar low-pass bands, in (0, 1].
 * lq is not used by these terms. Weights are configurable; `params` from loadFaceRecognitionParams.
 */
export function defaultReward(params: FaceRecognitionParams, options: DefaultRewardOptions = {}): Reward {
  requireOptions('defaultReward', options, '{ weights: { identity: 0.5 } }');
  const weights = { ...DEFAULT_REWARD_WEIGHTS, ...options.weights };
  const unknown = Object.keys(weights).filter((k) => !(k in DEFAULT_REWARD_WEIGHTS));
  if (unknown.length > 0) {
    throw new RewardConfigError(
      `defaultReward: unknown weight(s) ${unknown.join(', ')}; the terms are ${Object.keys(DEFAULT_REWARD_WEIGHTS).join(', ')}. Use compositeReward for other terms.`,
    );
  }
  const noReference = options.noReference ?? ((x: Tensor) => detailQuality(x));
  if (typeof noReference !== 'function')
    throw new RewardConfigError(
      `defaultReward: noReference must be a function restored => Tensor [N], got ${typeof noReference}.`,
    );
  const layers = options.perceptual?.layers ?? FACE_FEATURE_LAYERS;
  const scale = options.perceptual?.scale ?? layers.length;
  if (!(Number.isFinite(scale) && scale > 0))
    throw new RewardConfigError(`defaultReward: perceptual.scale must be a positive finite number, got ${scale}.`);
  // identity and perceptual share one face-ResNet pass per image (faceFeatures), and a group's
  // reference is embedded once: N + G passes per call instead of 4N. The memo lives for one call.
  const termsWith = (features: (x: Tensor) => FaceFeatures): RewardTerms => ({
    identity: {
      weight: weights.identity,
      grouped: true,
      fn: (x, gt) =>
        identitySimilarity(features(x).embedding, repeatEach(features(gt).embedding, x.shape[0] / gt.shape[0])),
    },
    perceptual: {
      weight: weights.perceptual,
      grouped: true,
      // gt's maps have one row per group: featureMapDistance broadcasts them over the group.
      fn: (x, gt) => similarityOfDistance(featureMapDistance(features(x).maps, features(gt).maps), scale),
    },
    noReference: { weight: weights.noReference, fn: (x) => noReference(x) },
    wavelet: { weight: weights.wavelet, fn: (x, gt) => waveletFidelity(x, gt, options.wavelet) },
  });
  compositeReward(
    termsWith(() => {
      throw new Error('unreachable');
    }),
  ); // validates the weights now
  return (restored, gt, lq, shared) => {
    // The caller's features, when they come from this network and these taps (kept by the caller).
    const source = shared?.faceFeatures;
    if (
      source &&
      source.params === params &&
      source.layers.length === layers.length &&
      source.layers.every((l, i) => l === layers[i])
    ) {
      return compositeReward(termsWith(source.of))(restored, gt, lq);
    }
    const memo = new Map<Tensor, FaceFeatures>();
    const features = (x: Tensor) => memo.get(x) ?? memo.set(x, faceFeatures(params, x, layers)).get(x)!;
    return compositeReward(termsWith(features))(restored, gt, lq);
  };
}

/** The reward an LRPO config trains with: defaultReward on `recognition` with the config's term weights. */
export const lrpoReward = (recognition: FaceRecognitionParams, config: Pick<LrpoConfig, 'rewardWeights'>): Reward =>
  defaultReward(recognition, { weights: config.rewardWeights });
