// Register-blocked matmul without shared memory: a workgroup owns TM rows of the output (uniform
// across it) and 64 lanes x TN columns; each lane keeps TM x TN accumulators in registers. No
// barriers: the fast shape on lavapipe (docs/architecture.md, "WebGPU: the device and its
// lifetime").
//
// How A reaches the lanes matters most there. lavapipe runs 8 lanes as one AVX2 vector and loads a
// storage element lane by lane (a bounds-checked scalar load each) unless the address is a
// compile-time constant, so an A element that every lane needs costs 8 loads. The subgroup form
// loads A cooperatively: lane s of each subgroup loads the element for k0 + s, and subgroupShuffle
// hands it to the others (a register permute). The shuffle loop over s stays a loop: unrolled, the
// kernel spills on lavapipe (docs/measurements.md).
import { BackendError } from '../../../tensor/errors.js';
import { subgroupsFit } from '../device.js';
import { indent, kernelSource, subgroupShuffleLoop, workgroupPerItemEntry, wgslScalar } from '../wgsl.js';
import { batchBases, bindings, blockGrid, kStep, lines, type MatmulVariant, rowsVec4Aligned } from './matmul-common.js';
import { cachedSource } from '../source-cache.js';
import { identityEpilogue, storeOut, storeOut4 } from '../epilogue.js';

/** Lanes per workgroup; lavapipe runs them as 8 AVX2 lanes at a time. */
const LANES = 64;

/**
 * The variant with TM rows per workgroup and TN columns per lane. B is read as vec4 (4 adjacent
 * columns per load, TN/4 loads per k) when its rows are unit-stride and 4-aligned, else as TN
 * scalars per k strided LANES apart so neighbouring lanes read neighbouring columns. With
 * `subgroupA`, A is loaded a subgroup's width of k at a time and broadcast (see the file comment);
 * the variant then needs a device with a fixed subgroup size.
 */
export function blockedVariant(tm: number, tn: number, subgroupA = false): MatmulVariant {
  if (tn % 4 !== 0) throw new BackendError(`webgpu internal: blocked matmul needs TN % 4 == 0, got ${tn}`);
  const cols = LANES * tn;
  const name = `rows${tm}x${tn}${subgroupA ? 'sg' : ''}`;
  return {
    name,
    description:
      `register-blocked: ${tm} broadcast rows per workgroup x ${tn} columns per lane (vec4 B when aligned), ` +
      `no shared memory${subgroupA ? ', A loaded per subgroup and broadcast' : ''}`,
    supports: (_p, gpu) => !subgroupA || subgroupsFit(gpu, LANES),
    run(ctx, a, b, out, p) {
      const t = wgslScalar(p.dtype);
      const vecB = p.k > 0 && rowsVec4Aligned(b, p.n, p.batchDims.strides[1]);
      // Callers check supports() first, so a subgroup variant has a fitting subgroup size here.
      const sg = subgroupA ? ctx.gpu.subgroupSize : undefined;
      const { count, layout, uniform } = blockGrid(a, b, p, tm, cols);
      const rank = p.batchDims.shape.length;
      const kernel = `matmul:${name}:${p.dtype}${vecB ? ':vec4' : ''}${sg ? `:sg${sg}` : ''}`;
      const source = cachedSource(JSON.stringify([kernel, rank]), () => {
        const acc = (i: number, j: number) => `c${i}_${j}`;
        // Per lane: `loads` B values per k (vec4 quads or scalars), column j of B block at `bAt(j)`.
        const loads = vecB ? tn / 4 : tn;
        const bAt = vecB
          ? (j: number, k: string) => `b[bq${j} + ${k} * b_sk4]`
          : (j: number, k: string) => `b[bc${j} + ${k} * p.b_sk]`;
        /** One k step: load the lane's B values, multiply by each row's A value. */
        const step = kStep(loads, tm, bAt, acc);
        const setup = vecB
          ? `let nq = p.n / 4u;
let q0 = nb * ${cols / 4}u + lid.x;
let b_sk4 = p.b_sk / 4u;
${lines(loads, (q) => `let bq${q} = b_base / 4u + min(q0 + ${q * LANES}u, nq - 1u);`)}
${lines(tm * loads, (x) => `var ${acc(Math.floor(x / loads), x % loads)} = vec4<${t}>(0);`)}`
          : `let n0 = nb * ${cols}u + lid.x;
let last_n = p.n - 1u;
${lines(loads, (j) => `let bc${j} = b_base + min(n0 + ${j * LANES}u, last_n) * p.b_sn;`)}
${lines(tm * loads, (x) => `var ${acc(Math.floor(x / loads), x % loads)} = ${t}(0);`)}`;
        // Whole subgroup-widths of k take the broadcast path; the rest (and every k without it) the per-lane one.
        const broadcastLoop = sg
          ? subgroupShuffleLoop({
              sg,
              counter: 'kk',
              limit: 'p.k',
              count: tm,
              load: (i, k) => `a[ar${i} + (${k}) * p.a_sk]`,
              step,
            })
          : '';
        const stores = vecB
          ? lines(
              tm,
              (i) => `if (m0 + ${i}u < p.m) {
  let row = (out_base + (m0 + ${i}u) * p.n) / 4u;
${lines(loads, (q) => `  if (q0 + ${q * LANES}u < nq) { ${storeOut4(`row + q0 + ${q * LANES}u`, acc(i, q))} }`)}
}`,
            )
          : lines(
              tm,
              (i) => `if (m0 + ${i}u < p.m) {
  let row = out_base + (m0 + ${i}u) * p.n;
${lines(loads, (j) => `  if (n0 + ${j * LANES}u < p.n) { ${storeOut(`row + n0 + ${j * LANES}u`, acc(i, j))} }`)}
}`,
            );
        const body = `let mb = group % p.blocks_m;
let rest = group / p.blocks_m;
let nb = rest % p.blocks_n;
let bi = rest / p.blocks_n;
let m0 = mb * ${tm}u;
${batchBases(rank)}
let last_m = p.m - 1u;
${lines(tm, (i) => `let ar${i} = a_base + min(m0 + ${i}u, last_m) * p.a_sm;`)}
let out_base = bi * p.m * p.n;
${setup}
var kk = 0u;
${broadcastLoop}
for (; kk < p.k; kk++) {
${indent(step('kk', (i) => `a[ar${i} + kk * p.a_sk]`))}
}
${stores}`;
        return kernelSource(
          sg ? 'enable subgroups;' : '',
          `// ${kernel}: batch rank ${rank}`,
          layout.declaration(),
          bindings(t, { out: vecB, b: vecB }),
          identityEpilogue(t),
          workgroupPerItemEntry(LANES, 'p.count', body, sg !== undefined),
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
