// Parameter records of the structured primitives, shared by the front end and both backends.

/** conv2d on NCHW input and OIHW weights, all pairs as [height, width]. */
export interface Conv2dParams {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/** convTranspose2d on NCHW input and (Cin, Cout/groups, kh, kw) weights, PyTorch layout. */
export interface ConvTranspose2dParams extends Conv2dParams {
  readonly outputPadding: readonly [number, number];
}

/** Output spatial size of a conv2d along one axis. */
export const convOutSize = (inSize: number, k: number, stride: number, pad: number, dilation: number): number =>
  Math.floor((inSize + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;

/** Output spatial size of a convTranspose2d along one axis. */
export const convTransposeOutSize = (
  inSize: number,
  k: number,
  stride: number,
  pad: number,
  dilation: number,
  outputPadding: number,
): number => (inSize - 1) * stride - 2 * pad + dilation * (k - 1) + outputPadding + 1;

type ConvGeometry = Pick<Conv2dParams, 'stride' | 'padding' | 'dilation'>;

/**
 * [OH, OW] of a conv2d (or a pooling window, dilation 1) over an [H, W] input with a [KH, KW]
 * kernel; 0 where the kernel does not fit (the ops refuse that, naming the sizes, before a backend sees it).
 */
export const conv2dOutHW = (
  [h, w]: readonly number[],
  [kh, kw]: readonly number[],
  p: ConvGeometry,
): [number, number] => [
  Math.max(0, convOutSize(h, kh, p.stride[0], p.padding[0], p.dilation[0])),
  Math.max(0, convOutSize(w, kw, p.stride[1], p.padding[1], p.dilation[1])),
];

/** [OH, OW] of a convTranspose2d over an [H, W] input with a [KH, KW] kernel (0 where the padding leaves nothing). */
export const convTranspose2dOutHW = (
  [h, w]: readonly number[],
  [kh, kw]: readonly number[],
  p: ConvGeometry & Pick<ConvTranspose2dParams, 'outputPadding'>,
): [number, number] => [
  Math.max(0, convTransposeOutSize(h, kh, p.stride[0], p.padding[0], p.dilation[0], p.outputPadding[0])),
  Math.max(0, convTransposeOutSize(w, kw, p.stride[1], p.padding[1], p.dilation[1], p.outputPadding[1])),
];

/** Which values a counter-based random primitive produces. */
export type RandomKind = 'bits' | 'uniform' | 'normal';

/** A Threefry-2x32 key as two unsigned 32-bit words. */
export type KeyWords = readonly [number, number];

/** The activation a group normalisation applies after its affine (see NORM_ACTIVATIONS). */
export type NormActivation = 'identity' | 'silu';

/**
 * Group normalisation of x [R, C, S] (R rows of C channels of S values each) in `groups` groups of
 * C / groups channels, then the per-channel affine and `act`: act((x - mean) / sqrt(var + eps) * w + b),
 * the statistics over each row's group (C / groups * S values), the population variance.
 */
export interface GroupNormActParams {
  readonly groups: number;
  readonly eps: number;
  readonly act: NormActivation;
}
