// The shared-memory tiled GEMM in WGSL, for real GPUs: a 16x16-thread workgroup stages BM x BK
// tiles of A and BK x BN tiles of B in workgroup memory (loads ordered along each operand's unit
// stride, so they coalesce), then each thread accumulates TM x TN outputs from vec4 reads of the
// tiles. The pipelined flavour prefetches the next tiles into registers during the arithmetic.
// matmul (matmul-tiled.ts) and the convolutions (conv-tiled.ts, A = weights, B = the im2col
// matrix generated on the fly) differ only in how an operand element is read and where an output
// goes, which they pass in as WGSL expressions.

import { storeOut } from '../epilogue.js';

/** Threads per workgroup side, and per workgroup. */
export const TILE_SIDE = 16;
export const TILE_THREADS = TILE_SIDE * TILE_SIDE;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const lines = (n: number, f: (i: number) => string): string => range(n).map(f).join('\n');

/**
 * How to read one operand into its tile. In `value` and `inBounds`, `c` is the row (A) or column
 * (B) within the tile and `kk` the k within the step (`k0` is the step's first k; `m0`/`n0` the
 * tile's first row/column).
 */
export interface TileOperand {
  /** The element, read only where `inBounds` holds ('true' when `value` checks bounds itself). */
  readonly value: string;
  readonly inBounds: string;
  /** Orders the threads along k (for operands whose unit stride is along k), else along c. */
  readonly kFastest: boolean;
}

export interface TiledGemmSpec {
  /** Outputs per thread along M and N (multiples of 4), and the K step. */
  readonly tm: number;
  readonly tn: number;
  readonly bk: number;
  /** Register prefetch of the next tiles, and bank-conflict-free vec4 ownership (see tiledGemm). */
  readonly pipelined: boolean;
  /** WGSL scalar type. */
  readonly t: string;
  readonly a: TileOperand;
  readonly b: TileOperand;
  /** The reduction length, a WGSL u32 expression. */
  readonly k: string;
}

/** Where outputs go: per-column values computed once, then one index per (row, column). */
export interface TiledStore {
  readonly rowValid: (row: string) => string;
  readonly colValid: (col: string) => string;
  /** A per-column WGSL u32 expression (e.g. the column's base offset), computed once per column. */
  readonly colBase: (col: string) => string;
  /** The output index of (row, column), given the column's `colBase` variable. */
  readonly index: (row: string, colBase: string) => string;
}

/** One operand's tile in workgroup memory, laid out [BK][cols/4] as vec4s. */
interface Tile {
  readonly name: string;
  readonly cols: number;
  readonly bk: number;
  readonly op: TileOperand;
  readonly t: string;
}

/** Declares `kk` and `c`, the tile coordinates of this thread's element `l` (a WGSL expression). */
const tileCoords = (tile: Tile, l: string): string => {
  const e = `lid.x + ${l} * ${TILE_THREADS}u`;
  return tile.op.kFastest
    ? `let kk = (${e}) % ${tile.bk}u;\n    let c = (${e}) / ${tile.bk}u;`
    : `let c = (${e}) % ${tile.cols}u;\n    let kk = (${e}) / ${tile.cols}u;`;
};

const tileSlot = (tile: Tile): string => `${tile.name}[kk * ${tile.cols / 4}u + c / 4u][c % 4u]`;
const loadsPerThread = (tile: Tile): number => (tile.cols * tile.bk) / TILE_THREADS;
const guarded = (tile: Tile, target: string): string =>
  tile.op.inBounds === 'true'
    ? `${target} = ${tile.op.value};`
    : `${target} = ${tile.t}(0);\n    if (${tile.op.inBounds}) { ${target} = ${tile.op.value}; }`;

/** Statements loading one tile from global memory straight into workgroup memory. */
const tileLoad = (tile: Tile): string => `for (var l = 0u; l < ${loadsPerThread(tile)}u; l++) {
    ${tileCoords(tile, 'l')}
    var v: ${tile.t};
    ${guarded(tile, 'v')}
    ${tileSlot(tile)} = v;
  }`;

/**
 * The pipelined load's two halves: `fetch` reads this thread's elements of the tile at `k0` into
 * registers `reg` (before the current tile's arithmetic, so global latency hides behind it),
 * `stash` writes them to workgroup memory after the barrier.
 */
function tileFetch(tile: Tile, reg: string): { declare: string; fetch: string; stash: string } {
  const n = loadsPerThread(tile);
  return {
    declare: `var ${reg}: array<${tile.t}, ${n}>;`,
    fetch: lines(n, (l) => `  {\n    ${tileCoords(tile, `${l}u`)}\n    ${guarded(tile, `${reg}[${l}]`)}\n  }`),
    stash: lines(n, (l) => `  {\n    ${tileCoords(tile, `${l}u`)}\n    ${tileSlot(tile)} = ${reg}[${l}];\n  }`),
  };
}

