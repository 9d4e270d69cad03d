// Matmul for narrow outputs on 8-wide subgroups (lavapipe): the 64 lanes of a workgroup form an
// 8 x 8 grid, each subgroup one row of it. The register-blocked variants (matmul-blocked.ts) give
// a workgroup 64 x TN columns of TM rows: with N = 32 .. 96 (the UNet's attention and projections)
// most of their lanes compute clamped copies of the last column. Here a workgroup covers 8 * TM
// rows x 8 * TN columns; a subgroup's 8 lanes share their TM rows, so A is loaded cooperatively (lane
// c loads k0 + c) and handed round with subgroupShuffle, and each lane reads its TN columns of B
// as vec4 where B's rows allow it. Needs subgroups of exactly 8 lanes, laid out along the
// workgroup (lane c of subgroup r is invocation 8 r + c), which is what lavapipe does on AVX2.
import { BackendError } from '../../../tensor/errors.js';
import { cachedSource } from '../source-cache.js';
import { identityEpilogue, storeOut, storeOut4 } from '../epilogue.js';
import { indent, kernelSource, subgroupShuffleLoop, workgroupPerItemEntry, wgslScalar } from '../wgsl.js';
import {
  batchBases,
  bindings,
  blockGrid,
  kStep,
  lines,
  type MatmulVariant,
  range,
  rowsVec4Aligned,
} from './matmul-common.js';

const LANES = 64;
/** Lanes per grid row: one subgroup. */
const WIDTH = 8;

/** The variant with TM rows and TN columns (a multiple of 4) per lane. */
export function gridVariant(tm: number, tn: number): MatmulVariant {
  if (tn % 4 !== 0) throw new BackendError(`webgpu internal: grid matmul needs TN % 4 == 0, got ${tn}`);
  const rowsPer = (LANES / WIDTH) * tm;
  const colsPer = WIDTH * tn;
  const quads = tn / 4;
  const name = `grid${tm}x${tn}sg`;
  return {
    name,
    description: `8 x 8 lanes, ${tm} x ${tn} outputs per lane, A shared along each 8-lane subgroup by shuffles`,
    supports: (_p, gpu) => gpu.subgroupSize === WIDTH,
    run(ctx, a, b, out, p) {
      const t = wgslScalar(p.dtype);
      const vecB = p.k > 0 && rowsVec4Aligned(b, p.n, p.batchDims.strides[1]);
      const { count, layout, uniform } = blockGrid(a, b, p, rowsPer, colsPer);
      const rank = p.batchDims.shape.length;
      const kernel = `matmul:${name}:${p.dtype}${vecB ? ':vec4' : ''}`;
      const source = cachedSource(JSON.stringify([kernel, rank]), () => {
        const acc = (i: number, q: number) => `c${i}_${q}`;
        // Column quad q of the lane: 4 columns from n0 + 4 q, as one vec4 load or 4 clamped scalar loads.
        const bLoad = vecB
          ? (q: number, k: string) => `b[bq${q} + (${k}) * b_sk4]`
          : (q: number, k: string) =>
              `vec4<${t}>(${range(4)
                .map((e) => `b[b_base + (${k}) * p.b_sk + bc${q}_${e}]`)
                .join(', ')})`;
        const bSetup = vecB
          ? `let b_sk4 = p.b_sk / 4u;
let nq = p.n / 4u;
${lines(quads, (q) => `let bq${q} = b_base / 4u + min(n0 / 4u + ${q}u, nq - 1u);`)}`
          : lines(quads, (q) => lines(4, (e) => `let bc${q}_${e} = min(n0 + ${4 * q + e}u, p.n - 1u) * p.b_sn;`));
        /** One k step: the lane's B quads, times each of its rows' A value. */
        const step = kStep(quads, tm, bLoad, acc);
        // Quads are all-in or all-out when vec4 (N % 4 == 0); scalar stores check each column.
        const store = (i: number, q: number) => {
          const col = `n0 + ${4 * q}u`;
          return vecB
            ? `if (${col} < p.n) { ${storeOut4(`(row + ${col}) / 4u`, acc(i, q))} }`
            : lines(
                4,
                (e) => `if (${col} + ${e}u < p.n) { ${storeOut(`row + ${col} + ${e}u`, `${acc(i, q)}[${e}]`)} }`,
              );
        };
        const body = `let mb = group % p.blocks_m;
let rest = group / p.blocks_m;
let nb = rest % p.blocks_n;
let bi = rest / p.blocks_n;
let lane = lid.x % ${WIDTH}u;
let m0 = mb * ${rowsPer}u + (lid.x / ${WIDTH}u) * ${tm}u;
let n0 = nb * ${colsPer}u + lane * ${tn}u;
${batchBases(rank)}
let last_m = p.m - 1u;
${lines(tm, (i) => `let ar${i} = a_base + min(m0 + ${i}u, last_m) * p.a_sm;`)}
${bSetup}
${lines(tm * quads, (x) => `var ${acc(Math.floor(x / quads), x % quads)} = vec4<${t}>(0);`)}
var kk = 0u;
${subgroupShuffleLoop({ sg: WIDTH, counter: 'kk', limit: 'p.k', count: tm, load: (i, k) => `a[ar${i} + (${k}) * p.a_sk]`, step })}
for (; kk < p.k; kk++) {
${indent(step('kk', (i) => `a[ar${i} + kk * p.a_sk]`))}
}
let out_base = bi * p.m * p.n;
${lines(
  tm,
  (i) => `if (m0 + ${i}u < p.m) {
  let row = out_base + (m0 + ${i}u) * p.n;
${indent(lines(quads, (q) => store(i, q)))}
}`,
)}`;
        return kernelSource(
          'enable subgroups;',
          `// ${kernel}: batch rank ${rank}`,
          layout.declaration(),
          bindings(t, { out: vecB, b: vecB }),
          identityEpilogue(t),
          workgroupPerItemEntry(LANES, 'p.count', body, true),
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
