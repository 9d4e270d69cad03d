// Threefry-2x32-20 and the random stream built on it (src/random/threefry.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldInWords, randomStream, splitWords, threefry2x32 } from '../src/random/threefry.js';

const hex = (words: readonly number[]): string[] => words.map((w) => '0x' + w.toString(16).padStart(8, '0'));
const word = fc.integer({ min: 0, max: 0xffffffff });
const keyArb = fc.tuple(word, word);

describe('threefry2x32', () => {
  // Random123 kat_vectors, threefry2x32_20 lines: counter, key, expected output.
  const KAT: [[number, number], [number, number], [number, number]][] = [
    [
      [0x00000000, 0x00000000],
      [0x00000000, 0x00000000],
      [0x6b200159, 0x99ba4efe],
    ],
    [
      [0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      [0x1cb996fc, 0xbb002be7],
    ],
    [
      [0x243f6a88, 0x85a308d3],
      [0x13198a2e, 0x03707344],
      [0xc4923a9c, 0x483df7a0],
    ],
  ];
  it.each(KAT)('matches the Random123 known answer for counter %j', (counter, key, expected) => {
    expect(hex(threefry2x32(key, counter))).toEqual(hex(expected));
  });

  it('returns two unsigned 32-bit words for any key and counter', () => {
    fc.assert(
      fc.property(keyArb, keyArb, (key, counter) => {
        const out = threefry2x32(key, counter);
        return out.length === 2 && out.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
      }),
    );
  });

  it('treats an int32 bit pattern the same as the equal uint32 word', () => {
    expect(threefry2x32([-1, -1], [-1, -1])).toEqual(threefry2x32([0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]));
  });

  it('refuses words that are not 32-bit integers, naming the function', () => {
    expect(() => threefry2x32([0.5, 0], [0, 0])).toThrow(/threefry2x32: key\[0\]/);
    expect(() => threefry2x32([0, 0], [2 ** 32, 0])).toThrow(/threefry2x32: counter\[0\]/);
    expect(() => threefry2x32([0] as unknown as [number, number], [0, 0])).toThrow(/pair of 32-bit words/);
  });
});

describe('randomStream', () => {
  const key: [number, number] = [0x12345678, 0x9abcdef0];

  it("'bits' element i is word i&1 of block floor(i/2) as an int32 bit pattern", () => {
    const bits = randomStream('bits', key, 9);
    expect(bits).toBeInstanceOf(Int32Array);
    for (let i = 0; i < 9; i++) expect(bits[i]).toBe(threefry2x32(key, [i >> 1, 0])[i & 1] | 0);
  });

  it("'uniform' element i is (w >>> 9) * 2^-23 of the same word", () => {
    const u = randomStream('uniform', key, 7);
    expect(u).toBeInstanceOf(Float32Array);
    for (let i = 0; i < 7; i++) expect(u[i]).toBe((threefry2x32(key, [i >> 1, 0])[i & 1] >>> 9) * 2 ** -23);
  });

  it("'normal' applies Box-Muller to each block's two words", () => {
    const z = randomStream('normal', key, 5);
    for (let j = 0; j < 3; j++) {
      const [w0, w1] = threefry2x32(key, [j, 0]);
      const r = Math.sqrt(-2 * Math.log(((w0 >>> 9) + 0.5) * 2 ** -23));
      const theta = 2 * Math.PI * (w1 >>> 9) * 2 ** -23;
      expect(z[2 * j]).toBe(Math.fround(r * Math.cos(theta)));
      if (2 * j + 1 < 5) expect(z[2 * j + 1]).toBe(Math.fround(r * Math.sin(theta)));
    }
  });

  it('a shorter stream is a prefix of a longer one, for every kind', () => {
    fc.assert(
      fc.property(
        keyArb,
        fc.constantFrom('bits', 'uniform', 'normal') as fc.Arbitrary<'bits' | 'uniform' | 'normal'>,
        fc.nat(20),
        fc.nat(20),
        (k, kind, a, b) => {
          const [short, long] = [Math.min(a, b), Math.max(a, b)];
          expect(Array.from(randomStream(kind, k, short))).toEqual(
            Array.from(randomStream(kind, k, long).subarray(0, short)),
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  it('is deterministic in the key and differs between keys', () => {
    expect(randomStream('bits', key, 16)).toEqual(randomStream('bits', key, 16));
    expect(randomStream('bits', key, 16)).not.toEqual(randomStream('bits', [key[0], key[1] ^ 1], 16));
  });

  it('uniform samples lie in [0, 1) with mean 1/2 and variance 1/12 (100k samples)', () => {
    const u = randomStream('uniform', key, 100_000);
    let sum = 0;
    let sumSq = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const x of u) {
      sum += x;
      sumSq += x * x;
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    const mean = sum / u.length;
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(sumSq / u.length - mean * mean - 1 / 12)).toBeLessThan(0.003);
  });

  it('normal samples are finite with mean 0, variance 1 and small skew (100k samples)', () => {
    const z = randomStream('normal', key, 100_000);
    let sum = 0;
    let sumSq = 0;
    let sumCube = 0;
    let finite = 0;
    for (const x of z) {
      if (Number.isFinite(x)) finite++;
      sum += x;
      sumSq += x * x;
      sumCube += x * x * x;
    }
    const n = z.length;
    expect(finite).toBe(n);
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.03);
    expect(Math.abs(sumCube / n)).toBeLessThan(0.05);
  });

  it('an empty stream is an empty array of the right kind', () => {
    expect(randomStream('bits', key, 0)).toEqual(new Int32Array(0));
    expect(randomStream('normal', key, 0)).toEqual(new Float32Array(0));
  });

  it('refuses a negative or fractional size and an unknown kind', () => {
    expect(() => randomStream('uniform', key, -1)).toThrow(/randomStream: size/);
    expect(() => randomStream('uniform', key, 2.5)).toThrow(/randomStream: size/);
    expect(() => randomStream('gamma' as 'bits', key, 2)).toThrow(/unknown kind/);
  });
});

describe('splitWords and foldInWords', () => {
  it('child i of split is threefry2x32(key, [i, 1])', () => {
    fc.assert(
      fc.property(keyArb, fc.nat(8), (k, n) => {
        const children = splitWords(k, n);
        expect(children).toHaveLength(n);
        children.forEach((child, i) => expect(child).toEqual(threefry2x32(k, [i, 1])));
      }),
      { numRuns: 50 },
    );
  });

  it('split is deterministic, its children are distinct, and a prefix of a larger split', () => {
    const k: [number, number] = [7, 11];
    const four = splitWords(k, 4);
    expect(splitWords(k, 4)).toEqual(four);
    expect(new Set(four.map((c) => c.join(','))).size).toBe(4);
    expect(splitWords(k, 6).slice(0, 4)).toEqual(four);
    expect(splitWords(k, 0)).toEqual([]);
  });

  it('foldIn is threefry2x32(key, [data mod 2^32, 2]) and differs from split children and stream blocks', () => {
    const k: [number, number] = [7, 11];
    expect(foldInWords(k, 3)).toEqual(threefry2x32(k, [3, 2]));
    expect(foldInWords(k, -1)).toEqual(threefry2x32(k, [0xffffffff, 2]));
    expect(foldInWords(k, 3)).not.toEqual(splitWords(k, 4)[3]);
    expect(foldInWords(k, 3)).not.toEqual(threefry2x32(k, [3, 0]));
    expect(foldInWords(k, 3)).not.toEqual(foldInWords(k, 4));
  });

  it('refuses a bad count or data, naming the function and the fix', () => {
    expect(() => splitWords([0, 0], -1)).toThrow(/split: the number of keys n must be an integer/);
    expect(() => splitWords([0, 0], 1.5)).toThrow(/split:/);
    expect(() => foldInWords([0, 0], 0.5)).toThrow(/foldIn: data/);
    expect(() => foldInWords([0, 0], 2 ** 32)).toThrow(/foldIn: data/);
  });
});
