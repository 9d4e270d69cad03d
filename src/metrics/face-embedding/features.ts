// Intermediate feature maps of face-api's FaceRecognitionNet: the same forward pass as
// faceEmbedding (same preprocessing, layers and weights), stopped early and tapped after chosen
// stages, for feature-space distances such as perceptualDistance.
import { ShapeError, maxPool2d, keep, scope, jit } from '../../index.js';
import type { Tensor } from '../../index.js';
import { fmtShape } from '../../tensor/errors.js';
import {
  convLayer,
  descriptorHead,
  facePreprocess,
  RESIDUAL_BLOCKS,
  residualBlock,
  type FaceRecognitionParams,
  type ResidualName,
} from './face-recognition-net.js';

/**
 * A point of the network to tap: 'conv32_down' is the stem (7x7 stride-2 conv + scale + ReLU,
 * before the max-pool); a residual block's name is that block's output (after its ReLU).
 */
export type FaceFeatureLayer = 'conv32_down' | ResidualName;

/**
 * The default taps, one at the end of each resolution stage, LPIPS-style: on a 150x150 input
 * they are 32x72x72, 32x35x35, 64x17x17, 128x8x8 and 256x4x4 (channels x height x width).
 */
export const FACE_FEATURE_LAYERS: readonly FaceFeatureLayer[] = Object.freeze([
  'conv32_down',
  'conv32_3',
  'conv64_3',
  'conv128_2',
  'conv256_2',
]);

/**
 * Face-ResNet features a caller has already computed and keeps alive (the evaluation's per-batch
 * memo), offered to a consumer that would compute the same ones (defaultReward): which network
 * and taps they came from, so a consumer with other ones does not take them, and the lookup.
 */
export interface FaceFeatureSource {
  readonly params: FaceRecognitionParams;
  readonly layers: readonly FaceFeatureLayer[];
  readonly of: (imagesNCHW: Tensor) => FaceFeatures;
}

const LAYER_ORDER: readonly FaceFeatureLayer[] = ['conv32_down', ...RESIDUAL_BLOCKS.map(([name]) => name)];

/** The tapped feature maps of one pass and, when the pass ran to the end, the face descriptor. */
export interface FaceFeatures {
  /** One NCHW map per asked layer, in the order asked. */
  readonly maps: Tensor[];
  /** The 128-d descriptor [N, 128], equal to faceEmbedding's. */
  readonly embedding: Tensor;
}

function checkedDepths(op: string, imagesNCHW: Tensor, layers: readonly FaceFeatureLayer[]): number[] {
  if (
    imagesNCHW.rank !== 4 ||
    imagesNCHW.shape[1] !== 3 ||
    imagesNCHW.shape[0] < 1 ||
    imagesNCHW.shape[2] < 1 ||
    imagesNCHW.shape[3] < 1
  ) {
    throw new ShapeError(
      `${op}: images must be a non-empty RGB batch [N, 3, H, W] in [0, 1], got ${fmtShape(imagesNCHW.shape)}.`,
    );
  }
  if (layers.length === 0)
    throw new ShapeError(`${op}: layers is empty; name at least one of ${LAYER_ORDER.join(', ')}.`);
  return layers.map((layer) => {
    const d = LAYER_ORDER.indexOf(layer);
    if (d < 0)
      throw new ShapeError(`${op}: unknown layer ${JSON.stringify(layer)}; expected one of ${LAYER_ORDER.join(', ')}.`);
    return d;
  });
}

/** The forward pass to residual block `depth` (all of them: RESIDUAL_BLOCKS.length), keeping every block's output. */
function forwardTaps(params: FaceRecognitionParams, imagesNCHW: Tensor, depth: number): Map<FaceFeatureLayer, Tensor> {
  const taps = new Map<FaceFeatureLayer, Tensor>();
  let out = convLayer(facePreprocess(imagesNCHW), params.conv32_down, true, true);
  taps.set('conv32_down', out);
  out = maxPool2d(out, { kernel: 3, stride: 2 });
  for (const [i, [name, kind]] of RESIDUAL_BLOCKS.entries()) {
    if (i + 1 > depth) break;
    out = residualBlock(out, params[name], kind === 'down');
    taps.set(name, out);
  }
  return taps;
}