/**
 * The tiled GEMM's pieces, for a (16*tm) x (16*tn) output tile per workgroup: `workgroupMemory`
 * (module scope), `product` (declares the accumulators and runs the k loop; needs `m0`, `n0` and
 * `lid` in scope) and `store` (writes the accumulators). Pipelined, each thread owns vec4 groups
 * 64 apart rather than adjacent ones, so the 16 threads of a row read consecutive vec4s of a tile.
 */
export function tiledGemm(s: TiledGemmSpec): {
  workgroupMemory: string;
  product: string;
  store: (o: TiledStore) => string;
} {
  const bm = TILE_SIDE * s.tm;
  const bn = TILE_SIDE * s.tn;
  const aq = s.tm / 4;
  const bq = s.tn / 4;
  const acc = (i: number, q: number) => `c${i}_${q}`;
  // Which vec4 of a tile row thread (tx or ty) reads as its q-th: adjacent, or TILE_SIDE apart.
  const slot = (thread: string, q: number, per: number) =>
    s.pipelined ? `${q * TILE_SIDE}u + ${thread}` : `${thread} * ${per}u + ${q}u`;
  // The first tile row/column of this thread's q-th vec4 group, relative to m0 / n0.
  const offset = (thread: string, q: number, per: number) =>
    s.pipelined ? `${q * TILE_SIDE * 4}u + ${thread} * 4u` : `${thread} * ${per * 4}u + ${q * 4}u`;
  const aTile: Tile = { name: 'As', cols: bm, bk: s.bk, op: s.a, t: s.t };
  const bTile: Tile = { name: 'Bs', cols: bn, bk: s.bk, op: s.b, t: s.t };
  const multiply = `for (var kk = 0u; kk < ${s.bk}u; kk++) {
${lines(aq, (q) => `    let av${q} = As[kk * ${bm / 4}u + ${slot('ty', q, aq)}];`)}
${lines(bq, (q) => `    let bv${q} = Bs[kk * ${bn / 4}u + ${slot('tx', q, bq)}];`)}
${lines(s.tm * bq, (x) => {
  const i = Math.floor(x / bq);
  return `    ${acc(i, x % bq)} += av${Math.floor(i / 4)}[${i % 4}] * bv${x % bq};`;
})}
  }`;
  const aPipe = tileFetch(aTile, 'ra');
  const bPipe = tileFetch(bTile, 'rb');
  const kLoop = s.pipelined
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
for (; k0 < ${s.k}; ) {
  k0 += ${s.bk}u;
${aPipe.fetch}
${bPipe.fetch}
  ${multiply}
  workgroupBarrier();
${aPipe.stash}
${bPipe.stash}
  workgroupBarrier();
}`
    : `for (var k0 = 0u; k0 < ${s.k}; k0 += ${s.bk}u) {
  ${tileLoad(aTile)}
  ${tileLoad(bTile)}
  workgroupBarrier();
  ${multiply}
  workgroupBarrier();
}`;
  const product = `let tx = lid.x % ${TILE_SIDE}u;
let ty = lid.x / ${TILE_SIDE}u;
${lines(s.tm * bq, (x) => `var ${acc(Math.floor(x / bq), x % bq)} = vec4<${s.t}>(0);`)}
${kLoop}`;
  const store = (o: TiledStore): string => {
    const col = (q: number, j: number) => `col${q}_${j}`;
    const columns = range(bq).flatMap((q) =>
      range(4).map(
        (j) => `let ${col(q, j)} = n0 + ${offset('tx', q, bq)} + ${j}u;
let ok${q}_${j} = ${o.colValid(col(q, j))};
let cb${q}_${j} = ${o.colBase(col(q, j))};`,
      ),
    );
    const rows = lines(s.tm, (i) => {
      const row = `m0 + ${offset('ty', Math.floor(i / 4), aq)} + ${i % 4}u`;
      return `if (${o.rowValid(`(${row})`)}) {
  let row = ${row};
${lines(s.tn, (x) => {
  const [q, j] = [Math.floor(x / 4), x % 4];
  return `  if (ok${q}_${j}) { ${storeOut(o.index('row', `cb${q}_${j}`), `${acc(i, q)}[${j}]`)} }`;
})}
}`;
    });
    return `${columns.join('\n')}\n${rows}`;
  };
  return {
    workgroupMemory: `var<workgroup> As: array<vec4<${s.t}>, ${(bm * s.bk) / 4}>;\nvar<workgroup> Bs: array<vec4<${s.t}>, ${(bn * s.bk) / 4}>;`,
    product,
    store,
  };
}
