// conv2d for 1x1 stride-1 unpadded, ungrouped layers (the landmark net's pointwise halves of its
// separable convolutions, the UNet's channel-changing skips): per image, out[n] = w [O, C] x[n]
// [C, H*W], a batched matmul with the weights broadcast over the batch. The tuned matmul variants
// block both operands, where the implicit-GEMM blocks built for a window's taps have one tap. The
// transposed direction (a 1x1 layer's input gradient) is the same product with the weights
// transposed: w is [C, O] there, read through swapped strides.
import type { View } from '../../backend.js';
import type { ConvGemmProblem, ConvGemmVariant } from './conv-gemm.js';
import { matmul } from './matmul.js';

/** x as [N, C, H*W] when H and W merge into one stride (a contiguous or channel-permuted view), else undefined. */
function pixelsAsColumns(x: View, p: ConvGemmProblem): View | undefined {
  const [sn, sc, sh, sw] = x.strides;
  if (p.h > 1 && p.w > 1 && sh !== p.w * sw) return undefined;
  return { ...x, shape: [p.n, p.c, p.h * p.w], strides: [sn, sc, p.w > 1 ? sw : sh] };
}

/**
 * The pointwise variant; the fallbacks (conv2d's and convTranspose2d's direct kernels) run views
 * whose pixels do not merge into one stride (a slice along W).
 */
export const pointwiseVariant = (fallback: {
  readonly conv: ConvGemmVariant['run'];
  readonly transposed: ConvGemmVariant['run'];
}): ConvGemmVariant => ({
  name: 'pointwise',
  supports: (p) =>
    p.kh === 1 &&
    p.kw === 1 &&
    p.o === p.opg &&
    p.stride[0] === 1 &&
    p.stride[1] === 1 &&
    p.padding[0] === 0 &&
    p.padding[1] === 0 &&
    // A transposed layer's output padding would add pixels the product does not make.
    p.oh === p.h &&
    p.ow === p.w,
  run(ctx, x, w, out, p) {
    const columns = pixelsAsColumns(x, p);
    if (!columns) return (p.transposed ? fallback.transposed : fallback.conv)(ctx, x, w, out, p);
    const [so, sc] = p.transposed ? [w.strides[1], w.strides[0]] : [w.strides[0], w.strides[1]];
    const weights: View = { ...w, shape: [p.n, p.o, p.c], strides: [0, so, sc] };
    matmul(ctx, weights, columns, undefined, out);
  },
});
