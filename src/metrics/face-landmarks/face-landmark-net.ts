// face-api's FaceLandmark68Net (68 facial landmarks from a 112x112 face, four depthwise-separable
// "dense" blocks + a fully connected layer) ported to our ops, with its weights read from
// node_modules by our own tfjs weights parser, and the landmark distance (LMD) built on it.
// Architecture and preprocessing follow @vladmandic/face-api 1.7.15 line by line:
// src/faceFeatureExtractor/{FaceFeatureExtractor,denseBlock}.ts, src/common/depthwiseSeparableConv.ts,
// src/faceProcessor/FaceProcessor.ts, src/faceLandmarkNet/FaceLandmark68NetBase.ts (postProcess)
// and src/dom/NetInput.ts (toBatchTensor(112, centred)).
import {
  jit,
  named,
  ShapeError,
  tensor,
  add,
  greater,
  mul,
  relu,
  sqrt,
  square,
  sub,
  where,
  matmul,
  pad,
  reshape,
  conv2d,
  mean,
  sum,
  scope,
} from '../../index.js';
import type { BackendName, Tensor } from '../../index.js';
import { faceApiManifestPath } from '../face-api-model.js';
import { readTfjsWeightsHost, WeightsError, type HostWeight } from '../../io/tfjs-weights.js';
import { fmtShape } from '../../tensor/errors.js';
import { checkFaceImages, faceApiPreprocess } from '../face-api-input.js';

/** A plain convolution: filters [out, in, kh, kw] (from tfjs's HWIO) and a bias. */
export interface LandmarkConvParams {
  readonly filters: Tensor;
  readonly bias: Tensor;
}

/** tfjs's separableConv2d + bias: a 3x3 depthwise filter [C, 1, 3, 3], a 1x1 pointwise [O, C, 1, 1], a bias [O]. */
export interface LandmarkSeparableConvParams {
  readonly depthwise: Tensor;
  readonly pointwise: Tensor;
  readonly bias: Tensor;
}

/** One "dense block 4": a stride-2 entry conv and three stride-1 separable convs with dense sums. */
export interface LandmarkDenseBlockParams {
  readonly conv0: LandmarkConvParams | LandmarkSeparableConvParams;
  readonly conv1: LandmarkSeparableConvParams;
  readonly conv2: LandmarkSeparableConvParams;
  readonly conv3: LandmarkSeparableConvParams;
}

/** The whole network's weights: a plain record of tensors (a pytree). fc: weights [256, 136], bias [136]. */
export interface FaceLandmarkParams {
  readonly dense0: LandmarkDenseBlockParams;
  readonly dense1: LandmarkDenseBlockParams;
  readonly dense2: LandmarkDenseBlockParams;
  readonly dense3: LandmarkDenseBlockParams;
  readonly fc: { readonly weights: Tensor; readonly bias: Tensor };
}

/** The side length face-api resizes every face to for the landmark net. */
export const LANDMARK_INPUT_SIZE = 112;
/** The number of landmarks (the iBUG 300-W 68-point scheme). */
export const LANDMARK_COUNT = 68;

const DENSE_BLOCKS = ['dense0', 'dense1', 'dense2', 'dense3'] as const;

/** The face-api manifest of the 68-point landmark model inside node_modules (no network). */
export const faceLandmarkManifestPath = (): string =>
  faceApiManifestPath('loadFaceLandmarkParams', 'face_landmark_68_model-weights_manifest.json');

