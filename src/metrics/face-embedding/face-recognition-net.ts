// face-api's FaceRecognitionNet (a ResNet-34-like net, dlib's face descriptor, 150x150 RGB in,
// 128-d descriptor out) ported to our ops, with its weights read from node_modules by our own
// tfjs weights parser. Architecture and preprocessing follow @vladmandic/face-api 1.7.15
// src/faceRecognitionNet/{FaceRecognitionNet,convLayer,residualLayer,scaleLayer}.ts and
// src/dom/NetInput.ts (toBatchTensor) line by line; every step is one of our differentiable ops.
import {
  jit,
  named,
  ShapeError,
  tensor,
  add,
  maximum,
  mul,
  relu,
  rsqrt,
  matmul,
  pad,
  avgPool2d,
  conv2d,
  maxPool2d,
  mean,
  sum,
  scope,
} from '../../index.js';
import type { BackendName, Tensor } from '../../index.js';
import { faceApiManifestPath } from '../face-api-model.js';
import { readTfjsWeightsHost, WeightsError, type HostWeight } from '../../io/tfjs-weights.js';
import { fmtShape } from '../../tensor/errors.js';
import { checkFaceImages, faceApiPreprocess, FACE_MEAN_RGB, tfjsBilinearWeights } from '../face-api-input.js';

export { FACE_MEAN_RGB, tfjsBilinearWeights };

/**
 * A convolution with face-api's per-channel "scale" layer folded in: face-api computes
 * (conv(x, w) + b) * scale + shift; that is conv(x, w * scale) + (b * scale + shift), one
 * convolution with a bias and no extra pass over the feature map (folded on load, in float64).
 */
export interface FaceConvParams {
  /** [out, in, kh, kw] (transposed from tfjs's HWIO), each output channel's filter times its scale. */
  readonly filters: Tensor;
  /** bias * scale + shift, [out]. */
  readonly bias: Tensor;
}

/** Two convolutions of a residual block. */
export interface FaceResidualParams {
  readonly conv1: FaceConvParams;
  readonly conv2: FaceConvParams;
}

/** The residual blocks in network order, each 'same' (identity shortcut) or 'down' (stride 2). */
export const RESIDUAL_BLOCKS = [
  ['conv32_1', 'same'],
  ['conv32_2', 'same'],
  ['conv32_3', 'same'],
  ['conv64_down', 'down'],
  ['conv64_1', 'same'],
  ['conv64_2', 'same'],
  ['conv64_3', 'same'],
  ['conv128_down', 'down'],
  ['conv128_1', 'same'],
  ['conv128_2', 'same'],
  ['conv256_down', 'down'],
  ['conv256_1', 'same'],
  ['conv256_2', 'same'],
  ['conv256_down_out', 'down'],
] as const;

/** The name of one residual block (a key of FaceRecognitionParams). */
export type ResidualName = (typeof RESIDUAL_BLOCKS)[number][0];

/** The whole network's weights: a plain record of tensors (a pytree, so `grad` can take it). */
export type FaceRecognitionParams = { readonly conv32_down: FaceConvParams; readonly fc: Tensor } & {
  readonly [K in ResidualName]: FaceResidualParams;
};

/** The side length face-api resizes every face to. */
export const FACE_INPUT_SIZE = 150;

/** The face-api manifest of the recognition model inside node_modules (no network). */
export const faceRecognitionManifestPath = (): string =>
  faceApiManifestPath('loadFaceRecognitionParams', 'face_recognition_model-weights_manifest.json');

/**
 * Reads face-api's recognition weights (uint8-quantized, dequantized by our parser) into tensors
 * on `backend` (default: the current one). `manifestPath` overrides the node_modules copy.
 */
export function loadFaceRecognitionParams(
  options: { readonly backend?: BackendName; readonly manifestPath?: string } = {},
): FaceRecognitionParams {
  const path = options.manifestPath ?? faceRecognitionManifestPath();
  const host = readTfjsWeightsHost(path);
  const take = (name: string, rank: number): HostWeight => {
    const w = host.get(name);
    if (!w || w.shape.length !== rank) {
      throw new WeightsError(
        `loadFaceRecognitionParams: ${path} has no rank-${rank} weight "${name}"${w ? ` (found shape ${fmtShape(w.shape)})` : ''}; it is not face-api's face_recognition_model.`,
      );
    }
    return w;
  };
  const up = (w: HostWeight, shape = w.shape) => tensor(w.values, { shape: [...shape], backend: options.backend });
  const convParams = (prefix: string): FaceConvParams => {
    const f = take(`${prefix}/conv/filters`, 4);
    const [kh, kw, cin, cout] = f.shape;
    const [bias, scale, shift] = [`conv/bias`, `scale/weights`, `scale/biases`].map((n) => take(`${prefix}/${n}`, 1));
    for (const v of [bias, scale, shift])
      if (v.shape[0] !== cout)
        throw new WeightsError(
          `loadFaceRecognitionParams: ${path}: "${prefix}" has ${cout} filters but ${v.shape[0]} bias/scale values; it is not face-api's face_recognition_model.`,
        );
    // HWIO -> OIHW on the host, times the output channel's scale: out[o, i, y, x] = in[y, x, i, o] * scale[o].
    const oihw = new Float32Array(f.values.length);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < cin; i++)
          for (let o = 0; o < cout; o++)
            oihw[((o * cin + i) * kh + y) * kw + x] = f.values[((y * kw + x) * cin + i) * cout + o] * scale.values[o];
    const folded = bias.values.map((b, o) => b * scale.values[o] + shift.values[o]);
    return {
      filters: tensor(oihw, { shape: [cout, cin, kh, kw], backend: options.backend }),
      bias: tensor(folded, { shape: [cout], backend: options.backend }),
    };
  };
  const conv32_down = convParams('conv32_down');
  const blocks = Object.fromEntries(
    RESIDUAL_BLOCKS.map(([name]) => [name, { conv1: convParams(`${name}/conv1`), conv2: convParams(`${name}/conv2`) }]),
  ) as { [K in ResidualName]: FaceResidualParams };
  return { conv32_down, ...blocks, fc: up(take('fc', 2)) };
}

