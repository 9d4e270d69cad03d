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

/** Which values a counter-based random primitive produces. */
export type RandomKind = 'bits' | 'uniform' | 'normal';

/** A Threefry-2x32 key as two unsigned 32-bit words. */
export type KeyWords = readonly [number, number];
