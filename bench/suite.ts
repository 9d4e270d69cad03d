// The bench rows: which ops, on which shapes. The full suite times UNet-sized work; the quick
// suite (CI smoke) checks the same code paths on small, odd shapes.
import type { BenchCase } from './case.js';
import { convRows, type ConvShape } from './cases/conv.js';
import { fusedChainCase } from './cases/elementwise.js';
import { matmulCase, squareMatmulCase } from './cases/matmul.js';
import { groupNormCase, softmaxCase } from './cases/normalization.js';
import { unetBlockStepCase } from './cases/unet-block.js';

export interface SuiteOptions {
  readonly quick: boolean;
  /** Adds matmul 4096^3 (too slow on software adapters such as lavapipe). */
  readonly largeMatmul: boolean;
}

/** Three UNet levels at batch 4: 64x64 with 32 channels, 32x32 with 64, and a stride-2 downsample at 16x16 with 128. */
const UNET_CONVS: readonly ConvShape[] = [
  { n: 4, c: 32, h: 64, w: 64, o: 32, kernel: 3, stride: 1, padding: 1 },
  { n: 4, c: 64, h: 32, w: 32, o: 64, kernel: 3, stride: 1, padding: 1 },
  { n: 4, c: 128, h: 16, w: 16, o: 128, kernel: 3, stride: 2, padding: 1 },
];

/** Odd sizes and channel counts that do not divide tile or group sizes. */
const QUICK_CONVS: readonly ConvShape[] = [
  { n: 2, c: 3, h: 9, w: 7, o: 5, kernel: 3, stride: 1, padding: 1 },
  { n: 1, c: 8, h: 8, w: 8, o: 6, kernel: 3, stride: 2, padding: 1 },
];

function fullSuite(largeMatmul: boolean): BenchCase[] {
  return [
    ...[256, 512, 1024, 2048].map(squareMatmulCase),
    ...(largeMatmul ? [squareMatmulCase(4096)] : []),
    matmulCase(4096, 64, 4096),
    matmulCase(256, 256, 256, 16),
    ...UNET_CONVS.flatMap(convRows),
    fusedChainCase(2048, 2048),
    fusedChainCase(2048, 2048, { fusion: false }),
    softmaxCase(4096, 1024),
    groupNormCase(8, 128, 32, 32, 32),
    unetBlockStepCase(4, 64, 32, 32),
  ];
}

function quickSuite(): BenchCase[] {
  return [
    matmulCase(33, 47, 29),
    squareMatmulCase(64),
    matmulCase(130, 8, 97),
    matmulCase(17, 19, 23, 3),
    ...QUICK_CONVS.flatMap(convRows),
    fusedChainCase(7, 151),
    fusedChainCase(7, 151, { fusion: false }),
    softmaxCase(7, 33),
    groupNormCase(2, 8, 5, 3, 4),
    unetBlockStepCase(2, 8, 6, 4),
  ];
}

export const buildSuite = (o: SuiteOptions): BenchCase[] => (o.quick ? quickSuite() : fullSuite(o.largeMatmul));
