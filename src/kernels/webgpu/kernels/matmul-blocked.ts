// Register-blocked matmul without shared memory: a workgroup owns TM rows of the output (uniform
// across it, so A's loads are one broadcast scalar each) and 64 lanes x TN columns; each lane
// keeps TM x TN accumulators in registers. No barriers: the fast shape on lavapipe (DESIGN.md §6).
import { BackendError } from '../../../tensor/errors.js';
import { kernelSource, workgroupPerItemEntry, wgslScalar } from '../wgsl.js';
import { batchBases, bindings, type MatmulVariant, rowsVec4Aligned, sharedUniforms } from './matmul-common.js';
import { identityEpilogue, storeOut, storeOut4 } from '../epilogue.js';

/** Lanes per workgroup; lavapipe runs them as 8 AVX2 lanes at a time. */
const LANES = 64;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const lines = (n: number, f: (i: number) => string): string => range(n).map(f).join('\n');

/**
 * The variant with TM rows per workgroup and TN columns per lane. B is read as vec4 (4 adjacent
 * columns per load, TN/4 loads per k) when its rows are unit-stride and 4-aligned, else as TN
 * scalars per k strided LANES apart so neighbouring lanes read neighbouring columns.
 */
export function blockedVariant(tm: number, tn: number): MatmulVariant {
  if (tn % 4 !== 0) throw new BackendError(`webgpu internal: blocked matmul needs TN % 4 == 0, got ${tn}`);
  const cols = LANES * tn;
  return {
    name: `rows${tm}x${tn}`,
    description: `register-blocked: ${tm} broadcast rows per workgroup x ${tn} columns per lane (vec4 B when aligned), no shared memory`,
    supports: () => true,
    run(ctx, a, b, out, p) {
      const t = wgslScalar(p.dtype);
      const vecB = p.k > 0 && rowsVec4Aligned(b, p.n, p.batchDims.strides[1]);
      const blocksM = Math.ceil(p.m / tm);
      const blocksN = Math.ceil(p.n / cols);
      const count = p.batch * blocksM * blocksN;
      const { layout, uniform } = sharedUniforms(a, b, p, { blocks_m: blocksM, blocks_n: blocksN, count });
      const rank = p.batchDims.shape.length;
      const head = `let mb = group % p.blocks_m;
let rest = group / p.blocks_m;
let nb = rest % p.blocks_n;
let bi = rest / p.blocks_n;
let m0 = mb * ${tm}u;
${batchBases(rank)}
let last_m = p.m - 1u;
${lines(tm, (i) => `let ar${i} = a_base + min(m0 + ${i}u, last_m) * p.a_sm;`)}
let out_base = bi * p.m * p.n;`;
      const acc = (i: number, j: number) => `c${i}_${j}`;
      let body: string;
      if (vecB) {
        // Lane columns: quads q0, q0 + LANES, ...; loads past the edge are clamped, stores skipped.
        const quads = tn / 4;
        body = `${head}
let nq = p.n / 4u;
let q0 = nb * ${cols / 4}u + lid.x;
let b_sk4 = p.b_sk / 4u;
${lines(quads, (q) => `let bq${q} = b_base / 4u + min(q0 + ${q * LANES}u, nq - 1u);`)}
${lines(tm * quads, (x) => `var ${acc(Math.floor(x / quads), x % quads)} = vec4<${t}>(0);`)}
for (var kk = 0u; kk < p.k; kk++) {
  let ka = kk * p.a_sk;
  let kb = kk * b_sk4;
${lines(quads, (q) => `  let bv${q} = b[bq${q} + kb];`)}
${lines(tm, (i) => `  let a${i} = a[ar${i} + ka];`)}
${lines(tm * quads, (x) => `  ${acc(Math.floor(x / quads), x % quads)} += a${Math.floor(x / quads)} * bv${x % quads};`)}
}
${lines(tm, (i) => `if (m0 + ${i}u < p.m) {
  let row = (out_base + (m0 + ${i}u) * p.n) / 4u;
${lines(quads, (q) => `  if (q0 + ${q * LANES}u < nq) { ${storeOut4(`row + q0 + ${q * LANES}u`, acc(i, q))} }`)}
}`)}`;
      } else {
        body = `${head}
let n0 = nb * ${cols}u + lid.x;
let last_n = p.n - 1u;
${lines(tn, (j) => `let bc${j} = b_base + min(n0 + ${j * LANES}u, last_n) * p.b_sn;`)}
${lines(tm * tn, (x) => `var ${acc(Math.floor(x / tn), x % tn)} = ${t}(0);`)}
for (var kk = 0u; kk < p.k; kk++) {
  let ka = kk * p.a_sk;
  let kb = kk * p.b_sk;
${lines(tn, (j) => `  let b${j} = b[bc${j} + kb];`)}
${lines(tm, (i) => `  let a${i} = a[ar${i} + ka];`)}
${lines(tm * tn, (x) => `  ${acc(Math.floor(x / tn), x % tn)} += a${Math.floor(x / tn)} * b${x % tn};`)}
}
${lines(tm, (i) => `if (m0 + ${i}u < p.m) {
  let row = out_base + (m0 + ${i}u) * p.n;
${lines(tn, (j) => `  if (n0 + ${j * LANES}u < p.n) { ${storeOut(`row + n0 + ${j * LANES}u`, acc(i, j))} }`)}
}`)}`;
      }
      const kernel = `matmul:rows${tm}x${tn}:${p.dtype}${vecB ? ':vec4' : ''}`;
      ctx.dispatch({
        kernel,
        source: kernelSource(
          `// ${kernel}: batch rank ${rank}`,
          layout.declaration(),
          bindings(t, { out: vecB, b: vecB }),
          identityEpilogue(t),
          workgroupPerItemEntry(LANES, 'p.count', body),
        ),
        uniform,
        storage: [ctx.bind(out), ctx.bind(a), ctx.bind(b)],
        workgroups: count,
      });
    },
  };
}
