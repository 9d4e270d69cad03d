// Checkpoints of a restoration policy as safetensors files: the params (and optionally the AdamW
// moments) as tensors, everything needed to rebuild the policy (UNet config, target space, the
// training step) as JSON strings in the metadata, so any safetensors reader can open the file
// and our loader can refuse a checkpoint that does not fit.
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { loadSafetensors, saveSafetensors, disposeTree, mul, scope, stack, sum, Tensor } from '../index.js';
import type { BackendName, AdamWState } from '../index.js';
import { checkUnetParams, type UNetConfig, type UNetParams } from '../models/unet.js';
import { unetSizeMultiple } from '../models/unet-config.js';
import { isFloat } from '../tensor/dtype.js';
import { targetSpaceProblem, type TargetSpace } from './target-space.js';
import { requireOptions } from '../tensor/ops/operand.js';

export const CHECKPOINT_FORMAT = 'webgpu-lrpo/policy';
export const CHECKPOINT_VERSION = '1';

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** What a checkpoint says about itself (the safetensors metadata, parsed). */
export interface CheckpointInfo {
  /** The preset name the UNet came from ('tiny', 'base') or 'custom'. */
  readonly preset: string;
  readonly unet: UNetConfig;
  readonly space: TargetSpace;
  /** Training stage that wrote it ('sft', 'lrpo', ...), and its step count. */
  readonly stage: string;
  readonly step: number;
  /** Image side the policy was trained at. */
  readonly imageSize: number;
  /** Free-form extra facts (run name, metrics at save time). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface Checkpoint {
  readonly info: CheckpointInfo;
  readonly params: UNetParams;
  /** Present when the file holds optimizer state. */
  readonly optimizer?: AdamWState<UNetParams>;
}

/**
 * Writes params (and optimizer state) to `path` atomically: the file appears complete or not at
 * all, so a crash mid-write never destroys the previous checkpoint of that name.
 */
export async function saveCheckpoint(path: string, ckpt: Checkpoint): Promise<void> {
  const { info, params, optimizer } = ckpt;
  const tree = optimizer ? { params, optimizer: { m: optimizer.m, v: optimizer.v } } : { params };
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    preset: info.preset,
    unet: JSON.stringify(info.unet),
    space: JSON.stringify(info.space),
    stage: info.stage,
    step: String(info.step),
    imageSize: String(info.imageSize),
    ...(optimizer ? { optimizerStep: String(optimizer.step) } : {}),
    ...(info.extra ? { extra: JSON.stringify(info.extra) } : {}),
  };
  const partial = `${path}.partial`;
  await saveSafetensors(partial, tree, { metadata });
  await rename(partial, path);
}

export interface LoadCheckpointOptions {
  readonly backend?: BackendName;
  /** Refuse a checkpoint whose UNet differs from this one (a checkpoint of another preset). */
  readonly expect?: { readonly preset?: string; readonly unet?: UNetConfig; readonly imageSize?: number };
  /** Also load the optimizer moments (default true when present). */
  readonly withOptimizer?: boolean;
}

