// The demo report's split of restored - LQ by how degraded the input is (demo.ts bySeverity): the
// halves, their means and "better on" counts, on a hand case; and which restoration strength a
// demo scores the real faces at.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bySeverity,
  DEMO_REAL_STRENGTH,
  DEMO_SFT,
  demoRealStrength,
  TINY_PHOTO_SFT,
} from '../src/cli/commands/demo.js';
import type { MethodResult } from '../src/cli/commands/eval.js';

const result = (method: string, perceptual: number[], identity: number[]): MethodResult => ({
  method,
  set: 'real faces',
  scores: { perceptual: Float64Array.from(perceptual), identity: Float64Array.from(identity) },
  restored: new Float32Array(0),
});

describe('bySeverity', () => {
  // Inputs 1.0, 1.2 (milder than the median 1.4) and 1.4, 1.6: the restorer loses 0.1 on the mild
  // pair and gains 0.3 on the hard pair.
  const results = [
    result('LQ input', [1.0, 1.6, 1.2, 1.4], [0.95, 0.9, 0.94, 0.92]),
    result('LRPO', [1.1, 1.3, 1.3, 1.1], [0.94, 0.93, 0.94, 0.95]),
  ];
  it('splits at the median input perceptual distance and says which half the restorer helps', () => {
    const [perceptual] = bySeverity(results, 'real faces', 'perceptual', 'LRPO');
    expect(perceptual).toMatch(
      /^- real faces, Perceptual dist\.: LRPO - LQ input, split at the median input perceptual distance 1\.400: /,
    );
    expect(perceptual).toMatch(
      /milder 2: 0\.1000 ± 0\.0000, better on 0; more degraded 2: -0\.3000 ± 0\.0000, better on 2$/,
    );
    const [identity] = bySeverity(results, 'real faces', 'identity', 'LRPO');
    // Identity is higher-is-better: the mild pair 0.94 - 0.95, 0.94 - 0.94; the hard pair +0.03 each.
    expect(identity).toMatch(
      /milder 2: -0\.0050 ± [\d.]+, better on 0; more degraded 2: 0\.0300 ± [\d.]+, better on 2$/,
    );
  });
  it('says nothing for fewer than 4 faces or a missing method', () => {
    const two = results.map((r) => ({ ...r, scores: { perceptual: r.scores.perceptual!.slice(0, 2) } }));
    expect(bySeverity(two, 'real faces', 'perceptual', 'LRPO')).toEqual([]);
    expect(bySeverity(results, 'real faces', 'perceptual', 'GRPO')).toEqual([]);
  });
});

describe('demoRealStrength', () => {
  it('is the calibrated strength for the checkpoint it was calibrated on, 1 for any other, unless given', () => {
    expect(DEMO_REAL_STRENGTH).toBeGreaterThan(0);
    expect(DEMO_REAL_STRENGTH).toBeLessThan(1);
    expect(demoRealStrength(DEMO_SFT)).toBe(DEMO_REAL_STRENGTH);
    expect(demoRealStrength(join(DEMO_SFT, '..', '.', 'sft-small-32-photo.safetensors'))).toBe(DEMO_REAL_STRENGTH); // same file, other spelling
    expect(demoRealStrength(TINY_PHOTO_SFT)).toBe(1); // calibrated for the small policy only
    expect(demoRealStrength(TINY_PHOTO_SFT, 0.4)).toBe(0.4);
    expect(demoRealStrength(DEMO_SFT, 1)).toBe(1);
  });
});
