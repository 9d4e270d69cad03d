// Convolutions and their relatives on NCHW images: conv2d, convTranspose2d, avgPool2d,
// maxPool2d (composed from strided views) and upsampleNearest2d (a broadcast view).
import { conv2dOutHW, convTranspose2dOutHW, type Conv2dParams } from '../../kernels/params.js';
import { promoteTypes, toFloat } from '../dtype.js';
import { checkShape, fmtShape, ShapeError } from '../errors.js';
import { scope } from '../memory.js';
import { bind } from '../primitives.js';
import type { Tensor } from '../tensor.js';
import { add, cast, maximum } from './elementwise.js';
import { full } from './creation.js';
import { pad, reshape, slice } from './movement.js';
import { requireOptions, requireTensor } from './operand.js';

type Pair = readonly [number, number];
/** A number for both spatial dims, or [height, width]. */
export type IntOrPair = number | Pair;

function pairOf(op: string, name: string, v: IntOrPair, min: number): Pair {
  const p: Pair = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new ShapeError(
      `${op}: ${name} must be an integer >= ${min} or a pair [h, w] of them, got ${JSON.stringify(v)}.`,
    );
  }
  return p;
}

function require4d(op: string, x: Tensor, what: string): void {
  checkShape(
    x.rank === 4,
    op,
    () => `${what} must be 4-D (${what === 'x' ? 'N, C, H, W' : 'weights'}), got shape ${fmtShape(x.shape)}.`,
  );
}

/** Checks both operands are live 4-D tensors and reads the options both convolutions share. */
function convOperands(
  op: string,
  x: Tensor,
  w: Tensor,
  options: { stride?: IntOrPair; dilation?: IntOrPair; groups?: number },
) {
  requireTensor(op, x);
  requireTensor(op, w, 'w');
  requireOptions(op, options, '{ stride: 2, padding: 1 }');
  require4d(op, x, 'x');
  require4d(op, w, 'w');
  return {
    stride: pairOf(op, 'stride', options.stride ?? 1, 1),
    dilation: pairOf(op, 'dilation', options.dilation ?? 1, 1),
    groups: options.groups ?? 1,
  };
}

/** Checks a per-channel bias has shape [channels]. */
function checkBias(op: string, bias: Tensor | undefined, channels: number): void {
  if (!bias) return;
  requireTensor(op, bias, 'bias');
  checkShape(
    bias.rank === 1 && bias.shape[0] === channels,
    op,
    () => `bias must have shape [${channels}], got ${fmtShape(bias.shape)}.`,
  );
}

/** y + bias broadcast over N, H, W. */
const addChannelBias = (y: Tensor, bias: Tensor | undefined): Tensor =>
  bias ? add(y, reshape(bias, [1, bias.shape[0], 1, 1])) : y;

export interface Conv2dOptions {
  readonly stride?: IntOrPair;
  /** Zero padding: a number, [h, w], 'valid' (0) or 'same' (output size = input size; stride 1 only). */
  readonly padding?: IntOrPair | 'same' | 'valid';
  readonly dilation?: IntOrPair;
  readonly groups?: number;
  /** Added per output channel, shape [O]. */
  readonly bias?: Tensor;
}

