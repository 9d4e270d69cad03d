// What every matmul kernel variant shares: the problem record, the variant interface, the uniform
// block of sizes/offsets/strides, batch-base arithmetic and the operand bindings.
import type { DType } from '../../../tensor/dtype.js';
import type { View } from '../../backend.js';
import type { WgslScalar } from '../../elementwise-ops.js';
import type { GpuContext } from '../context.js';
import type { GpuDevice } from '../device.js';
import type { Coalesced } from '../layout.js';
import type { WebGpuStorage } from '../storage.js';
import { coordsFromIndex, stridedOffset, uniformLayoutOf } from '../wgsl.js';

/** One matmul call, after batch dims were merged where contiguous. */
export interface MatmulProblem {
  readonly dtype: DType;
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** Batch shape with a's and b's batch strides (strides [0] = a, [1] = b). */
  readonly batchDims: Coalesced;
}

export interface MatmulVariant {
  readonly name: string;
  readonly description: string;
  /** Whether the variant handles this problem on this device (some need optional device features). */
  readonly supports: (p: MatmulProblem, gpu: GpuDevice) => boolean;
  /** Writes a @ b into `out` (contiguous [...B, M, N]). */
  readonly run: (ctx: GpuContext, a: View, b: View, out: WebGpuStorage, p: MatmulProblem) => void;
  /** Stages shared-memory tiles with a workgroup barrier per K step: not a tuning candidate on CPU adapters (see tuningCandidates). */
  readonly gpuOnly?: boolean;
}

/** Strides of the matrix dims of a [..., rows, cols] view: [row stride, col stride]. */
export const matrixStrides = (v: View): [number, number] => {
  const r = v.shape.length;
  return [v.strides[r - 2], v.strides[r - 1]];
};

/** Uniforms every variant shares: sizes, operand offsets and strides, the batch layout. */
export function sharedUniforms(a: View, b: View, p: MatmulProblem, extra: Record<string, number>) {
  const [aSm, aSk] = matrixStrides(a);
  const [bSk, bSn] = matrixStrides(b);
  const layout = uniformLayoutOf({
    m: 'u32',
    n: 'u32',
    k: 'u32',
    count: 'u32',
    a_off: 'u32',
    b_off: 'u32',
    a_sm: 'u32',
    a_sk: 'u32',
    b_sk: 'u32',
    b_sn: 'u32',
    bshape: 'dims',
    ast: 'dims',
    bst: 'dims',
    ...Object.fromEntries(Object.keys(extra).map((name) => [name, 'u32' as const])),
  });
  const uniform = layout.pack({
    m: p.m,
    n: p.n,
    k: p.k,
    a_off: a.offset,
    b_off: b.offset,
    a_sm: aSm,
    a_sk: aSk,
    b_sk: bSk,
    b_sn: bSn,
    bshape: p.batchDims.shape,
    ast: p.batchDims.strides[0],
    bst: p.batchDims.strides[1],
    count: 0,
    ...extra,
  });
  return { layout, uniform };
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
/** `f(0)` .. `f(n - 1)`, one a line. */
export const lines = (n: number, f: (i: number) => string): string => range(n).map(f).join('\n');

/**
 * One k step of a register-tiled product, as WGSL: the lane's `loads` B values (`bLoad(j, k)`),
 * each of its `tm` rows' A value (`aOf(i)`), and a_i * b_j added into `acc(i, j)`.
 */
export const kStep =
  (loads: number, tm: number, bLoad: (j: number, k: string) => string, acc: (i: number, j: number) => string) =>
  (k: string, aOf: (i: number) => string): string =>
    [
      ...range(loads).map((j) => `let bv${j} = ${bLoad(j, k)};`),
      ...range(tm).map((i) => `let a${i} = ${aOf(i)};`),
      ...range(tm * loads).map(
        (x) => `${acc(Math.floor(x / loads), x % loads)} += a${Math.floor(x / loads)} * bv${x % loads};`,
      ),
    ].join('\n');

/**
 * The output cut into blocks of `rows` x `cols` per batch item, one workgroup a block: the
 * workgroup count, and the uniforms with blocks_m, blocks_n and count.
 */
export function blockGrid(a: View, b: View, p: MatmulProblem, rows: number, cols: number) {
  const blocksM = Math.ceil(p.m / rows);
  const blocksN = Math.ceil(p.n / cols);
  const count = p.batch * blocksM * blocksN;
  return { count, ...sharedUniforms(a, b, p, { blocks_m: blocksM, blocks_n: blocksN, count }) };
}

/** Statements giving `a_base` and `b_base` for batch index `bi`. */
export const batchBases = (batchRank: number): string =>
  [
    coordsFromIndex('bi', batchRank, 'bshape'),
    `let a_base = ${stridedOffset(batchRank, 'ast', 'p.a_off')};`,
    `let b_base = ${stridedOffset(batchRank, 'bst', 'p.b_off')};`,
  ]
    .filter((s) => s)
    .join('\n');

/** out (binding 1), a (2), b (3); `vec` names the operands bound as arrays of vec4 instead. */
export const bindings = (t: WgslScalar, vec: { out?: boolean; a?: boolean; b?: boolean } = {}): string => {
  const element = (v: boolean | undefined) => (v ? `vec4<${t}>` : t);
  return [
    `@group(0) @binding(1) var<storage, read_write> out: array<${element(vec.out)}>;`,
    `@group(0) @binding(2) var<storage, read> a: array<${element(vec.a)}>;`,
    `@group(0) @binding(3) var<storage, read> b: array<${element(vec.b)}>;`,
  ].join('\n');
};

/**
 * Whether b's rows can be read as vec4 (b[k, 4q .. 4q+3] one aligned load): unit column stride, N,
 * the row stride, the offset and every batch stride multiples of 4.
 */
export function rowsVec4Aligned(v: View, cols: number, batchStrides: readonly number[]): boolean {
  const [rowStride, colStride] = matrixStrides(v);
  return (
    colStride === 1 &&
    cols % 4 === 0 &&
    rowStride % 4 === 0 &&
    v.offset % 4 === 0 &&
    batchStrides.every((s) => s % 4 === 0)
  );
}
