// 2-D convolution (NCHW input, OIHW weights) and its transpose (PyTorch's conv_transpose2d,
// weights [Cin, Cout/groups, kh, kw]) as direct loops with zero padding, accumulating in float64.
import { allocHost } from '../../tensor/dtype.js';
import type { View } from '../backend.js';
import type { Conv2dParams, ConvTranspose2dParams } from '../params.js';
import { conv2dOutHW, convTranspose2dOutHW } from '../params.js';
import { CpuStorage } from './storage.js';
import { storeRules } from './store-rules.js';
import { readContiguous } from './strided.js';

/**
 * out[n, o, oh, ow] = sum over c < C/groups, ki, kj of
 *   x[n, g*C/groups + c, oh*sh - ph + ki*dh, ow*sw - pw + kj*dw] * w[o, c, ki, kj]
 * with g = floor(o / (O/groups)) and taps outside the input reading 0.
 */
export function conv2d(xView: View, wView: View, p: Conv2dParams): CpuStorage {
  const [N, C, H, W] = xView.shape;
  const [O, channelsPerGroup, KH, KW] = wView.shape;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  const outPerGroup = O / p.groups;
  const [Ho, Wo] = conv2dOutHW([H, W], [KH, KW], p);
  const x = readContiguous('conv2d', xView);
  const w = readContiguous('conv2d', wView);
  const out = allocHost(xView.dtype, N * O * Ho * Wo);
  const store = storeRules[xView.dtype];

  let k = 0;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const firstChannel = Math.floor(o / outPerGroup) * channelsPerGroup;
      for (let oh = 0; oh < Ho; oh++) {
        for (let ow = 0; ow < Wo; ow++) {
          let acc = 0;
          for (let c = 0; c < channelsPerGroup; c++) {
            const xPlane = (n * C + firstChannel + c) * H;
            const wPlane = (o * channelsPerGroup + c) * KH;
            for (let ki = 0; ki < KH; ki++) {
              const ih = oh * sh - ph + ki * dh;
              if (ih < 0 || ih >= H) continue;
              for (let kj = 0; kj < KW; kj++) {
                const iw = ow * sw - pw + kj * dw;
                if (iw < 0 || iw >= W) continue;
                acc += x[(xPlane + ih) * W + iw] * w[(wPlane + ki) * KW + kj];
              }
            }
          }
          out[k++] = store(acc);
        }
      }
    }
  }
  return new CpuStorage(xView.dtype, out);
}

/**
 * The scatter form, which is the definition of the transpose (the adjoint of conv2d with the same
 * weights): each input pixel x[n, ci, ih, iw] adds x * w[ci, oc', ki, kj] into
 *   out[n, g*Cout/groups + oc', ih*sh - ph + ki*dh, iw*sw - pw + kj*dw]
 * with g = floor(ci / (Cin/groups)), dropping targets outside the output. outputPadding only
 * enlarges the output (extra rows/cols at the bottom/right receive whatever taps reach them).
 */
export function convTranspose2d(xView: View, wView: View, p: ConvTranspose2dParams): CpuStorage {
  const [N, Cin, H, W] = xView.shape;
  const [, outPerGroup, KH, KW] = wView.shape;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  const inPerGroup = Cin / p.groups;
  const Cout = outPerGroup * p.groups;
  const [Ho, Wo] = convTranspose2dOutHW([H, W], [KH, KW], p);
  const x = readContiguous('convTranspose2d', xView);
  const w = readContiguous('convTranspose2d', wView);
  const acc = new Float64Array(N * Cout * Ho * Wo);

  for (let n = 0; n < N; n++) {
    for (let ci = 0; ci < Cin; ci++) {
      const firstOut = Math.floor(ci / inPerGroup) * outPerGroup;
      for (let ih = 0; ih < H; ih++) {
        for (let iw = 0; iw < W; iw++) {
          const v = x[((n * Cin + ci) * H + ih) * W + iw];
          for (let oc = 0; oc < outPerGroup; oc++) {
            const outPlane = (n * Cout + firstOut + oc) * Ho;
            const wPlane = (ci * outPerGroup + oc) * KH;
            for (let ki = 0; ki < KH; ki++) {
              const oh = ih * sh - ph + ki * dh;
              if (oh < 0 || oh >= Ho) continue;
              for (let kj = 0; kj < KW; kj++) {
                const ow = iw * sw - pw + kj * dw;
                if (ow < 0 || ow >= Wo) continue;
                acc[(outPlane + oh) * Wo + ow] += v * w[(wPlane + ki) * KW + kj];
              }
            }
          }
        }
      }
    }
  }
  const out = allocHost(xView.dtype, acc.length);
  const store = storeRules[xView.dtype];
  for (let i = 0; i < acc.length; i++) out[i] = store(acc[i]);
  return new CpuStorage(xView.dtype, out);
}
