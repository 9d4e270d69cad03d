// The real-photo training set builder's identity handling (src/data/human-faces.ts): crops closer
// than the same-person threshold share a cluster (transitively), a cluster never straddles the
// train/validation split, and the reflect-padded alignment keeps the pixels inside the cell.
import { describe, expect, it } from 'vitest';
import {
  descriptorDistance,
  identityClusters,
  SAME_IDENTITY_DISTANCE,
  splitOfCluster,
  warpReflectPadded,
} from '../src/data/human-faces.js';

describe('identityClusters', () => {
  it('joins chains of look-alikes and labels each cluster by its smallest index', () => {
    // 0-1 and 1-2 are look-alikes (0-2 are not), 3 stands alone, 4-5 look alike.
    const pairs = new Set(['0-1', '1-2', '4-5']);
    const d = (i: number, j: number) =>
      pairs.has(`${Math.min(i, j)}-${Math.max(i, j)}`) ? SAME_IDENTITY_DISTANCE - 0.1 : SAME_IDENTITY_DISTANCE + 0.1;
    expect(identityClusters(d, 6)).toEqual([0, 0, 0, 3, 4, 4]);
  });

  it('gives every member of a cluster the same split, the same on every call', () => {
    const labels = identityClusters(() => 1, 40);
    const splits = labels.map(splitOfCluster);
    expect(splits).toEqual(labels.map(splitOfCluster));
    expect(splits).toContain('train');
    expect(splits).toContain('validation');
  });

  it('measures Euclidean descriptor distance', () => {
    expect(descriptorDistance([0, 3], [4, 0])).toBe(5);
  });
});

describe('warpReflectPadded', () => {
  it('reproduces the cell where the square lies inside it, and stays in range outside', () => {
    const w = 8;
    const h = 8;
    const planes = Float64Array.from({ length: 3 * w * h }, (_, i) => (i % 17) / 16);
    // The quad covering exactly the cell: output pixel centres land on input pixel centres.
    const same = warpReflectPadded(planes, w, h, { c: [4, 4], x: [4, 0], y: [0, 4] }, 8);
    same.forEach((v, i) => expect(v).toBeCloseTo(planes[i], 9));
    const wide = warpReflectPadded(planes, w, h, { c: [4, 4], x: [12, 0], y: [0, 12] }, 16);
    for (const v of wide) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
  });
});
