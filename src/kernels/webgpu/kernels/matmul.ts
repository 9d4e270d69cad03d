// Batched matmul [...B, M, K] @ [...B, K, N] on strided views (transposes and stride-0 broadcast
// batches are read in place), as a registry of swappable kernel variants.
import { sizeOf } from '../../../tensor/shape.js';
import { BackendError } from '../../../tensor/errors.js';
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import { checkRank, coalesce, type Coalesced } from '../layout.js';
import type { WebGpuStorage } from '../storage.js';
import { isCpuAdapter, sizeBucket } from '../tuning.js';
import { kernelSource, threadPerItemEntry, type UniformLayout, wgslScalar } from '../wgsl.js';
import type { WgslScalar } from '../../elementwise-ops.js';
import { blockedVariant } from './matmul-blocked.js';
import { gridVariant } from './matmul-grid.js';
import {
  batchBases,
  bindings,
  type MatmulProblem,
  type MatmulVariant,
  matrixStrides,
  rowsVec4Aligned,
  sharedUniforms,
} from './matmul-common.js';
import { tiledVariant } from './matmul-tiled.js';
import { pickVariant } from './pick-variant.js';
import { identityEpilogue, storeOut } from '../epilogue.js';
import { cachedSource } from '../source-cache.js';

export type { MatmulProblem, MatmulVariant } from './matmul-common.js';

const WORKGROUP_SIZE = 64;

/** Dispatches a one-thread-per-item matmul kernel (tile4x4, naive) writing `out` from a and b. */
function dispatchThreadPerItem(
  ctx: GpuContext,
  kernel: string,
  k: { t: WgslScalar; rank: number; layout: UniformLayout; uniform: ArrayBuffer; body: () => string; count: number },
  out: WebGpuStorage,
  a: View,
  b: View,
): void {
  ctx.dispatch({
    kernel,
    // The kernel name (variant and dtype) and the batch rank determine the body.
    source: cachedSource(JSON.stringify([kernel, k.rank]), () =>
      kernelSource(
        `// ${kernel}: batch rank ${k.rank}`,
        k.layout.declaration(),
        bindings(k.t),
        identityEpilogue(k.t),
        threadPerItemEntry(WORKGROUP_SIZE, 'p.count', k.body()),
      ),
    ),
    uniform: k.uniform,
    storage: [ctx.bind(out), ctx.bind(a), ctx.bind(b)],
    workgroups: Math.ceil(k.count / WORKGROUP_SIZE),
  });
}

/**
 * Each thread computes a 4x4 output tile in registers; no shared memory (for CPU adapters:
 * docs/architecture.md, "WebGPU: the device and its lifetime").
 */
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
    const body = () => `let per_batch = p.tiles_m * p.tiles_n;
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
    if (n0 + j < p.n) { ${storeOut('row + n0 + j', 'accs[i][j]')} }
  }
}`;
    dispatchThreadPerItem(ctx, `matmul:tile4x4:${p.dtype}`, { t, rank, layout, uniform, body, count }, out, a, b);
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
    const body = () => `let bi = idx / (p.m * p.n);
let mn = idx % (p.m * p.n);
let row = mn / p.n;
let col = mn % p.n;
${batchBases(rank)}
var acc = ${t}(0);
for (var kk = 0u; kk < p.k; kk++) {
  acc += a[a_base + row * p.a_sm + kk * p.a_sk] * b[b_base + kk * p.b_sk + col * p.b_sn];
}
${storeOut('idx', 'acc')}`;
    dispatchThreadPerItem(ctx, `matmul:naive:${p.dtype}`, { t, rank, layout, uniform, body, count }, out, a, b);
  },
};

/** Every variant; tests and benches iterate them, the tuner measures all but 'naive'. */
export const matmulVariants: readonly MatmulVariant[] = [
  blockedVariant(4, 4),
  blockedVariant(8, 4),
  blockedVariant(8, 8),
  blockedVariant(16, 8),
  blockedVariant(8, 16),
  blockedVariant(16, 16),
  blockedVariant(16, 8, true),
  blockedVariant(32, 4, true),
  // 8 x 8 lanes for narrow outputs on 8-wide subgroups (matmul-grid.ts). The taller tiles reuse
  // each B load for more rows: 1.4-1.7x faster than 8x4 on the face ResNet's 128- and 256-channel
  // Winograd GEMMs (docs/measurements.md).
  gridVariant(4, 4),
  gridVariant(8, 4),
  gridVariant(8, 8),
  gridVariant(16, 4),
  gridVariant(16, 8),
  tiledVariant(4, 4, 16),
  tiledVariant(8, 8, 8),
  // Half the barriers per k of tiled128x128k8; unmeasured on a GPU so far (the tuner decides).
  tiledVariant(8, 8, 16),
  // Register-prefetched, bank-conflict-free tiles: unmeasured on a GPU so far (the tuner decides).
  tiledVariant(4, 4, 16, true),
  tiledVariant(8, 8, 8, true),
  tile4x4,
  naive,
];

const byName = (name: string): MatmulVariant => matmulVariants.find((v) => v.name === name) ?? matmulVariants[0];

/** For 256 columns on CPU adapters: the row block for at most this many rows (above: rows32x4sg). */
const ROWS_256: readonly (readonly [number, string])[] = [
  [4, 'rows4x4'],
  [8, 'rows8x4'],
];

/**
 * The untuned choice: register blocking on CPU adapters (barriers are costly there:
 * docs/architecture.md, "WebGPU: the device and its lifetime"), with A broadcast through subgroups
 * when the device has them; shared-memory tiles elsewhere. The measurements behind each choice:
 * docs/measurements.md.
 */
