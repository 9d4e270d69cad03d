// Shared-memory tiled matmul for real GPUs: a 16x16-thread workgroup stages BM x BK tiles of A and
// BK x BN tiles of B in workgroup memory (loads coalesced along each operand's unit stride), then
// each thread accumulates TM x TN outputs from vec4 reads of the tiles. Slow on lavapipe, where
// every barrier is expensive (DESIGN.md §6); measured per adapter by the tuner.
import { kernelSource, workgroupPerItemEntry, wgslScalar } from '../wgsl.js';
import { batchBases, bindings, matrixStrides, type MatmulVariant, sharedUniforms } from './matmul-common.js';
import { identityEpilogue, storeOut } from '../epilogue.js';

/** Threads per workgroup side. */
const SIDE = 16;
const THREADS = SIDE * SIDE;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const lines = (n: number, f: (i: number) => string): string => range(n).map(f).join('\n');

/**
 * Statements loading one operand tile into workgroup vec4 array `tile` laid out [BK][cols/4]:
 * element (kk, c) of the tile is operand element (k0 + kk, c0 + c). `kFastest` orders the threads
 * along k (for operands whose unit stride is along k), else along c.
 */
function tileLoad(o: {
  tile: string;
  src: string;
  cols: number;
  bk: number;
  kFastest: boolean;
  inBounds: string;
  index: string;
  t: string;
}): string {
  const loads = (o.cols * o.bk) / THREADS;
  const split = o.kFastest ? `let kk = e % ${o.bk}u;\n    let c = e / ${o.bk}u;` : `let c = e % ${o.cols}u;\n    let kk = e / ${o.cols}u;`;
  return `for (var l = 0u; l < ${loads}u; l++) {
    let e = lid.x + l * ${THREADS}u;
    ${split}
    var v = ${o.t}(0);
    if (${o.inBounds}) { v = ${o.src}[${o.index}]; }
    ${o.tile}[kk * ${o.cols / 4}u + c / 4u][c % 4u] = v;
  }`;
}

/** The variant with a (16*tm) x (16*tn) output tile per workgroup and a K step of bk; tm, tn multiples of 4. */
export function tiledVariant(tm: number, tn: number, bk: number): MatmulVariant {
  const bm = SIDE * tm;
  const bn = SIDE * tn;
  return {
    name: `tiled${bm}x${bn}k${bk}`,
    description: `shared-memory tiles ${bm}x${bn}, K step ${bk}, ${tm}x${tn} outputs per thread`,
    supports: () => true,
    run(ctx, a, b, out, p) {
      const t = wgslScalar(p.dtype);
      const [, aSk] = matrixStrides(a);
      const [, bSn] = matrixStrides(b);
      const tilesM = Math.ceil(p.m / bm);
      const tilesN = Math.ceil(p.n / bn);
      const count = p.batch * tilesM * tilesN;
      const { layout, uniform } = sharedUniforms(a, b, p, { tiles_m: tilesM, tiles_n: tilesN, count });
      const rank = p.batchDims.shape.length;
      const aq = tm / 4;
      const bq = tn / 4;
      const acc = (i: number, q: number) => `c${i}_${q}`;
      const body = `let tn_ = group % p.tiles_n;
let rest = group / p.tiles_n;
let tm_ = rest % p.tiles_m;
let bi = rest / p.tiles_m;
let m0 = tm_ * ${bm}u;
let n0 = tn_ * ${bn}u;
${batchBases(rank)}
let tx = lid.x % ${SIDE}u;
let ty = lid.x / ${SIDE}u;
${lines(tm * bq, (x) => `var ${acc(Math.floor(x / bq), x % bq)} = vec4<${t}>(0);`)}
for (var k0 = 0u; k0 < p.k; k0 += ${bk}u) {
  ${tileLoad({ tile: 'As', src: 'a', cols: bm, bk, kFastest: aSk === 1, t, inBounds: 'm0 + c < p.m && k0 + kk < p.k', index: 'a_base + (m0 + c) * p.a_sm + (k0 + kk) * p.a_sk' })}
  ${tileLoad({ tile: 'Bs', src: 'b', cols: bn, bk, kFastest: bSn !== 1, t, inBounds: 'n0 + c < p.n && k0 + kk < p.k', index: 'b_base + (k0 + kk) * p.b_sk + (n0 + c) * p.b_sn' })}
  workgroupBarrier();
  for (var kk = 0u; kk < ${bk}u; kk++) {
${lines(aq, (q) => `    let av${q} = As[kk * ${bm / 4}u + ty * ${aq}u + ${q}u];`)}
${lines(bq, (q) => `    let bv${q} = Bs[kk * ${bn / 4}u + tx * ${bq}u + ${q}u];`)}
${lines(tm * bq, (x) => {
  const i = Math.floor(x / bq);
  return `    ${acc(i, x % bq)} += av${Math.floor(i / 4)}[${i % 4}] * bv${x % bq};`;
})}
  }
  workgroupBarrier();
}
let out_base = bi * p.m * p.n;
let col0 = n0 + tx * ${tn}u;
${lines(tm, (i) => `if (m0 + ty * ${tm}u + ${i}u < p.m) {
  let row = out_base + (m0 + ty * ${tm}u + ${i}u) * p.n + col0;
${lines(tn, (j) => `  if (col0 + ${j}u < p.n) { ${storeOut(`row + ${j}u`, `${acc(i, Math.floor(j / 4))}[${j % 4}]`)} }`)}
}`)}`;
      const kernel = `matmul:tiled${bm}x${bn}k${bk}:${p.dtype}:${aSk === 1 ? 'a_k1' : 'a_m1'}:${bSn === 1 ? 'b_n1' : 'b_k1'}`;
      ctx.dispatch({
        kernel,
        source: kernelSource(
          `// ${kernel}: batch rank ${rank}`,
          layout.declaration(),
          bindings(t),
          identityEpilogue(t),
          `var<workgroup> As: array<vec4<${t}>, ${(bm * bk) / 4}>;\nvar<workgroup> Bs: array<vec4<${t}>, ${(bn * bk) / 4}>;`,
          workgroupPerItemEntry(THREADS, 'p.count', body),
        ),
        uniform,
        storage: [ctx.bind(out), ctx.bind(a), ctx.bind(b)],
        workgroups: count,
      });
    },
  };
}
