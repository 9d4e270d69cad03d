// The degradation the demo and the committed SFT checkpoint use. CodeFormer's ranges
// (docs/architecture.md, "The LRPO pipeline") are set for 512 px faces; at the demo's 32 px a x12
// downsample leaves 3 pixels of face, which no restorer can bring back, so the demo keeps
// CodeFormer's blur (scaled with the image, as degrade() does), noise and JPEG ranges but caps the
// downsampling at x4.
import { defaultDegradation, type DegradationConfig } from '../data/degrade.js';

export const DEMO_DEGRADATION: Partial<DegradationConfig> = Object.freeze({
  downscale: [1, 4] as const,
  noiseSigma: [0, 10 / 255] as const,
  jpegQuality: [40, 95] as const,
});

/** The degradation for a training/evaluation size: the demo's up to 64 px, CodeFormer's full ranges above. */
export const degradationFor = (size: number): Partial<DegradationConfig> =>
  size <= 64 ? DEMO_DEGRADATION : defaultDegradation;
