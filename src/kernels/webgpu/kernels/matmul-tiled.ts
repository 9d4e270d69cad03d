// Shared-memory tiled matmul for real GPUs: a 16x16-thread workgroup stages BM x BK tiles of A and
// BK x BN tiles of B in workgroup memory (loads coalesced along each operand's unit stride), then
// each thread accumulates TM x TN outputs from vec4 reads of the tiles; the pipelined flavour
// prefetches the next tiles into registers during the arithmetic. Slow on lavapipe, where every
// barrier is expensive (DESIGN.md §6); measured per adapter by the tuner.
import { kernelSource, workgroupPerItemEntry, wgslScalar } from '../wgsl.js';
import { batchBases, bindings, matrixStrides, type MatmulVariant, sharedUniforms } from './matmul-common.js';
import { identityEpilogue, storeOut } from '../epilogue.js';

/** Threads per workgroup side. */
const SIDE = 16;
const THREADS = SIDE * SIDE;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const lines = (n: number, f: (i: number) => string): string => range(n).map(f).join('\n');

interface TileLoad {
  /** Workgroup vec4 array laid out [BK][cols/4]: element (kk, c) is operand element (k0 + kk, c0 + c). */
  readonly tile: string;
  readonly src: string;
  readonly cols: number;
  readonly bk: number;
  /** Orders the threads along k (for operands whose unit stride is along k), else along c. */
  readonly kFastest: boolean;
  readonly inBounds: string;
  readonly index: string;
  readonly t: string;
}

/** Elements each thread moves per tile. */
const loadsPerThread = (o: TileLoad): number => (o.cols * o.bk) / THREADS;

/** Declares `kk` and `c`, the tile coordinates of this thread's element `l` (a WGSL expression). */
const tileCoords = (o: TileLoad, l: string): string => {
  const e = `lid.x + ${l} * ${THREADS}u`;
  return o.kFastest ? `let kk = (${e}) % ${o.bk}u;\n    let c = (${e}) / ${o.bk}u;` : `let c = (${e}) % ${o.cols}u;\n    let kk = (${e}) / ${o.cols}u;`;
};

const tileSlot = (o: TileLoad): string => `${o.tile}[kk * ${o.cols / 4}u + c / 4u][c % 4u]`;

/** Statements loading one operand tile from global memory straight into workgroup memory. */
function tileLoad(o: TileLoad): string {
  return `for (var l = 0u; l < ${loadsPerThread(o)}u; l++) {
    ${tileCoords(o, 'l')}
    var v = ${o.t}(0);
    if (${o.inBounds}) { v = ${o.src}[${o.index}]; }
    ${tileSlot(o)} = v;
  }`;
}

/**
 * The pipelined variant's two halves: `fetch` reads this thread's elements of the tile at `k0`
 * into registers `reg` (issued before the current tile's arithmetic, so global latency hides
 * behind it), `stash` writes them to workgroup memory after the barrier.
 */
function tileFetch(o: TileLoad, reg: string): { declare: string; fetch: string; stash: string } {
  const n = loadsPerThread(o);
  return {
    declare: `var ${reg}: array<${o.t}, ${n}>;`,
    fetch: lines(n, (l) => `  {\n    ${tileCoords(o, `${l}u`)}\n    ${reg}[${l}] = ${o.t}(0);\n    if (${o.inBounds}) { ${reg}[${l}] = ${o.src}[${o.index}]; }\n  }`),
    stash: lines(n, (l) => `  {\n    ${tileCoords(o, `${l}u`)}\n    ${tileSlot(o)} = ${reg}[${l}];\n  }`),
  };
}

/**
 * The variant with a (16*tm) x (16*tn) output tile per workgroup and a K step of bk; tm, tn
 * multiples of 4. `pipelined`: the next tiles' global loads go to registers before this tile's
 * arithmetic (software pipelining, for GPUs where a few workgroups per core cannot hide memory
 * latency), and each thread owns vec4 column groups 64 apart rather than adjacent ones, so the 16
 * threads of a row read consecutive vec4s of the B tile (no bank conflicts).
 */
