// The engine half of the degradation (per-image grouped blur, bilinear resizes) on WebGPU agrees with the CPU.
import { describe, expect, it } from 'vitest';
import { blurImages, gaussianKernel } from '../src/data/degrade.js';
import { resizeBilinear } from '../src/data/resize.js';
import { runOnBoth, useBackends } from './support/backends.js';

useBackends();

describe('degradation on WebGPU', () => {
  it('blurs each image with its own kernel and resizes like the CPU backend', async () => {
    const n = 2;
    const values = Array.from({ length: n * 3 * 16 * 16 }, (_, i) => ((i * 37) % 101) / 100);
    const kernels = [gaussianKernel(5, 1.2, 1.2), gaussianKernel(5, 0.4, 2, 0.6)];
    const { cpu, gpu } = await runOnBoth([{ values, shape: [n, 3, 16, 16] }], (x) =>
      resizeBilinear(resizeBilinear(blurImages(x, kernels, 5), [5, 7]), [16, 16]),
    );
    for (let i = 0; i < cpu.length; i++) expect(Math.abs(cpu[i] - gpu[i])).toBeLessThan(1e-5);
  });
});
