// Host-side data for the bench: seeded inputs every engine starts from, layout permutations
// (our NCHW/OIHW vs TensorFlow.js's NHWC/HWIO), and the float32 equality check.

/** A dense float32 array with its shape, row-major. */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((n, d) => n * d, 1);

/** 32-bit string hash (FNV-1a), to derive a per-input seed from a row id. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Uniform values in [-scale, scale) from mulberry32(seed): cheap, deterministic across runs and
 * engines, and independent of our own PRNG (so a PRNG bug cannot hide a kernel bug).
 */
export function seededUniform(shape: readonly number[], seed: number, scale = 1): HostTensor {
  const data = new Float32Array(sizeOf(shape));
  let a = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    data[i] = (2 * u - 1) * scale;
  }
  return { shape, data };
}

/** out[j...] = x[perm applied]: the host equivalent of transpose(x, perm). */
export function permute(x: HostTensor, perm: readonly number[]): HostTensor {
  const rank = x.shape.length;
  if (perm.length !== rank) throw new Error(`permute: perm [${perm}] does not fit shape [${x.shape}].`);
  const outShape = perm.map((p) => x.shape[p]);
  const inStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= x.shape[d];
  }
  const stridesInOutOrder = perm.map((p) => inStrides[p]);
  const out = new Float32Array(x.data.length);
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = x.data[src];
    // Odometer over the output's indices, moving the source offset along.
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      src += stridesInOutOrder[d];
      if (index[d] < outShape[d]) break;
      src -= stridesInOutOrder[d] * outShape[d];
      index[d] = 0;
    }
  }
  return { shape: outShape, data: out };
}

/** The permutation that undoes `perm`. */
export const inversePerm = (perm: readonly number[]): number[] => {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
};

/** NCHW images to TensorFlow.js's NHWC. */
export const NCHW_TO_NHWC = [0, 2, 3, 1] as const;
/** OIHW conv weights to TensorFlow.js's HWIO filters. */
export const OIHW_TO_HWIO = [2, 3, 1, 0] as const;

export interface Comparison {
  readonly ok: boolean;
  /** max |got - ref| / max |ref|: a float32 error scaled by the output's magnitude. */
  readonly relErr: number;
  readonly detail?: string;
}

/**
 * Equal within a float32 tolerance, scaled by the reference's largest magnitude: accumulation
 * order differs between engines, so an elementwise relative test would fail on near-zero
 * outputs of long sums. NaNs and shape mismatches fail outright.
 */
export function compareOutputs(ref: readonly HostTensor[], got: readonly HostTensor[], tolerance: number): Comparison {
  if (ref.length !== got.length)
    return { ok: false, relErr: Infinity, detail: `${got.length} outputs, expected ${ref.length}` };
  let worst = 0;
  for (let k = 0; k < ref.length; k++) {
    const r = ref[k];
    const g = got[k];
    if (r.shape.join() !== g.shape.join()) {
      return { ok: false, relErr: Infinity, detail: `output ${k} has shape [${g.shape}], expected [${r.shape}]` };
    }
    let maxRef = 0;
    for (const v of r.data) maxRef = Math.max(maxRef, Math.abs(v));
    let maxDiff = 0;
    for (let i = 0; i < r.data.length; i++) {
      const d = Math.abs(g.data[i] - r.data[i]);
      if (Number.isNaN(d))
        return { ok: false, relErr: NaN, detail: `output ${k} element ${i}: got ${g.data[i]}, expected ${r.data[i]}` };
      maxDiff = Math.max(maxDiff, d);
    }
    // An all-zero reference would make any all-zero output "equal": no row here legitimately
    // computes zeros, so treat it as a sign that nothing was computed.
    if (maxRef === 0 && r.data.length > 0)
      return { ok: false, relErr: NaN, detail: `output ${k}: the reference is all zeros` };
    worst = Math.max(worst, maxDiff / maxRef);
  }
  return { ok: worst <= tolerance, relErr: worst };
}
