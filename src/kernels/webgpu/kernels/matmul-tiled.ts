// Shared-memory tiled matmul for real GPUs (the tiled GEMM of tiled-gemm.ts over a and b, read in
// place through their strides). Slow on lavapipe, where every barrier is expensive
// (docs/architecture.md, "Kernel variants and tuning"); measured per adapter by the tuner.
import { kernelSource, workgroupPerItemEntry, wgslScalar } from '../wgsl.js';
import { batchBases, bindings, matrixStrides, type MatmulVariant, sharedUniforms } from './matmul-common.js';
import { cachedSource } from '../source-cache.js';
import { identityEpilogue } from '../epilogue.js';
import { TILE_SIDE, TILE_THREADS, tiledGemm } from './tiled-gemm.js';

/**
 * The variant with a (16*tm) x (16*tn) output tile per workgroup and a K step of bk; tm, tn
 * multiples of 4. `pipelined`: register prefetch of the next tiles and bank-conflict-free reads
 * (see tiledGemm), for GPUs where a few workgroups per core cannot hide memory latency.
 */
export function tiledVariant(tm: number, tn: number, bk: number, pipelined = false): MatmulVariant {
  const bm = TILE_SIDE * tm;
  const bn = TILE_SIDE * tn;
  const name = `tiled${bm}x${bn}k${bk}${pipelined ? 'p' : ''}`;
  return {
    name,
    description:
      `shared-memory tiles ${bm}x${bn}, K step ${bk}, ` +
      `${tm}x${tn} outputs per thread${pipelined ? ', register-prefetched and bank-conflict free' : ''}`,
    supports: () => true,
    gpuOnly: true,
    run(ctx, a, b, out, p) {
      const t = wgslScalar(p.dtype);
      const [, aSk] = matrixStrides(a);
      const [, bSn] = matrixStrides(b);
      const tilesM = Math.ceil(p.m / bm);
      const tilesN = Math.ceil(p.n / bn);
      const count = p.batch * tilesM * tilesN;
      const { layout, uniform } = sharedUniforms(a, b, p, { tiles_m: tilesM, tiles_n: tilesN, count });
      const rank = p.batchDims.shape.length;
      const kernel = `matmul:${name}:${p.dtype}:${aSk === 1 ? 'a_k1' : 'a_m1'}:${bSn === 1 ? 'b_n1' : 'b_k1'}`;
      const source = cachedSource(JSON.stringify([kernel, rank]), () => {
        const gemm = tiledGemm({
          tm,
          tn,
          bk,
          pipelined,
          t,
          k: 'p.k',
          a: {
            kFastest: aSk === 1,
            inBounds: 'm0 + c < p.m && k0 + kk < p.k',
            value: 'a[a_base + (m0 + c) * p.a_sm + (k0 + kk) * p.a_sk]',
          },
          b: {
            kFastest: bSn !== 1,
            inBounds: 'n0 + c < p.n && k0 + kk < p.k',
            value: 'b[b_base + (k0 + kk) * p.b_sk + (n0 + c) * p.b_sn]',
          },
        });
        const body = `let tn_ = group % p.tiles_n;
let rest = group / p.tiles_n;
let tm_ = rest % p.tiles_m;
let bi = rest / p.tiles_m;
let m0 = tm_ * ${bm}u;
let n0 = tn_ * ${bn}u;
${batchBases(rank)}
${gemm.product}
let out_base = bi * p.m * p.n;
${gemm.store({ rowValid: (row) => `${row} < p.m`, colValid: (col) => `${col} < p.n`, colBase: (col) => col, index: (row, col) => `out_base + ${row} * p.n + ${col}` })}`;
        return kernelSource(
          `// ${kernel}: batch rank ${rank}`,
          layout.declaration(),
          bindings(t),
          identityEpilogue(t),
          gemm.workgroupMemory,
          workgroupPerItemEntry(TILE_THREADS, 'p.count', body),
        );
      });
      ctx.dispatch({
        kernel,
        source,
        uniform,
        storage: [ctx.bind(out), ctx.bind(a), ctx.bind(b)],
        workgroups: count,
      });
    },
  };
}
