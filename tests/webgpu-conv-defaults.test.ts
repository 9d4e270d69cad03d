// The untuned default choice among the WebGPU convolution variants (conv.ts, defaultVariant): on CPU
// adapters the kernel the measurements picked for each kind of layer runs (counted by its
// dispatches) and its result equals the CPU's; elsewhere none of those CPU-adapter kernels runs.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/kernels/backend.js';
import type { Conv2dParams } from '../src/kernels/params.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { isCpuAdapter } from '../src/kernels/webgpu/tuning.js';
import { dispatchCount, useRawBackends } from './support/backends.js';
import { convComparison, ROUNDING_PER_TERM } from './support/conv-compare.js';

let gpu: WebGpuBackend;
let cpu: Backend;
const { compare } = convComparison(() => [gpu, cpu]);

useRawBackends((g, c) => {
  gpu = g;
  cpu = c;
});

describe('the untuned default convolution variant', () => {
  it("the untuned default splits the reduction of few outputs over a long one (a strided layer's weight gradient) on CPU adapters", async () => {
    const cpuAdapter = isCpuAdapter(gpu.ctx.gpu.adapterDescription);
    const split = () => dispatchCount(gpu, (k) => /:gemm\d+x2(sg)?k:/.test(k));
    // The weight gradient of a stride-2 3x3 layer, as autodiff runs it: x^T [C, N, H, W] with the
    // cotangent [O, N, H / 2, W / 2] as a filter dilated by the stride; 144 outputs over 4,096 terms.
    const p: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [2, 2], groups: 1 };
    for (const [x, w, expected] of [
      [[4, 64, 16, 16], [4, 64, 8, 8], true],
      [[4, 16, 16, 16], [4, 16, 8, 8], false], // 1,024 terms: the plain blocks
    ] as const) {
      const before = split();
      await compare({ x: [...x], w: [...w] }, (b, xv, wv) => b.conv2d(xv, wv, p), `default for ${x} * ${w}`);
      expect(split() - before, `${x} * ${w}`).toBe(cpuAdapter && expected ? 1 : 0);
    }
  });

  it("the untuned default takes the runs for the tiny UNet's layers and the face ResNet's stem on CPU adapters, 16 output channels a lane where there are 16", async () => {
    const cpuAdapter = isCpuAdapter(gpu.ctx.gpu.adapterDescription);
    const ran = () => dispatchCount(gpu, (k) => /:runs\d+x\d+sg\d*:/.test(k));
    const conv = (stride: number, padding: number): Conv2dParams => ({
      stride: [stride, stride],
      padding: [padding, padding],
      dilation: [1, 1],
      groups: 1,
    });
    for (const [x, w, p, transposed, expected] of [
      [[2, 3, 30, 30], [32, 3, 7, 7], conv(2, 0), false, true], // the stem's shape, smaller
      [[2, 16, 12, 12], [8, 16, 3, 3], conv(1, 1), false, true], // a tiny-UNet layer
      [[2, 8, 12, 12], [8, 16, 3, 3], conv(1, 1), true, true], // its input gradient
      [[2, 32, 12, 12], [16, 32, 3, 3], conv(1, 1), false, true], // 32 channels in (a skip concat), 16 out
      [[2, 32, 12, 12], [32, 32, 3, 3], conv(1, 1), false, true], // 32 in and out, 18 tiles: too few for Winograd F(4x4)
      [[2, 128, 12, 12], [128, 128, 3, 3], conv(1, 1), false, false], // 128 in and out: Winograd F(2x2)
      [[2, 16, 12, 12], [16, 16, 1, 1], conv(1, 0), false, false], // 1x1: no window to share
      [[2, 8, 12, 12], [3, 8, 3, 3], conv(1, 1), false, true], // the UNet's RGB output: fewer channels than a block
    ] as const) {
      const before = ran();
      await compare(
        { x: [...x], w: [...w] },
        (b, xv, wv) => (transposed ? b.convTranspose2d(xv, wv, { ...p, outputPadding: [0, 0] }) : b.conv2d(xv, wv, p)),
        `default for ${x} * ${w}${transposed ? ' transposed' : ''}`,
      );
      expect(ran() - before, `${x} * ${w}`).toBe(cpuAdapter && expected ? 1 : 0);
    }
    // 16 output channels under a 3x3 window: 16 a lane (on 8-lane subgroups), in both directions.
    const wide = () => dispatchCount(gpu, (k) => k.includes(':runs8x16sg8:'));
    const before = wide();
    for (const transposed of [false, true])
      await compare(
        { x: [2, 16, 12, 12], w: [16, 16, 3, 3] },
        (b, xv, wv) =>
          transposed
            ? b.convTranspose2d(xv, wv, { ...conv(1, 1), outputPadding: [0, 0] })
            : b.conv2d(xv, wv, conv(1, 1)),
        `default for 16 channels${transposed ? ' transposed' : ''}`,
      );
    expect(wide() - before).toBe(cpuAdapter && gpu.ctx.gpu.subgroupSize === 8 ? 2 : 0);
  });

  it('the untuned default takes Winograd F(4x4) on CPU adapters where its GEMMs are long enough, F(2x2) or the runs where its tiles are few', async () => {
    // No variant named (tuning is off under vitest): the kernel counts say which variant ran, and
    // its result still matches the CPU within F(4x4)'s rounding.
    const cpuAdapter = isCpuAdapter(gpu.ctx.gpu.adapterDescription);
    const ran = (prefix: string) => dispatchCount(gpu, (k) => k.startsWith(prefix));
    const p: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
    const runs = ':runs8x16sg8';
    for (const [x, w, expected] of [
      [[4, 32, 66, 66], [32, 32, 3, 3], ':winograd4x3:output'], // 32 channels, 4 x 17 x 17 = 1,156 tiles of 4x4
      [[8, 32, 35, 35], [32, 32, 3, 3], runs], // the face ResNet's 32-channel layer: 648 tiles, GEMMs of 32 terms
      [[2, 64, 32, 32], [64, 64, 3, 3], ':winograd4x3:output'], // 64 channels, 128 tiles
      [[8, 64, 8, 8], [64, 64, 3, 3], runs], // 32 tiles
      [[8, 256, 4, 4], [256, 256, 3, 3], ':winograd2x3:output'], // 8 tiles of 4x4: too few
    ] as const) {
      const before = ran(`conv2d${expected}`);
      await compare(
        { x: [...x], w: [...w] },
        (b, xv, wv) => b.conv2d(xv, wv, p),
        `default for ${x} * ${w}`,
        ROUNDING_PER_TERM.winograd4x3,
      );
      const sg8 = gpu.ctx.gpu.subgroupSize === 8 || expected !== runs;
      expect(ran(`conv2d${expected}`) - before, `${x} * ${w}`).toBe(cpuAdapter && sg8 ? 1 : 0);
    }
  });

  /**
   * A weight-gradient convolution as autodiff's convWeightGrad asks for it (x^T [C, N, H, W] with
   * g^T [O, N, Ho, Wo] as the filter) with no variant named: it matches the CPU and ran `expected` once.
   */
  async function expectDefaultWeightGrad(expected: string, padding: number, x: number[], w: number[]) {
    const ran = () => dispatchCount(gpu, (k) => k.startsWith(`conv2d:${expected}:`));
    const p: Conv2dParams = { stride: [1, 1], padding: [padding, padding], dilation: [1, 1], groups: 1 };
    const before = ran();
    await compare(
      { x, w, xOrder: [1, 0, 2, 3], wOrder: [1, 0, 2, 3] },
      (b, xv, wv) => b.conv2d(xv, wv, p),
      `default weight gradient ${x} * ${w}`,
    );
    expect(ran() - before).toBe(1);
  }

  it('the untuned default takes the shuffled weight-gradient kernels on CPU adapters with subgroups (2 input channels a lane from 16), the runs of 4 on small maps and batches', async () => {
    // Tiny-UNet 3x3 layers', padding 1; rows of 16 pixels are 4 pieces: two rows per 8-lane subgroup.
    const shuffled = isCpuAdapter(gpu.ctx.gpu.adapterDescription) && gpu.ctx.gpu.subgroupSize === 8;
    // Fewer than 16 input channels (x^T's batch): one a lane.
    await expectDefaultWeightGrad(shuffled ? 'wgrad8sg' : 'wgrad4', 1, [8, 6, 16, 16], [24, 6, 16, 16]);
    // At most 16 output channels: 4 a lane, unless they are whole blocks of 8 on rows a subgroup holds whole.
    await expectDefaultWeightGrad(shuffled ? 'wgrad4sg' : 'wgrad4', 1, [8, 6, 16, 16], [9, 6, 16, 16]);
    await expectDefaultWeightGrad(shuffled ? 'wgrad8sg' : 'wgrad4', 1, [8, 6, 16, 16], [16, 6, 16, 16]);
    await expectDefaultWeightGrad(shuffled ? 'wgrad4sg' : 'wgrad4', 1, [8, 6, 16, 48], [16, 6, 16, 48]);
    // From 16 input channels, 2 of them a lane with 4 output channels (an odd count: the last pair clamped).
    await expectDefaultWeightGrad(shuffled ? 'wgrad4c2sg' : 'wgrad4', 1, [16, 6, 16, 16], [24, 6, 16, 16]);
    await expectDefaultWeightGrad(shuffled ? 'wgrad4c2sg' : 'wgrad4', 1, [17, 6, 16, 48], [9, 6, 16, 48]);
    // An 8x8 map (2 pieces a row), and a batch of 3: the runs of 4 pixels.
    await expectDefaultWeightGrad(shuffled ? 'runs4x8sg' : 'wgrad4', 1, [16, 6, 8, 8], [24, 6, 8, 8]);
    await expectDefaultWeightGrad(shuffled ? 'runs4x8sg' : 'wgrad4', 1, [16, 3, 16, 16], [24, 3, 16, 16]);
  });

  it("the untuned default takes the 8 x 8-channel kernel for a 1x1 layer's weight gradient on CPU adapters", async () => {
    // A tiny-UNet skip convolution's, unpadded (one tap); 20 input and 9 output channels leave both blocks ragged.
    const cpuAdapter = isCpuAdapter(gpu.ctx.gpu.adapterDescription);
    await expectDefaultWeightGrad(cpuAdapter ? 'wgrad1x1o8c8' : 'wgrad4', 0, [20, 6, 8, 16], [9, 6, 8, 16]);
    const p: Conv2dParams = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
    // Long reductions over few blocks: split across workgroups (2 and 16 ways), the splits added after.
    for (const [c, n, h, w] of [
      [8, 8, 16, 16],
      [3, 40, 16, 32],
    ])
      await compare(
        { x: [c, n, h, w], w: [8, n, h, w], xOrder: [1, 0, 2, 3], wOrder: [1, 0, 2, 3] },
        (b, xv, wv) => (b === gpu ? gpu.conv2d(xv, wv, p, 'wgrad1x1o8c8') : b.conv2d(xv, wv, p)),
        `wgrad1x1o8c8 split c=${c} n=${n} ${h}x${w}`,
      );
  });
});
