// A restoration policy: the conditional UNet, its noise schedule and target space, and the one
// thing users do with it: restore LQ images by DDIM sampling.
import { foldIn, add, div, mul, scope, sub } from '../index.js';
import type { BackendName, PRNGKey, Tensor } from '../index.js';
import { ddimPlan, ddimSample } from '../models/diffusion/ddim.js';
import { scaledLinearSchedule, type DiffusionSchedule } from '../models/diffusion/schedule.js';
import { UNET_PRESETS, unetInit, unetModel, type UNetConfig, type UNetParams } from '../models/unet.js';
import type { EpsModel } from '../models/types.js';
import { conditionOf, DEFAULT_TARGET_SPACE, imageOf, type TargetSpace } from './target-space.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface Policy {
  /** 'tiny', 'base' or 'custom'. */
  readonly preset: string;
  readonly unet: UNetConfig;
  readonly space: TargetSpace;
  /** Image side the policy works at (a multiple of the UNet's downsampling factor). */
  readonly imageSize: number;
  readonly schedule: DiffusionSchedule;
  readonly model: EpsModel<UNetParams>;
}

export type PresetName = keyof typeof UNET_PRESETS;

/** Every policy's noise schedule (scaledLinearSchedule's defaults: T = 1000 steps). */
export const POLICY_SCHEDULE = scaledLinearSchedule();

/** The policy of a named preset (or an explicit UNet config) at `imageSize` px. */
export function policyOf(
  preset: PresetName | { readonly name: string; readonly unet: UNetConfig },
  imageSize: number,
  space: TargetSpace = DEFAULT_TARGET_SPACE,
): Policy {
  const [name, unet] = typeof preset === 'string' ? [preset, policyPreset(preset)] : [preset.name, preset.unet];
  return Object.freeze({
    preset: name,
    unet,
    space,
    imageSize,
    schedule: POLICY_SCHEDULE,
    model: unetModel(unet),
  });
}

function policyPreset(name: string): UNetConfig {
  const config = (UNET_PRESETS as Record<string, UNetConfig>)[name];
  if (!config)
    throw new RangeError(
      `policyOf: unknown preset ${JSON.stringify(name)}; the presets are ${Object.keys(UNET_PRESETS).join(', ')}.`,
    );
  return config;
}

/** Fresh params for a policy (deterministic for the key). */
export const initPolicyParams = (policy: Policy, k: PRNGKey, backend?: BackendName): UNetParams =>
  unetInit(k, policy.unet, backend ? { backend } : {});

/**
 * restore's sampler when none is given: the one LRPO trains with and eval scores (10 DDIM steps,
 * eta 1). More steps or a lower eta gave sharper restorations further from the real faces
 * (docs/faces.md, "Sampler settings").
 */
export const RESTORE_DEFAULTS = Object.freeze({ steps: 10, eta: 1 });

export interface RestoreOptions {
  /** DDIM steps (default RESTORE_DEFAULTS.steps, 10). */
  readonly steps?: number;
  /** DDIM eta (default RESTORE_DEFAULTS.eta, 1; 0: deterministic). */
  readonly eta?: number;
  /**
   * Average this many samples (default 1). One sample is a draw from the policy: sharp, and on
   * PSNR below the posterior mean; the mean of n samples estimates the posterior mean (the
   * fidelity-optimal restoration) at n times the cost, trading detail for PSNR.
   */
  readonly samples?: number;
  /**
   * How much of the policy's restoration to keep (default 1): the result is lq + strength *
   * (restored - lq), 0 giving the input back. A policy trained on one kind of face invents detail
   * that is right for that kind; on another (procedural -> real photographs) part of it is error,
   * and a strength chosen on held-out images of the target kind keeps the part that helps
   * (docs/faces.md, "Restoration strength").
   */
  readonly strength?: number;
}

/** The key of sample i of a `samples: n` restoration with key k (evaluations score the samples one by one with it). */
export const sampleKey = (k: PRNGKey, i: number): PRNGKey => foldIn(k, i);

/** Refuses a restoration strength outside [0, 1], naming `op`. */
export function checkStrength(op: string, strength: unknown): void {
  if (typeof strength !== 'number' || !(strength >= 0 && strength <= 1))
    throw new RangeError(
      `${op}: strength must be a number in [0, 1] (1: the policy's restoration, 0: the input), got ${String(strength)}.`,
    );
}

/** Restores LQ images [N, 3, H, W] in [0, 1]: returns images in [0, 1] (the caller's to dispose). */
export function restore(
  policy: Policy,
  params: UNetParams,
  lq: Tensor,
  k: PRNGKey,
  options: RestoreOptions = {},
): Tensor {
  requireOptions('restore', options, '{ steps: 10, eta: 1, samples: 8, strength: 0.5 }');
  const { steps = RESTORE_DEFAULTS.steps, eta = RESTORE_DEFAULTS.eta, samples = 1, strength = 1 } = options;
  if (!Number.isInteger(samples) || samples < 1)
    throw new RangeError(`restore: samples must be a positive integer, got ${samples}.`);
  checkStrength('restore', strength);
  const restored = meanOfSamples(policy, params, lq, k, { steps, eta, samples });
  if (strength === 1) return restored;
  const kept = scope(() => add(lq, mul(sub(restored, lq), strength)));
  restored.dispose();
  return kept;
}

/** The policy's restoration at full strength: one sample, or the mean of `samples` (sampleKey(k, i)). */
function meanOfSamples(
  policy: Policy,
  params: UNetParams,
  lq: Tensor,
  k: PRNGKey,
  { steps, eta, samples }: { readonly steps: number; readonly eta: number; readonly samples: number },
): Tensor {
  const plan = ddimPlan(policy.schedule, { steps, eta });
  const one = (sampleKey: PRNGKey): Tensor =>
    scope(() => {
      const { x0 } = ddimSample(policy.model, params, conditionOf(lq), sampleKey, { plan, keepTrajectory: false });
      return imageOf(policy.space, x0, lq);
    });
  if (samples === 1) return one(k);
  // Sample by sample, so memory stays that of one restoration.
  let total = one(sampleKey(k, 0));
  for (let i = 1; i < samples; i++) {
    const next = one(sampleKey(k, i));
    const sum = add(total, next);
    [total, next].forEach((t) => t.dispose());
    total = sum;
  }
  const mean = div(total, samples);
  total.dispose();
  return mean;
}

/** The policy a checkpoint was trained as (its own UNet config, target space and image size). */
export const policyOfCheckpoint = (info: {
  readonly preset: string;
  readonly unet: UNetConfig;
  readonly space: TargetSpace;
  readonly imageSize: number;
}): Policy => policyOf({ name: info.preset, unet: info.unet }, info.imageSize, info.space);