function defaultVariant(ctx: GpuContext, p: MatmulProblem): string {
  if (isCpuAdapter(ctx.gpu.adapterDescription)) {
    // Below 512 columns the 64-lane-wide row blocks compute mostly clamped copies: an 8 x 8 lane
    // grid is 2-7x faster there (the UNet's attention and projections; scratch CPU-time A/B).
    // Exactly 256 columns fill rows32x4sg's 64 lanes x 4 with no clamped copies, and it beat the grid
    // at every row count and reduction measured (the Winograd convolutions' GEMMs; scratch CPU-time A/B)
    // with 32 rows or more; with 8 or fewer its blocks are mostly clamped copies of the last row, and a
    // block as tall as the rows runs faster (the face ResNet's 256-channel GEMMs at batch 1 and 2:
    // docs/measurements.md).
    const rows256 = ROWS_256.find(([most]) => p.m <= most)?.[1] ?? 'rows32x4sg';
    if (p.n === 256 && byName(rows256).supports(p, ctx.gpu)) return rows256;
    // Past 32 columns, 8 columns a lane (a workgroup 64 wide) share each shuffled piece of A over
    // twice the multiply-adds: 1.1-1.4x at 48-232 columns (the attention block's products at batch
    // 8 and 80, the face ResNet's Winograd GEMMs); at 32, half its lanes would be clamped copies.
    const grid = p.n > 32 ? 'grid8x8sg' : 'grid8x4sg';
    if (p.n < 512 && byName(grid).supports(p, ctx.gpu)) return grid;
    if (byName('rows16x8sg').supports(p, ctx.gpu)) return 'rows16x8sg';
    // rows8x16 spans 1024 columns per workgroup: faster from N = 1024.
    return p.n >= 1024 ? 'rows8x16' : 'rows8x8';
  }
  return p.batch * p.m * p.n >= 1 << 18 ? 'tiled128x128k8' : 'tiled64x64k16';
}

/** The tuning key: dtype, log2 buckets of the sizes, and which operand strides are unit. */
function shapeClass(a: View, b: View, p: MatmulProblem): string {
  const [, aSk] = matrixStrides(a);
  const [, bSn] = matrixStrides(b);
  const sizes = [p.batch, p.m, p.n, p.k].map(sizeBucket).join(',');
  return `matmul|${p.dtype}|${sizes}|a${aSk === 1 ? 'k1' : 'm1'}|b${bSn === 1 ? 'n1' : 'k1'}|v${rowsVec4Aligned(b, p.n, p.batchDims.strides[1]) ? 1 : 0}`;
}

/** Picks the variant for a problem: tuned when measured, else the default (see tuning.ts). */
const tunedVariant = (ctx: GpuContext, a: View, b: View, p: MatmulProblem): MatmulVariant =>
  byName(
    pickVariant(ctx, a, b, p, {
      shapeClass: shapeClass(a, b, p),
      supported: matmulVariants.filter((v) => v.name !== 'naive' && v.supports(p, ctx.gpu)),
      fallback: defaultVariant(ctx, p),
      outElements: p.batch * p.m * p.n,
      flops: 2 * p.batch * p.m * p.n * Math.max(p.k, 1),
    }),
  );

/**
 * The batch dims padded with leading size-1 dims to at least two. A variant's source is built for
 * its batch rank, so with the padding one compiled kernel serves unbatched, batched and
 * twice-batched products alike: lavapipe compiles a register-blocked matmul in 1-5 s on first use
 * (the matmul tests on an empty shader cache: 317 -> 137 s), and the per-lane batch index (two
 * divisions) is nothing next to its K loop.
 */
const atLeastTwoBatchDims = ({ shape, strides }: Coalesced): Coalesced => {
  const pad = Math.max(0, 2 - shape.length);
  return {
    shape: [...Array<number>(pad).fill(1), ...shape],
    strides: strides.map((s) => [...Array<number>(pad).fill(0), ...s]),
  };
};

/**
 * a [...B, M, K] @ b [...B, K, N] into `target` (fresh contiguous [...B, M, N] when omitted); K = 0
 * gives zeros; `variantName` forces a variant (tests, benches).
 */
export function matmul(ctx: GpuContext, a: View, b: View, variantName?: string, target?: WebGpuStorage): WebGpuStorage {
  const r = a.shape.length;
  const batchShape = a.shape.slice(0, r - 2);
  const [m, k] = a.shape.slice(r - 2);
  const n = b.shape[r - 1];
  const batch = sizeOf(batchShape);
  const out = target ?? ctx.alloc(a.dtype, batch * m * n);
  if (batch * m * n === 0) return out;
  const batchDims = atLeastTwoBatchDims(coalesce(batchShape, [a.strides.slice(0, r - 2), b.strides.slice(0, r - 2)]));
  checkRank('matmul', batchDims.shape.length);
  const problem: MatmulProblem = { dtype: a.dtype, batch, m, n, k, batchDims };
  const variant = variantName ? matmulVariants.find((v) => v.name === variantName) : tunedVariant(ctx, a, b, problem);
  if (!variant || !variant.supports(problem, ctx.gpu)) {
    throw new BackendError(
      `webgpu: matmul variant '${variantName}' is unknown or does not support this problem; known: ${matmulVariants.map((v) => v.name).join(', ')}.`,
    );
  }
  variant.run(ctx, a, b, out, problem);
  return out;
}
