// Batched matmul [...B, M, K] @ [...B, K, N] on strided views (transposes and stride-0 broadcast
// batches are read in place), as a registry of swappable kernel variants.
import type { DType } from '../../../tensor/dtype.js';
import { sizeOf } from '../../../tensor/shape.js';
import { BackendError } from '../../../tensor/errors.js';
import type { View } from '../../backend.js';
import type { WgslScalar } from '../../elementwise-ops.js';
import type { GpuContext } from '../context.js';
import { checkRank, coalesce, type Coalesced } from '../layout.js';
import type { WebGpuStorage } from '../storage.js';
import {
  coordsFromIndex,
  kernelSource,
  storageBinding,
  stridedOffset,
  threadPerItemEntry,
  UniformLayout,
  wgslScalar,
} from '../wgsl.js';

const WORKGROUP_SIZE = 64;

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
  readonly supports: (p: MatmulProblem) => boolean;
  /** Writes a @ b into `out` (contiguous [...B, M, N]). */
  readonly run: (ctx: GpuContext, a: View, b: View, out: WebGpuStorage, p: MatmulProblem) => void;
}

/** Uniforms every variant shares: sizes, operand offsets and strides, the batch layout. */
function sharedUniforms(a: View, b: View, p: MatmulProblem, extra: Record<string, number>) {
  const r = a.shape.length;
  const layout = new UniformLayout({
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
    a_sm: a.strides[r - 2],
    a_sk: a.strides[r - 1],
    b_sk: b.strides[r - 2],
    b_sn: b.strides[r - 1],
    bshape: p.batchDims.shape,
    ast: p.batchDims.strides[0],
    bst: p.batchDims.strides[1],
    count: 0,
    ...extra,
  });
  return { layout, uniform };
}

/** Statements giving `a_base` and `b_base` for batch index `bi`. */
const batchBases = (batchRank: number): string =>
  [
    coordsFromIndex('bi', batchRank, 'bshape'),
    `let a_base = ${stridedOffset(batchRank, 'ast', 'p.a_off')};`,
    `let b_base = ${stridedOffset(batchRank, 'bst', 'p.b_off')};`,
  ]
    .filter((s) => s)
    .join('\n');

const bindings = (t: WgslScalar): string =>
  [storageBinding(1, 'out', t, 'read_write'), storageBinding(2, 'a', t, 'read'), storageBinding(3, 'b', t, 'read')].join('\n');

/** Each thread computes a 4x4 output tile in registers; no shared memory (fastest on lavapipe, DESIGN.md section 6). */
const tile4x4: MatmulVariant = {
  name: 'tile4x4',
  description: 'register-blocked 4x4 output tile per thread, no shared memory',
  supports: () => true,
  run(ctx, a, b, out, p) {
    const t = wgslScalar(p.dtype);
    const tilesM = Math.ceil(p.m / 4);
    const tilesN = Math.ceil(p.n / 4);
    const count = p.batch * tilesM * tilesN;
    const { layout, uniform } = sharedUniforms(a, b, p, { tiles_m: tilesM, tiles_n: tilesN, count });
    const rank = p.batchDims.shape.length;
    const body = `let per_batch = p.tiles_m * p.tiles_n;
let bi = idx / per_batch;
let tile = idx % per_batch;
let m0 = (tile / p.tiles_n) * 4u;
let n0 = (tile % p.tiles_n) * 4u;
${batchBases(rank)}
// Rows and columns past the edge are clamped for loading and skipped when storing.
let last_m = p.m - 1u;
let last_n = p.n - 1u;
let rows = vec4<u32>(min(m0, last_m), min(m0 + 1u, last_m), min(m0 + 2u, last_m), min(m0 + 3u, last_m)) * p.a_sm;
let cols = vec4<u32>(min(n0, last_n), min(n0 + 1u, last_n), min(n0 + 2u, last_n), min(n0 + 3u, last_n)) * p.b_sn;
var acc0 = vec4<${t}>(0);
var acc1 = vec4<${t}>(0);
var acc2 = vec4<${t}>(0);
var acc3 = vec4<${t}>(0);
for (var kk = 0u; kk < p.k; kk++) {
  let ak = a_base + kk * p.a_sk;
  let bk = b_base + kk * p.b_sk;
  let bv = vec4<${t}>(b[bk + cols.x], b[bk + cols.y], b[bk + cols.z], b[bk + cols.w]);
  acc0 += a[ak + rows.x] * bv;
  acc1 += a[ak + rows.y] * bv;
  acc2 += a[ak + rows.z] * bv;
  acc3 += a[ak + rows.w] * bv;
}
let out_base = bi * p.m * p.n;
var accs = array<vec4<${t}>, 4>(acc0, acc1, acc2, acc3);
for (var i = 0u; i < 4u; i++) {
  if (m0 + i >= p.m) { break; }
  let row = out_base + (m0 + i) * p.n;
  for (var j = 0u; j < 4u; j++) {
    if (n0 + j < p.n) { out[row + n0 + j] = accs[i][j]; }
  }
}`;
    const kernel = `matmul:tile4x4:${p.dtype}`;
    ctx.dispatch({
      kernel,
      source: kernelSource(`// ${kernel}: batch rank ${rank}`, layout.declaration(), bindings(t), threadPerItemEntry(WORKGROUP_SIZE, 'p.count', body)),
      uniform,
      storage: [ctx.bind(out), ctx.bind(a), ctx.bind(b)],
      workgroups: Math.ceil(count / WORKGROUP_SIZE),
    });
  },
};

