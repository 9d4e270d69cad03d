// Threefry-2x32-20, the counter-based PRNG behind every random primitive, and the exact stream of
// values both backends derive from it (the WebGPU backend ports this file to WGSL word for word).
//
// THE BLOCK FUNCTION (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11; the
// Random123 reference `threefry2x32_R(20, ...)`), all arithmetic on unsigned 32-bit words mod 2^32:
//   ks0 = k0, ks1 = k1, ks2 = 0x1BD11BDA ^ k0 ^ k1
//   x0 = c0 + ks0, x1 = c1 + ks1
//   for r in 0..19:
//     x0 += x1; x1 = rotl32(x1, ROT[r % 8]); x1 ^= x0       ROT = 13 15 26 6 17 29 16 24
//     after rounds r = 3, 7, 11, 15, 19, with s = (r + 1) / 4 (the injection counter, 1..5):
//       x0 += ks[s % 3]; x1 += ks[(s + 1) % 3] + s
//   output (x0, x1)
// Known answers (Random123 kat_vectors, threefry2x32_20), key (k0,k1), counter (c0,c1) -> (x0,x1):
//   (0,0), (0,0) -> (0x6b200159, 0x99ba4efe)
//   (0xffffffff,0xffffffff), (0xffffffff,0xffffffff) -> (0x1cb996fc, 0xbb002be7)
//   (0x13198a2e,0x03707344), (0x243f6a88,0x85a308d3) -> (0xc4923a9c, 0x483df7a0)
//
// THE STREAM: element i of an n-element tensor (row-major) under key k comes from block j = floor(i/2):
//   (w0, w1) = threefry2x32(k, [j, 0]);  w = i even ? w0 : w1
//   'bits'    -> int32 with w's bit pattern (w | 0)
//   'uniform' -> float32 (w >>> 9) * 2^-23, in [0, 1) on a 2^-23 grid (exact in float32)
//   'normal'  -> Box-Muller on the block's two words (Box & Muller 1958):
//                u1 = ((w0 >>> 9) + 0.5) * 2^-23 (in (0, 1), so log(u1) is finite),
//                u2 = (w1 >>> 9) * 2^-23, r = sqrt(-2 ln u1),
//                element 2j = r cos(2 pi u2), element 2j + 1 = r sin(2 pi u2)
//                (the CPU evaluates this in float64 and rounds to float32; the GPU works in f32,
//                so the two agree to float32 tolerance, not bit for bit).
// The stream of n elements is a prefix of the stream of any m > n elements.
//
// KEY DERIVATION uses the counter's second word as a domain tag, so no derived key ever equals a
// block of the value stream (which always has c1 = 0):
//   split(k, n):     child i = threefry2x32(k, [i, 1])
//   foldIn(k, data): threefry2x32(k, [data mod 2^32, 2])
import type { KeyWords, RandomKind } from '../kernels/params.js';

/** Rotation distances of Threefry-2x32 (Skein's R_32x2 table), used cyclically by round. */
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const;
/** Skein key-schedule parity constant. */
const KS_PARITY = 0x1bd11bda;
const ROUNDS = 20;
/** 2^-23: maps a 23-bit integer onto [0, 1) with float32's full mantissa. */
const TWO_POW_M23 = 1 / 8388608;

/** Counter word 1 of each stream, keeping value blocks and derived keys apart. */
const DOMAIN = { values: 0, split: 1, foldIn: 2 } as const;

const rotl32 = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;

/**
 * The block function on plain words, writing (x0, x1) into `out` so that stream generation
 * allocates nothing per block. Inputs must already be uint32 (callers validate).
 */
function threefryBlock(k0: number, k1: number, c0: number, c1: number, out: Uint32Array): void {
  const ks = [k0, k1, (KS_PARITY ^ k0 ^ k1) >>> 0];
  let x0 = (c0 + k0) >>> 0;
  let x1 = (c1 + k1) >>> 0;
  for (let r = 0; r < ROUNDS; r++) {
    x0 = (x0 + x1) >>> 0;
    x1 = rotl32(x1, ROTATIONS[r % 8]);
    x1 = (x1 ^ x0) >>> 0;
    if (r % 4 === 3) {
      const s = (r + 1) / 4;
      x0 = (x0 + ks[s % 3]) >>> 0;
      x1 = (((x1 + ks[(s + 1) % 3]) >>> 0) + s) >>> 0;
    }
  }
  out[0] = x0;
  out[1] = x1;
}

/** Accepts an integer in [-2^31, 2^32) (an int32 or uint32 bit pattern) and returns it as uint32. */
function toWord(fn: string, what: string, x: unknown): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < -0x80000000 || x > 0xffffffff) {
    throw new RangeError(
      `${fn}: ${what} must be an integer in [-2^31, 2^32) (a 32-bit word, signed or unsigned), got ${String(x)}. ` +
        `Pass key words as produced by key(seed)/split, or reduce the value mod 2^32 first.`,
    );
  }
  return x >>> 0;
}