/** HWIO [kh, kw, in, out] -> OIHW [out, in, kh, kw] on the host. */
function hwioToOihw(w: HostWeight): { values: Float32Array; shape: number[] } {
  const [kh, kw, cin, cout] = w.shape;
  const out = new Float32Array(w.values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          out[((o * cin + i) * kh + y) * kw + x] = w.values[((y * kw + x) * cin + i) * cout + o];
  return { values: out, shape: [cout, cin, kh, kw] };
}

/**
 * Reads face-api's 68-point landmark weights (uint8-quantized, dequantized by our parser) into
 * tensors on `backend` (default: the current one). `manifestPath` overrides the node_modules copy.
 */
export function loadFaceLandmarkParams(
  options: { readonly backend?: BackendName; readonly manifestPath?: string } = {},
): FaceLandmarkParams {
  const path = options.manifestPath ?? faceLandmarkManifestPath();
  const host = readTfjsWeightsHost(path);
  const take = (name: string, shape: readonly (number | null)[]): HostWeight => {
    const w = host.get(name);
    const fits = w && w.shape.length === shape.length && shape.every((d, i) => d === null || d === w.shape[i]);
    if (!w || !fits) {
      const want = `[${shape.map((d) => d ?? '?').join(', ')}]`;
      throw new WeightsError(
        `loadFaceLandmarkParams: ${path} has no weight "${name}" of shape ${want}${w ? ` (found ${fmtShape(w.shape)})` : ''}; it is not face-api's face_landmark_68_model (the tiny model is not supported).`,
      );
    }
    return w;
  };
  const up = (values: Float32Array | Int32Array, shape: readonly number[]) =>
    tensor(values, { shape: [...shape], backend: options.backend });
  const conv = (prefix: string): LandmarkConvParams => {
    const f = hwioToOihw(take(`${prefix}/filters`, [3, 3, 3, null]));
    return { filters: up(f.values, f.shape), bias: up(take(`${prefix}/bias`, [f.shape[0]]).values, [f.shape[0]]) };
  };
  const separable = (prefix: string): LandmarkSeparableConvParams => {
    // depthwise [3, 3, C, 1] -> [C, 1, 3, 3] (one filter per group); pointwise [1, 1, C, O] -> [O, C, 1, 1].
    const d = take(`${prefix}/depthwise_filter`, [3, 3, null, 1]);
    const dw = hwioToOihw({ ...d, shape: [d.shape[0], d.shape[1], 1, d.shape[2]] });
    const p = hwioToOihw(take(`${prefix}/pointwise_filter`, [1, 1, d.shape[2], null]));
    return {
      depthwise: up(dw.values, dw.shape),
      pointwise: up(p.values, p.shape),
      bias: up(take(`${prefix}/bias`, [p.shape[0]]).values, [p.shape[0]]),
    };
  };
  const block = (name: string, first: boolean): LandmarkDenseBlockParams => ({
    conv0: first ? conv(`${name}/conv0`) : separable(`${name}/conv0`),
    conv1: separable(`${name}/conv1`),
    conv2: separable(`${name}/conv2`),
    conv3: separable(`${name}/conv3`),
  });
  const dense = Object.fromEntries(DENSE_BLOCKS.map((name, i) => [name, block(name, i === 0)])) as Pick<
    FaceLandmarkParams,
    (typeof DENSE_BLOCKS)[number]
  >;
  const fcW = take('fc/weights', [null, LANDMARK_COUNT * 2]);
  return {
    ...dense,
    fc: {
      weights: up(fcW.values, fcW.shape),
      bias: up(take('fc/bias', [LANDMARK_COUNT * 2]).values, [LANDMARK_COUNT * 2]),
    },
  };
}

/**
 * TensorFlow's 'same' padding for a stride-s conv: total = max((ceil(n / s) - 1) * s + k - n, 0),
 * the smaller half before (so 112 -> 56 with a 3x3 stride-2 kernel pads 0 before, 1 after). The
 * symmetric part is the conv's own padding (no padded copy); only an odd total's extra row and
 * column after are padded explicitly.
 */
function tfSame(x: Tensor, k: number, stride: number): { x: Tensor; padding: [number, number] } {
  const [, , h, w] = x.shape;
  const total = (n: number) => Math.max((Math.ceil(n / stride) - 1) * stride + k - n, 0);
  const [th, tw] = [total(h), total(w)];
  const padding: [number, number] = [Math.floor(th / 2), Math.floor(tw / 2)];
  const [extraH, extraW] = [th % 2, tw % 2];
  if (extraH === 0 && extraW === 0) return { x, padding };
  const padded = pad(x, [
    [0, 0],
    [0, 0],
    [0, extraH],
    [0, extraW],
  ]);
  return { x: padded, padding };
}

const isSeparable = (p: LandmarkConvParams | LandmarkSeparableConvParams): p is LandmarkSeparableConvParams =>
  'depthwise' in p;

/** tfjs conv2d(x, filters, stride, 'same') + bias, or separableConv2d(x, depthwise, pointwise, stride, 'same') + bias. */
function convSame(x: Tensor, p: LandmarkConvParams | LandmarkSeparableConvParams, stride: number): Tensor {
  const same = tfSame(x, 3, stride);
  if (!isSeparable(p)) return conv2d(same.x, p.filters, { stride, padding: same.padding, bias: p.bias });
  const depthwise = conv2d(same.x, p.depthwise, { stride, padding: same.padding, groups: x.shape[1] });
  return conv2d(depthwise, p.pointwise, { bias: p.bias });
}

/** face-api's denseBlock4 (isScaleDown): every conv's output is summed into all later ones. */
function denseBlock4(x: Tensor, p: LandmarkDenseBlockParams): Tensor {
  const out1 = relu(convSame(x, p.conv0, 2));
  const out2 = convSame(out1, p.conv1, 1);
  const out3 = convSame(relu(add(out1, out2)), p.conv2, 1);
  const out4 = convSame(relu(add(out1, add(out2, out3))), p.conv3, 1);
  return relu(add(out1, add(out2, add(out3, out4))));
}

/** face-api's input path at the landmark net's 112x112 (see ../face-api-input.ts). */
export const landmarkPreprocess = (imagesNCHW: Tensor): Tensor => faceApiPreprocess(imagesNCHW, LANDMARK_INPUT_SIZE);

/**
 * The 68 landmarks of face-api's FaceLandmark68Net for NCHW RGB face crops in [0, 1] (any size:
 * padded to square and resized to 112x112 like face-api). Returns [N, 68, 2] (x, y) in pixels of
 * the input image, origin at its top-left corner: face-api's `landmarks.positions` when the
 * detection box is the whole image. Differentiable in the images and the params.
 */
export function faceLandmarks68(params: FaceLandmarkParams, imagesNCHW: Tensor): Tensor {
  checkFaceImages('faceLandmarks68', imagesNCHW);
  return named('faceLandmarks68', () => recordedLandmarks(params, imagesNCHW));
}

/** The network recorded per image shape (jit), as faceEmbedding. */
const recordedLandmarks = jit(
  (params: FaceLandmarkParams, imagesNCHW: Tensor): Tensor => {
    const [n, , h, w] = imagesNCHW.shape;
    return scope(() => {
      let out = named('preprocess', () => landmarkPreprocess(imagesNCHW));
      for (const name of DENSE_BLOCKS) out = named(name, () => denseBlock4(out, params[name]));
      // avgPool 7x7 stride 2 'valid' on the 7x7 map of a 112 input: the spatial mean.
      const relative = add(matmul(mean(out, { axis: [2, 3] }), params.fc.weights), params.fc.bias);
      // postProcess: the outputs are relative to the padded square; undo the centring padding
      // (face-api subtracts |w - h| / 2, not the rounded pixel count) and scale to pixels.
      const side = Math.max(h, w);
      const offset = tensor([w < h ? (h - w) / 2 : 0, h < w ? (w - h) / 2 : 0], {
        shape: [1, 1, 2],
        backend: imagesNCHW.backend,
      });
      return sub(mul(reshape(relative, [n, LANDMARK_COUNT, 2]), side), offset);
    });
  },
  { maxRecordings: 2 },
);

/**
 * Landmark distance (LMD, as in face-restoration papers such as PSFR-GAN and GPEN): the mean over
 * the 68 points of the Euclidean distance between faceLandmarks68 of the restored and of the
 * ground-truth images, in pixels of the input resolution (no normalisation by face size or
 * inter-ocular distance; divide by the image side to compare across resolutions). Returns [N];
 * exactly 0 for identical images, and differentiable (the gradient at a zero distance is 0).
 */
export function landmarkDistance(restoredNCHW: Tensor, gtNCHW: Tensor, params: FaceLandmarkParams): Tensor {
  checkFaceImages('landmarkDistance', restoredNCHW);
  checkFaceImages('landmarkDistance', gtNCHW);
  const [a, b] = [restoredNCHW.shape, gtNCHW.shape];
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new ShapeError(
      `landmarkDistance: restored and ground-truth batches must have one shape [N, 3, H, W], got ${fmtShape(a)} and ${fmtShape(b)}. Resize one to the other's size first.`,
    );
  }
  return scope(() => {
    const d2 = sum(square(sub(faceLandmarks68(params, restoredNCHW), faceLandmarks68(params, gtNCHW))), { axis: 2 });
    // sqrt on a positive stand-in keeps 0 exact and its gradient finite (the double-where trick).
    const positive = greater(d2, 0);
    const dist = where(positive, sqrt(where(positive, d2, 1)), 0);
    return mean(dist, { axis: 1 });
  });
}