/** Reads a checkpoint written by saveCheckpoint and checks it against `expect` and its own config. */
export async function loadCheckpoint(path: string, options: LoadCheckpointOptions = {}): Promise<Checkpoint> {
  requireOptions('loadCheckpoint', options, '{ withOptimizer: false }');
  if (!existsSync(path)) {
    throw new CheckpointError(
      `loadCheckpoint: ${path} does not exist; pass a checkpoint written by pretrain or train ` +
        `(<run>/checkpoints/step-N.safetensors, or the committed checkpoints/sft-tiny-32.safetensors).`,
    );
  }
  const { tree, metadata } = await loadSafetensors(path, options.backend ? { backend: options.backend } : {});
  const fail = (what: string, fix: string): never => {
    disposeTree(tree);
    throw new CheckpointError(`loadCheckpoint(${path}): ${what}; ${fix}`);
  };
  if (metadata.format !== CHECKPOINT_FORMAT) {
    fail(
      `its metadata format is ${JSON.stringify(metadata.format)}, not '${CHECKPOINT_FORMAT}'`,
      'pass a checkpoint written by this toolkit (pretrain/train write them under <run>/checkpoints).',
    );
  }
  const parse = <T>(field: string): T => {
    try {
      return JSON.parse(metadata[field] ?? '') as T;
    } catch {
      return fail(`its metadata '${field}' is not valid JSON`, 'the file is corrupt; use an earlier checkpoint.');
    }
  };
  const info: CheckpointInfo = {
    preset: metadata.preset ?? 'custom',
    unet: parse<UNetConfig>('unet'),
    space: parse<TargetSpace>('space'),
    stage: metadata.stage ?? 'unknown',
    step: Number(metadata.step ?? 0),
    imageSize: Number(metadata.imageSize ?? 0),
    ...(metadata.extra ? { extra: parse<Record<string, unknown>>('extra') } : {}),
  };
  const spaceProblem = targetSpaceProblem(info.space);
  if (spaceProblem !== undefined)
    fail(spaceProblem, 'the file is corrupt or not a policy checkpoint; use an earlier checkpoint.');
  const want = options.expect;
  if (want?.preset !== undefined && want.preset !== info.preset) {
    fail(
      `it holds a '${info.preset}' policy but a '${want.preset}' one was asked for`,
      `use --preset ${info.preset}, or a checkpoint trained with preset '${want.preset}'.`,
    );
  }
  if (want?.unet !== undefined && JSON.stringify(want.unet) !== JSON.stringify(info.unet)) {
    fail(
      `its UNet config ${JSON.stringify(info.unet)} differs from the expected ${JSON.stringify(want.unet)}`,
      'load it with its own config (omit the preset), or train a new checkpoint for this config.',
    );
  }
  if (want?.imageSize !== undefined && want.imageSize !== info.imageSize) {
    fail(
      `it was trained at ${info.imageSize}x${info.imageSize} px but ${want.imageSize} px images were given`,
      `resize the images to ${info.imageSize} px (or pass --size ${info.imageSize}).`,
    );
  }
  const params = tree.params as UNetParams | undefined;
  if (params === undefined) return fail('it holds no "params" tensors', 'the file is not a policy checkpoint.');
  try {
    checkUnetParams(params, info.unet);
  } catch (e) {
    fail(
      `its tensors do not fit its own UNet config (${(e as Error).message})`,
      'the file is corrupt; use an earlier checkpoint.',
    );
  }
  const multiple = unetSizeMultiple(info.unet);
  if (!Number.isInteger(info.imageSize) || info.imageSize < multiple || info.imageSize % multiple !== 0) {
    fail(
      `its metadata imageSize ${JSON.stringify(metadata.imageSize)} is not a positive multiple of ${multiple} (its UNet halves the image ${Math.log2(multiple)} times)`,
      'the file is corrupt; use an earlier checkpoint.',
    );
  }
  // A policy with a NaN or an infinity restores nothing but NaN, which would surface much later
  // (an image writer refusing NaN pixels, metrics of NaN): say so at the door, naming the tensors.
  // (The optimizer moments only when they are returned: a restore needs the params alone.)
  const moments = tree.optimizer as { m: UNetParams; v: UNetParams } | undefined;
  const returned = moments && options.withOptimizer !== false ? { params, optimizer: moments } : { params };
  const nonFinite = await nonFiniteTensors(returned);
  if (nonFinite.length > 0) {
    fail(
      `${nonFinite.length} of its tensors hold NaN or infinite values (${nonFinite.slice(0, 4).join(', ')}${nonFinite.length > 4 ? ', ...' : ''})`,
      'the training that wrote it diverged or the file is corrupt; use an earlier checkpoint.',
    );
  }
  if (moments && options.withOptimizer !== false) {
    return {
      info,
      params,
      optimizer: { step: Number(metadata.optimizerStep ?? info.step), m: moments.m, v: moments.v },
    };
  }
  if (moments) disposeTree(moments);
  return { info, params };
}

/** [dotted name, tensor] for every leaf of a loaded tree (the names the file gives them). */
function namedLeaves(tree: unknown, prefix = ''): [string, Tensor][] {
  if (tree instanceof Tensor) return [[prefix, tree]];
  if (tree === null || typeof tree !== 'object') return [];
  return Object.entries(tree).flatMap(([k, v]) => namedLeaves(v, prefix === '' ? k : `${prefix}.${k}`));
}

/** The float tensors holding a NaN or an infinity: the sum of 0 * x is NaN exactly then. One readback for all. */
async function nonFiniteTensors(tree: unknown): Promise<string[]> {
  const leaves = namedLeaves(tree).filter(([, t]) => isFloat(t.dtype));
  if (leaves.length === 0) return [];
  const probes = scope(() => stack(leaves.map(([, t]) => sum(mul(t, 0)))));
  try {
    const values = await probes.data();
    return leaves.filter((_, i) => !Number.isFinite(values[i])).map(([name]) => name);
  } finally {
    probes.dispose();
  }
}