function toWordPair(fn: string, what: string, pair: unknown): [number, number] {
  if (!Array.isArray(pair) || pair.length !== 2) {
    throw new TypeError(`${fn}: ${what} must be a pair of 32-bit words [w0, w1], got ${JSON.stringify(pair)}.`);
  }
  return [toWord(fn, `${what}[0]`, pair[0]), toWord(fn, `${what}[1]`, pair[1])];
}

function checkCount(fn: string, what: string, n: unknown, max: number): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
    throw new RangeError(
      `${fn}: ${what} must be an integer in [0, ${max}], got ${String(n)}; pass a whole, non-negative count.`,
    );
  }
  return n;
}

/** Threefry-2x32 with 20 rounds (Random123): encrypts a 2-word counter under a 2-word key. */
export function threefry2x32(key: KeyWords, counter: readonly [number, number]): [number, number] {
  const [k0, k1] = toWordPair('threefry2x32', 'key', key);
  const [c0, c1] = toWordPair('threefry2x32', 'counter', counter);
  const out = new Uint32Array(2);
  threefryBlock(k0, k1, c0, c1, out);
  return [out[0], out[1]];
}

/** The `n` child keys of `key`: child i = threefry2x32(key, [i, 1]). */
export function splitWords(key: KeyWords, n: number): KeyWords[] {
  const [k0, k1] = toWordPair('split', 'key', key);
  checkCount('split', 'the number of keys n', n, 0xffffffff);
  const out = new Uint32Array(2);
  const children: KeyWords[] = [];
  for (let i = 0; i < n; i++) {
    threefryBlock(k0, k1, i, DOMAIN.split, out);
    children.push([out[0], out[1]]);
  }
  return children;
}

/** A key derived from `key` and an integer tag: threefry2x32(key, [data mod 2^32, 2]). */
export function foldInWords(key: KeyWords, data: number): KeyWords {
  const [k0, k1] = toWordPair('foldIn', 'key', key);
  const d = toWord('foldIn', 'data', data);
  const out = new Uint32Array(2);
  threefryBlock(k0, k1, d, DOMAIN.foldIn, out);
  return [out[0], out[1]];
}

/** Largest stream length: block indices j = floor(i / 2) must fit one 32-bit counter word. */
const MAX_STREAM_SIZE = 2 ** 33;

/**
 * The first `size` elements of the stream of `kind` under `key` (see the header for the exact
 * formulas): an Int32Array for 'bits', a Float32Array for 'uniform' and 'normal'.
 */
export function randomStream(kind: RandomKind, key: KeyWords, size: number): Float32Array | Int32Array {
  const [k0, k1] = toWordPair('randomStream', 'key', key);
  checkCount('randomStream', 'size', size, MAX_STREAM_SIZE);
  const fill = streamFillers[kind];
  if (fill === undefined) {
    throw new TypeError(`randomStream: unknown kind ${JSON.stringify(kind)}; expected 'bits', 'uniform' or 'normal'.`);
  }
  return fill(k0, k1, size);
}

type StreamFiller = (k0: number, k1: number, size: number) => Float32Array | Int32Array;

/** Calls `visit(j, w0, w1)` for each block j covering `size` elements. */
function forEachBlock(k0: number, k1: number, size: number, visit: (j: number, w0: number, w1: number) => void): void {
  const words = new Uint32Array(2);
  const blocks = Math.ceil(size / 2);
  for (let j = 0; j < blocks; j++) {
    threefryBlock(k0, k1, j, DOMAIN.values, words);
    visit(j, words[0], words[1]);
  }
}

/** How each kind turns a block's two words into its (up to) two elements. */
const streamFillers: Record<RandomKind, StreamFiller> = {
  bits: (k0, k1, size) => {
    const out = new Int32Array(size);
    forEachBlock(k0, k1, size, (j, w0, w1) => {
      out[2 * j] = w0 | 0;
      if (2 * j + 1 < size) out[2 * j + 1] = w1 | 0;
    });
    return out;
  },
  uniform: (k0, k1, size) => {
    const out = new Float32Array(size);
    forEachBlock(k0, k1, size, (j, w0, w1) => {
      out[2 * j] = (w0 >>> 9) * TWO_POW_M23;
      if (2 * j + 1 < size) out[2 * j + 1] = (w1 >>> 9) * TWO_POW_M23;
    });
    return out;
  },
  normal: (k0, k1, size) => {
    const out = new Float32Array(size);
    forEachBlock(k0, k1, size, (j, w0, w1) => {
      const u1 = ((w0 >>> 9) + 0.5) * TWO_POW_M23;
      const u2 = (w1 >>> 9) * TWO_POW_M23;
      const radius = Math.sqrt(-2 * Math.log(u1));
      const angle = 2 * Math.PI * u2;
      out[2 * j] = radius * Math.cos(angle);
      if (2 * j + 1 < size) out[2 * j + 1] = radius * Math.sin(angle);
    });
    return out;
  },
};