/** 2-D cross-correlation (PyTorch's conv2d): x [N, C, H, W], w [O, C / groups, kh, kw]. */
export function conv2d(x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const { stride, dilation, groups } = convOperands(op, x, w, options);
  const [, c, h, wd] = x.shape;
  const [o, cPerGroup, kh, kw] = w.shape;
  checkShape(
    Number.isInteger(groups) && groups >= 1 && c % groups === 0 && o % groups === 0,
    op,
    () =>
      `groups = ${groups} must be a positive integer dividing both the input channels ${c} and the output channels ${o}.`,
  );
  checkShape(
    cPerGroup * groups === c,
    op,
    () =>
      `x ${fmtShape(x.shape)} has ${c} channels but w ${fmtShape(w.shape)} expects ${cPerGroup} per group x ${groups} groups = ${cPerGroup * groups}. ` +
      `Weights are [out, in / groups, kh, kw].`,
  );
  // 'same' may need asymmetric padding (extra row/column at the end, as PyTorch does).
  let padding: Pair;
  let extra: Pair = [0, 0];
  if (options.padding === 'same') {
    checkShape(
      stride[0] === 1 && stride[1] === 1,
      op,
      () => `padding 'same' needs stride 1, got stride ${JSON.stringify(options.stride)}.`,
    );
    const total: Pair = [dilation[0] * (kh - 1), dilation[1] * (kw - 1)];
    padding = [Math.floor(total[0] / 2), Math.floor(total[1] / 2)];
    extra = [total[0] % 2, total[1] % 2];
  } else {
    padding =
      options.padding === 'valid' || options.padding === undefined ? [0, 0] : pairOf(op, 'padding', options.padding, 0);
  }
  const [ho, wo] = conv2dOutHW([h + extra[0], wd + extra[1]], [kh, kw], { stride, padding, dilation });
  checkShape(
    ho >= 1 && wo >= 1,
    op,
    () =>
      `the kernel ${kh}x${kw} (dilation ${dilation.join('x')}) does not fit the ${h}x${wd} input with padding ${padding.join('x')}; ` +
      `the output would be ${ho}x${wo}. Pad more or use a smaller kernel.`,
  );
  checkBias(op, options.bias, o);
  const params: Conv2dParams = { stride, padding, dilation, groups };
  return scope(() => {
    const dtype = toFloat(promoteTypes(x.dtype, w.dtype));
    const xin =
      extra[0] || extra[1]
        ? pad(cast(x, dtype), [
            [0, 0],
            [0, 0],
            [0, extra[0]],
            [0, extra[1]],
          ])
        : cast(x, dtype);
    const y = bind(op, [xin, cast(w, dtype)], params);
    return addChannelBias(y, options.bias);
  });
}

export interface ConvTranspose2dOptions {
  readonly stride?: IntOrPair;
  readonly padding?: IntOrPair;
  readonly outputPadding?: IntOrPair;
  readonly dilation?: IntOrPair;
  readonly groups?: number;
  /** Added per output channel, shape [Cout]. */
  readonly bias?: Tensor;
}

/** Transposed convolution (PyTorch's conv_transpose2d): x [N, Cin, H, W], w [Cin, Cout / groups, kh, kw]. */
export function convTranspose2d(x: Tensor, w: Tensor, options: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  const { stride, dilation, groups } = convOperands(op, x, w, options);
  const padding = pairOf(op, 'padding', options.padding ?? 0, 0);
  const outputPadding = pairOf(op, 'outputPadding', options.outputPadding ?? 0, 0);
  const [, cin, h, wd] = x.shape;
  const [wcin, coutPerGroup, kh, kw] = w.shape;
  checkShape(
    Number.isInteger(groups) && groups >= 1 && cin % groups === 0,
    op,
    () => `groups = ${groups} must be a positive integer dividing the input channels ${cin}.`,
  );
  checkShape(
    wcin === cin,
    op,
    () =>
      `x ${fmtShape(x.shape)} has ${cin} channels but w ${fmtShape(w.shape)} has ${wcin}; weights are [in, out / groups, kh, kw].`,
  );
  checkShape(
    outputPadding.every((p, i) => p < Math.max(stride[i], dilation[i])),
    op,
    () =>
      `outputPadding ${outputPadding.join('x')} must be smaller than stride or dilation (${stride.join('x')}, ${dilation.join('x')}).`,
  );
  const [ho, wo] = convTranspose2dOutHW([h, wd], [kh, kw], { stride, padding, dilation, outputPadding });
  checkShape(
    ho >= 1 && wo >= 1,
    op,
    () => `padding ${padding.join('x')} is too large: the output would be ${ho}x${wo}.`,
  );
  const cout = coutPerGroup * groups;
  checkBias(op, options.bias, cout);
  return scope(() => {
    const dtype = toFloat(promoteTypes(x.dtype, w.dtype));
    const y = bind(op, [cast(x, dtype), cast(w, dtype)], { stride, padding, dilation, groups, outputPadding });
    return addChannelBias(y, options.bias);
  });
}