/**
 * The feature maps of face-api's FaceRecognitionNet at `layers` (default FACE_FEATURE_LAYERS),
 * for NCHW RGB images in [0, 1] of any size (padded to square and resized to 150x150 as in
 * faceEmbedding). Returns one NCHW tensor per layer, in the order asked; the pass stops after
 * the deepest one. Differentiable in the images and the params.
 */
export function faceFeatureMaps(
  params: FaceRecognitionParams,
  imagesNCHW: Tensor,
  layers: readonly FaceFeatureLayer[] = FACE_FEATURE_LAYERS,
): Tensor[] {
  checkedDepths('faceFeatureMaps', imagesNCHW, layers);
  return recordedMaps(params, imagesNCHW, layers);
}

/** faceFeatureMaps and faceFeatures recorded per image shape and layers (jit), as faceEmbedding. */
const recordedMaps = jit(
  (params: FaceRecognitionParams, imagesNCHW: Tensor, layers: readonly FaceFeatureLayer[]): Tensor[] =>
    scope(() => {
      const taps = forwardTaps(params, imagesNCHW, Math.max(...layers.map((l) => LAYER_ORDER.indexOf(l))));
      return layers.map((layer) => taps.get(layer)!);
    }),
  { maxRecordings: 2 },
);
const recordedFeatures = jit(
  (params: FaceRecognitionParams, imagesNCHW: Tensor, layers: readonly FaceFeatureLayer[]): FaceFeatures =>
    scope(() => {
      const taps = forwardTaps(params, imagesNCHW, RESIDUAL_BLOCKS.length);
      const last = RESIDUAL_BLOCKS[RESIDUAL_BLOCKS.length - 1][0];
      return { maps: layers.map((layer) => taps.get(layer)!), embedding: descriptorHead(params, taps.get(last)!) };
    }),
  { maxRecordings: 2 },
);

/**
 * One whole pass of the face ResNet giving both the feature maps at `layers` (as
 * faceFeatureMaps) and the descriptor (as faceEmbedding): what a reward that scores identity
 * and perceptual distance needs, for the price of one forward instead of two.
 */
export function faceFeatures(
  params: FaceRecognitionParams,
  imagesNCHW: Tensor,
  layers: readonly FaceFeatureLayer[] = FACE_FEATURE_LAYERS,
): FaceFeatures {
  checkedDepths('faceFeatures', imagesNCHW, layers);
  return recordedFeatures(params, imagesNCHW, layers);
}

/** A FaceFeatureSource that runs the network once per image tensor and keeps the features (past any scope) until dispose(). */
export interface FaceFeatureCache extends FaceFeatureSource {
  /** Face-ResNet passes run so far: one per distinct image tensor. */
  readonly passes: number;
  dispose(): void;
}

export function faceFeatureCache(
  params: FaceRecognitionParams,
  layers: readonly FaceFeatureLayer[] = FACE_FEATURE_LAYERS,
): FaceFeatureCache {
  const memo = new Map<Tensor, FaceFeatures>();
  const leaves = (f: FaceFeatures): Tensor[] => [...f.maps, f.embedding];
  return {
    params,
    layers,
    of(images) {
      let f = memo.get(images);
      if (!f) {
        f = faceFeatures(params, images, layers);
        leaves(f).forEach((t) => keep(t));
        memo.set(images, f);
      }
      return f;
    },
    get passes() {
      return memo.size;
    },
    dispose() {
      for (const f of memo.values()) leaves(f).forEach((t) => t.dispose());
      memo.clear();
    },
  };
}