/** face-api's convLayer: conv (stride 1 'same' or stride 2 'valid') + bias with its scale layer folded in, optional relu. */
export function convLayer(x: Tensor, p: FaceConvParams, down: boolean, withRelu: boolean): Tensor {
  const y = conv2d(x, p.filters, { stride: down ? 2 : 1, padding: down ? 'valid' : 'same', bias: p.bias });
  return withRelu ? relu(y) : y;
}

/** face-api's residual (identity shortcut) and residualDown (2x2 average-pooled, zero-padded shortcut). */
export function residualBlock(x: Tensor, p: FaceResidualParams, down: boolean): Tensor {
  let out = convLayer(convLayer(x, p.conv1, down, true), p.conv2, false, false);
  if (!down) return relu(add(out, x));
  const pooled = avgPool2d(x, { kernel: 2, stride: 2 });
  // When the strided 3x3 'valid' conv loses a row/column the 2x2 pool keeps, face-api appends a
  // zero row and column to the conv branch; extra channels of the conv branch get a zero shortcut.
  const [, cOut, hOut, wOut] = out.shape;
  const [, cIn, hIn, wIn] = pooled.shape;
  if (hOut !== hIn || wOut !== wIn)
    out = pad(out, [
      [0, 0],
      [0, 0],
      [0, hIn - hOut],
      [0, wIn - wOut],
    ]);
  const shortcut =
    cOut > cIn
      ? pad(pooled, [
          [0, 0],
          [0, cOut - cIn],
        ])
      : pooled;
  return relu(add(shortcut, out));
}

/** face-api's input path at the recognition net's 150x150 (see ../face-api-input.ts). */
export const facePreprocess = (imagesNCHW: Tensor): Tensor => faceApiPreprocess(imagesNCHW, FACE_INPUT_SIZE);

/**
 * The 128-d face descriptor of face-api's FaceRecognitionNet for NCHW RGB images in [0, 1]
 * (any size: padded to square and resized to 150x150 like face-api). Returns [N, 128];
 * differentiable in the images and the params.
 */
export function faceEmbedding(params: FaceRecognitionParams, imagesNCHW: Tensor): Tensor {
  checkFaceImages('faceEmbedding', imagesNCHW);
  return named('faceEmbedding', () => recordedEmbedding(params, imagesNCHW));
}

/**
 * The network recorded per image shape (jit): the reward and the evaluation run it on batches of
 * one shape again and again, and its ~130 kernels' host work is a tenth of a call on lavapipe.
 */
const recordedEmbedding = jit(
  (params: FaceRecognitionParams, imagesNCHW: Tensor): Tensor =>
    scope(() => {
      const input = named('preprocess', () => facePreprocess(imagesNCHW));
      let out = named('conv32_down', () =>
        maxPool2d(convLayer(input, params.conv32_down, true, true), { kernel: 3, stride: 2 }),
      );
      for (const [name, kind] of RESIDUAL_BLOCKS)
        out = named(name, () => residualBlock(out, params[name], kind === 'down'));
      return named('head', () => descriptorHead(params, out));
    }),
  { maxRecordings: 2 },
);

/** The descriptor from the last residual block's output [N, 256, h, w]: global average pool, then fc -> [N, 128]. */
export const descriptorHead = (params: FaceRecognitionParams, lastBlock: Tensor): Tensor =>
  matmul(mean(lastBlock, { axis: [2, 3] }), params.fc);

/**
 * Cosine similarity of two batches of descriptors [N, D] (e.g. from faceEmbedding of restored
 * and ground-truth faces): the identity reward, [N], 1 for identical faces.
 */
export function identitySimilarity(a: Tensor, b: Tensor): Tensor {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1]) {
    throw new ShapeError(
      `identitySimilarity: expected two descriptor batches of one shape [N, D], got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}. Compute them with faceEmbedding(params, images).`,
    );
  }
  return scope(() => {
    const dot = sum(mul(a, b), { axis: 1 });
    // The tiny floor keeps an all-zero descriptor from giving 0/0 (and NaN gradients).
    const norms = mul(maximum(sum(mul(a, a), { axis: 1 }), 1e-24), maximum(sum(mul(b, b), { axis: 1 }), 1e-24));
    return mul(dot, rsqrt(norms));
  });
}