export interface Pool2dOptions {
  readonly kernel: IntOrPair;
  /** Defaults to the kernel size. */
  readonly stride?: IntOrPair;
  readonly padding?: IntOrPair;
}

function poolGeometry(op: string, x: Tensor, options: Pool2dOptions) {
  requireTensor(op, x);
  requireOptions(op, options, '{ kernel: 2 }', true);
  require4d(op, x, 'x');
  const kernel = pairOf(op, 'kernel', options.kernel, 1);
  const stride = pairOf(op, 'stride', options.stride ?? kernel, 1);
  const padding = pairOf(op, 'padding', options.padding ?? 0, 0);
  checkShape(
    padding[0] * 2 <= kernel[0] && padding[1] * 2 <= kernel[1],
    op,
    () => `padding ${padding.join('x')} must be at most half the kernel ${kernel.join('x')}.`,
  );
  const [, , h, w] = x.shape;
  const out: Pair = conv2dOutHW([h, w], kernel, { stride, padding, dilation: [1, 1] });
  checkShape(
    out[0] >= 1 && out[1] >= 1,
    op,
    () => `the ${kernel.join('x')} window does not fit the ${h}x${w} input (padding ${padding.join('x')}).`,
  );
  return { kernel, stride, padding, out };
}

/** Mean over kh x kw windows; padded zeros count in the mean (PyTorch's count_include_pad). */
export function avgPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  const op = 'avgPool2d';
  const { kernel, stride, padding } = poolGeometry(op, x, options);
  const c = x.shape[1];
  return scope(() => {
    // A depthwise convolution with constant weights: one kernel, exact gradients for free.
    const xf = cast(x, toFloat(x.dtype));
    const w = full([c, 1, kernel[0], kernel[1]], 1 / (kernel[0] * kernel[1]), { dtype: xf.dtype, backend: x.backend });
    return bind('conv2d', [xf, w], { stride, padding, dilation: [1, 1], groups: c });
  });
}

/** Max over kh x kw windows; padding never wins (it is -Infinity). */
export function maxPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  const op = 'maxPool2d';
  const { kernel, stride, padding, out } = poolGeometry(op, x, options);
  const [n, c] = x.shape;
  return scope(() => {
    const xp =
      padding[0] || padding[1]
        ? pad(
            x,
            [
              [0, 0],
              [0, 0],
              [padding[0], padding[0]],
              [padding[1], padding[1]],
            ],
            { value: -Infinity },
          )
        : x;
    // Separable: the max over the window's columns (kw strided views along W), then over its rows
    // (kh views of that along H): kh + kw views read instead of kh * kw, no im2col, and gradients
    // flow through maximum and slice.
    const hp = xp.shape[2];
    const maxOf = (views: (k: number) => Tensor, count: number): Tensor => {
      let result = views(0);
      for (let k = 1; k < count; k++) result = maximum(result, views(k));
      return result;
    };
    const columns = maxOf(
      (j) => slice(xp, [0, 0, 0, j], [n, c, hp, j + (out[1] - 1) * stride[1] + 1], [1, 1, 1, stride[1]]),
      kernel[1],
    );
    return maxOf(
      (i) => slice(columns, [0, 0, i, 0], [n, c, i + (out[0] - 1) * stride[0] + 1, out[1]], [1, 1, stride[0], 1]),
      kernel[0],
    );
  });
}

/** Repeats each pixel `scale` times along H and W (integer factors). */
export function upsampleNearest2d(x: Tensor, options: { readonly scale: IntOrPair }): Tensor {
  const op = 'upsampleNearest2d';
  requireTensor(op, x);
  requireOptions(op, options, '{ scale: 2 }', true);
  require4d(op, x, 'x');
  return bind(op, [x], { scale: pairOf(op, 'scale', options.scale, 1) });
}