/** One thread per output element: the simplest correct kernel, kept as a reference variant. */
const naive: MatmulVariant = {
  name: 'naive',
  description: 'one thread per output element',
  supports: () => true,
  run(ctx, a, b, out, p) {
    const t = wgslScalar(p.dtype);
    const count = p.batch * p.m * p.n;
    const { layout, uniform } = sharedUniforms(a, b, p, { count });
    const rank = p.batchDims.shape.length;
    const body = `let bi = idx / (p.m * p.n);
let mn = idx % (p.m * p.n);
let row = mn / p.n;
let col = mn % p.n;
${batchBases(rank)}
var acc = ${t}(0);
for (var kk = 0u; kk < p.k; kk++) {
  acc += a[a_base + row * p.a_sm + kk * p.a_sk] * b[b_base + kk * p.b_sk + col * p.b_sn];
}
out[idx] = acc;`;
    const kernel = `matmul:naive:${p.dtype}`;
    ctx.dispatch({
      kernel,
      source: kernelSource(`// ${kernel}: batch rank ${rank}`, layout.declaration(), bindings(t), threadPerItemEntry(WORKGROUP_SIZE, 'p.count', body)),
      uniform,
      storage: [ctx.bind(out), ctx.bind(a), ctx.bind(b)],
      workgroups: Math.ceil(count / WORKGROUP_SIZE),
    });
  },
};

/** The variants, in order of preference; the first that supports a problem runs unless one is named. */
export const matmulVariants: readonly MatmulVariant[] = [tile4x4, naive];

/** a [...B, M, K] @ b [...B, K, N] into fresh contiguous [...B, M, N]; K = 0 gives zeros. */
export function matmul(ctx: GpuContext, a: View, b: View, variantName?: string): WebGpuStorage {
  const r = a.shape.length;
  const batchShape = a.shape.slice(0, r - 2);
  const [m, k] = a.shape.slice(r - 2);
  const n = b.shape[r - 1];
  const batch = sizeOf(batchShape);
  const out = ctx.alloc(a.dtype, batch * m * n);
  if (batch * m * n === 0) return out;
  const batchDims = coalesce(batchShape, [a.strides.slice(0, r - 2), b.strides.slice(0, r - 2)]);
  checkRank('matmul', batchDims.shape.length);
  const problem: MatmulProblem = { dtype: a.dtype, batch, m, n, k, batchDims };
  const variant = variantName
    ? matmulVariants.find((v) => v.name === variantName)
    : matmulVariants.find((v) => v.supports(problem));
  if (!variant || !variant.supports(problem)) {
    throw new BackendError(
      `webgpu: matmul variant '${variantName}' is unknown or does not support this problem; known: ${matmulVariants.map((v) => v.name).join(', ')}.`,
    );
  }
  variant.run(ctx, a, b, out, problem);
  return out;
}