export function tiledVariant(tm: number, tn: number, bk: number, pipelined = false): MatmulVariant {
  const bm = SIDE * tm;
  const bn = SIDE * tn;
  const name = `tiled${bm}x${bn}k${bk}${pipelined ? 'p' : ''}`;
  return {
    name,
    description: `shared-memory tiles ${bm}x${bn}, K step ${bk}, ${tm}x${tn} outputs per thread${pipelined ? ', register-prefetched and bank-conflict free' : ''}`,
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
      // Which vec4 of a tile row thread (tx or ty) reads as its q-th: adjacent, or SIDE apart.
      const slot = (thread: string, q: number, per: number) => (pipelined ? `${q * SIDE}u + ${thread}` : `${thread} * ${per}u + ${q}u`);
      // The first tile row/column of this thread's (i/4)-th vec4 group, relative to m0 / n0.
      const offset = (thread: string, q: number, per: number) => (pipelined ? `${q * SIDE * 4}u + ${thread} * 4u` : `${thread} * ${per * 4}u + ${q * 4}u`);
      const aLoad: TileLoad = { tile: 'As', src: 'a', cols: bm, bk, kFastest: aSk === 1, t, inBounds: 'm0 + c < p.m && k0 + kk < p.k', index: 'a_base + (m0 + c) * p.a_sm + (k0 + kk) * p.a_sk' };
      const bLoad: TileLoad = { tile: 'Bs', src: 'b', cols: bn, bk, kFastest: bSn !== 1, t, inBounds: 'n0 + c < p.n && k0 + kk < p.k', index: 'b_base + (k0 + kk) * p.b_sk + (n0 + c) * p.b_sn' };
      const product = `for (var kk = 0u; kk < ${bk}u; kk++) {
${lines(aq, (q) => `    let av${q} = As[kk * ${bm / 4}u + ${slot('ty', q, aq)}];`)}
${lines(bq, (q) => `    let bv${q} = Bs[kk * ${bn / 4}u + ${slot('tx', q, bq)}];`)}
${lines(tm * bq, (x) => {
  const i = Math.floor(x / bq);
  return `    ${acc(i, x % bq)} += av${Math.floor(i / 4)}[${i % 4}] * bv${x % bq};`;
})}
  }`;
      const aPipe = tileFetch(aLoad, 'ra');
      const bPipe = tileFetch(bLoad, 'rb');
      const kLoop = pipelined
        ? `${aPipe.declare}
${bPipe.declare}
var k0 = 0u;
${aPipe.fetch}
${bPipe.fetch}
${aPipe.stash}
${bPipe.stash}
workgroupBarrier();
// Each pass multiplies the staged tile while the next one (k0 after the step; zeros past K)
// travels into registers.
for (; k0 < p.k; ) {
  k0 += ${bk}u;
${aPipe.fetch}
${bPipe.fetch}
  ${product}
  workgroupBarrier();
${aPipe.stash}
${bPipe.stash}
  workgroupBarrier();
}`
        : `for (var k0 = 0u; k0 < p.k; k0 += ${bk}u) {
  ${tileLoad(aLoad)}
  ${tileLoad(bLoad)}
  workgroupBarrier();
  ${product}
  workgroupBarrier();
}`;
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
${kLoop}
let out_base = bi * p.m * p.n;
${lines(tm, (i) => `if (m0 + ${offset('ty', Math.floor(i / 4), aq)} + ${i % 4}u < p.m) {
  let row = out_base + (m0 + ${offset('ty', Math.floor(i / 4), aq)} + ${i % 4}u) * p.n;
${lines(bq, (q) => `  let col${q} = n0 + ${offset('tx', q, bq)};
${lines(4, (j) => `  if (col${q} + ${j}u < p.n) { ${storeOut(`row + col${q} + ${j}u`, `${acc(i, q)}[${j}]`)} }`)}`)}
}`)}`;
      const kernel = `matmul:${name}:${p.dtype}:${aSk === 1 ? 'a_k1' : 'a_m1'}:${bSn === 1 ? 'b_n1' : 'b_k1'}`;
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
