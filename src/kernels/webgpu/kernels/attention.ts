// Scaled dot-product attention in one kernel: a thread per query row runs over the keys once with
// the online softmax (a running max, the sum of exponentials and the weighted values rescaled
// whenever the max rises), so the [N, M] scores never reach memory and the four kernels of the
// composition (product, scale, softmax, product) are one dispatch. The row's query and its output
// columns stay in registers (unrolled, compile-time widths); where rows are 4-aligned every load is
// a vec4 (lavapipe issues one load per lane and element otherwise), and on devices with a fixed
// subgroup size the lanes of a subgroup share each key and value row (AttentionSource.sg).
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import type { WebGpuStorage } from '../storage.js';
import { cachedSource } from '../source-cache.js';
import { subgroupsFit } from '../device.js';
import { indent, kernelSource, threadPerItemEntry, UniformLayout, workgroupPerItemEntry } from '../wgsl.js';
import * as elementwise from './elementwise.js';
import { isContiguous, rowsAlignedTo4 } from '../layout.js';
import { contiguousStrides } from '../../../tensor/shape.js';

const WORKGROUP = 64;
/** Widest query row kept in registers; wider ones are read from storage for every key. */
const MAX_CACHED_D = 64;
/** Output columns a dispatch computes (each keeps this many accumulators). */
const CHUNK_E = 64;
/** Keys a block of the online softmax takes between rescales. */
const KEY_BLOCK = 4;

const layout = new UniformLayout({
  count: 'u32',
  planes: 'u32',
  lanes: 'u32',
  heads: 'u32',
  n: 'u32',
  m: 'u32',
  d: 'u32',
  e: 'u32',
  c0: 'u32',
  scale: 'f32',
  q_off: 'u32',
  k_off: 'u32',
  v_off: 'u32',
  qst: 'vec4',
  kst: 'vec4',
  vst: 'vec4',
});

interface AttentionSource {
  /** Elements a load: 4 (vec4) or 1. */
  readonly w: 1 | 4;
  /** The query width when it is kept in registers, else 0 (read per key). */
  readonly d: number;
  /** Output columns of this dispatch. */
  readonly e: number;
  /**
   * The subgroup size when the lanes of a subgroup share the key and value rows (vec4, cached
   * queries): lane s loads pieces s, s + sg, ... of each and subgroupBroadcast hands them round,
   * where each lane loading whole rows costs a load per lane and piece on lavapipe. 0: each lane loads.
   */
  readonly sg: number;
}

function attentionSource({ w, d, e, sg }: AttentionSource): string {
  const t = w === 4 ? 'vec4<f32>' : 'f32';
  const dot = (a: string, b: string) => (w === 4 ? `dot(${a}, ${b})` : `${a} * ${b}`);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const dw = d / w;
  const ew = e / w;
  // Lane-owned pieces of a shared row (sg > 0): piece c lives in lane c % sg's load number c / sg.
  // `tag` names one key of a block (its loads, score and weight).
  const owned = (name: string, row: string, width: number, tag: string) =>
    sg > 0
      ? range(Math.ceil(width / sg))
          .map((t) => `let ${name}${tag}own${t} = ${name}[${row} + min(sid + ${t * sg}u, ${width - 1}u)];`)
          .join('\n')
      : `let ${name}${tag}r = ${row};`;
  const piece = (name: string, c: number, tag: string) =>
    sg > 0 ? `subgroupBroadcast(${name}${tag}own${Math.floor(c / sg)}, ${c % sg}u)` : `${name}[${name}${tag}r + ${c}u]`;
  // A key row's score: against the query in registers, or (wide queries) read along with the key.
  const scoreOf = (row: string, tag: string) =>
    d > 0
      ? `${owned('k', row, dw, tag)}
let s${tag} = (${range(dw)
          .map((c) => dot(`q${c}`, piece('k', c, tag)))
          .join(' + ')}) * p.scale;`
      : `let s${tag} = dotRow(qb, ${row}) * p.scale;`;
  const tags = range(KEY_BLOCK).map((x) => `_${x}`);
  // KEY_BLOCK keys at a time share one rescale of the running sums (one exp for the block, not one
  // a key); the keys past the last whole block go one at a time.
  const block = `for (; j + ${KEY_BLOCK}u <= p.m; j += ${KEY_BLOCK}u) {
${tags.map((tag, x) => indent(scoreOf(`kb + (j + ${x}u) * ks`, tag))).join('\n')}
  let top = max(mx, ${tags.slice(1).reduce((acc, tag) => `max(${acc}, s${tag})`, `s${tags[0]}`)});
  let rescale = exp(mx - top);
${tags.map((tag) => `  let w${tag} = exp(s${tag} - top);`).join('\n')}
  total = total * rescale + ${tags.map((tag) => `w${tag}`).join(' + ')};
${tags.map((tag, x) => indent(owned('v', `vb + (j + ${x}u) * vs`, ew, tag))).join('\n')}
${range(ew)
  .map((c) => `  a${c} = a${c} * rescale + ${tags.map((tag) => `w${tag} * ${piece('v', c, tag)}`).join(' + ')};`)
  .join('\n')}
  mx = top;
}`;
  return kernelSource(
    sg > 0 ? 'enable subgroups;' : '',
    `// attention:${w === 4 ? 'vec4' : 'scalar'}${sg > 0 ? `:sg${sg}` : ''}:d${d || 'any'}:e${e}: a thread per query row, online softmax`,
    layout.declaration(),
    [
      `@group(0) @binding(1) var<storage, read_write> out: array<${t}>;`,
      `@group(0) @binding(2) var<storage, read> q: array<${t}>;`,
      `@group(0) @binding(3) var<storage, read> k: array<${t}>;`,
      `@group(0) @binding(4) var<storage, read> v: array<${t}>;`,
    ].join('\n'),
    d > 0
      ? ''
      : `fn dotRow(qb: u32, kb: u32) -> f32 {
  var s = 0.0;
  for (var c = 0u; c < p.d / ${w}u; c++) { s += ${w === 4 ? 'dot(q[qb + c], k[kb + c])' : 'q[qb + c] * k[kb + c]'}; }
  return s;
}`,
    (sg > 0 ? workgroupPerItemEntry : threadPerItemEntry)(
      WORKGROUP,
      'p.count',
      `${
        sg > 0
          ? // Each plane's lanes padded to whole subgroups (p.lanes), so a subgroup never spans two
            // planes; lanes past the plane's rows compute a clamped copy and store nothing.
            `let idx0 = group * ${WORKGROUP}u + lid.x;
let plane = idx0 / p.lanes;
let live = idx0 % p.lanes < p.n && plane < p.planes;
let idx = min(plane, p.planes - 1u) * p.n + min(idx0 % p.lanes, p.n - 1u);`
          : ''
      }
let i = idx % p.n;
let bh = idx / p.n;
let b = bh / p.heads;
let h = bh % p.heads;
let qb = (p.q_off + b * p.qst[0] + h * p.qst[1] + i * p.qst[2]) / ${w}u;
let kb = (p.k_off + b * p.kst[0] + h * p.kst[1]) / ${w}u;
let vb = (p.v_off + b * p.vst[0] + h * p.vst[1] + p.c0) / ${w}u;
let ks = p.kst[2] / ${w}u;
let vs = p.vst[2] / ${w}u;
${range(dw)
  .map((c) => `let q${c} = q[qb + ${c}u];`)
  .join('\n')}
// The first key starts the running max, sum and values.
var mx = 0.0;
{
${indent(scoreOf('kb', ''))}
  mx = s;
}
var total = 1.0;
${owned('v', 'vb', ew, '')}
${range(ew)
  .map((c) => `var a${c} = ${piece('v', c, '')};`)
  .join('\n')}
var j = 1u;
${block}
for (; j < p.m; j++) {
${indent(scoreOf('kb + j * ks', ''))}
  let top = max(mx, s);
  let rescale = exp(mx - top);
  let weight = exp(s - top);
  total = total * rescale + weight;
${indent(owned('v', 'vb + j * vs', ew, ''))}
${range(ew)
  .map((c) => `  a${c} = a${c} * rescale + weight * ${piece('v', c, '')};`)
  .join('\n')}
  mx = top;
}
let inv = 1.0 / total;
let ob = (idx * p.e + p.c0) / ${w}u;
${sg > 0 ? 'if (live) {' : '{'}
${range(ew)
  .map((c) => `  out[ob + ${c}u] = a${c} * inv;`)
  .join('\n')}
}`,
      sg > 0,
    ),
  );
}

/**
 * The view as [B, H, rows, width] with unit-stride rows: lower ranks get leading 1s, higher ranks
 * fold their leading dims into B (q, k and v share one rank, so all three read alike). Rows with a
 * stride, and higher ranks that do not fold, are copied contiguous first.
 */
function asRank4(ctx: GpuContext, x: View): { readonly view: View; readonly temp?: WebGpuStorage } {
  const r = x.shape.length;
  const [rows, width] = x.shape.slice(-2);
  const unitRows = x.strides[r - 1] === 1 || width <= 1;
  const contiguous = isContiguous(x.shape, x.strides);
  const temp = !unitRows || (r > 4 && !contiguous) ? elementwise.copy(ctx, x) : undefined;
  const base: View = temp
    ? { storage: temp, dtype: x.dtype, shape: x.shape, strides: contiguousStrides(x.shape), offset: 0 }
    : x;
  // A width-1 row's stride is never used: 1 keeps the alignment test simple.
  const strides = [...base.strides.slice(0, -1), 1];
  if (r <= 4) {
    const pad = 4 - r;
    const view = {
      ...base,
      shape: [...Array<number>(pad).fill(1), ...x.shape],
      strides: [...Array<number>(pad).fill(0), ...strides],
    };
    return { view, temp };
  }
  const lead = x.shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const view = { ...base, shape: [lead, 1, rows, width], strides: [rows * width, 0, width, 1] };
  return { view, temp };
}

/**
 * softmax(q k^T * scale) v of float32 views (leading dims equal, at least one key) into `out`
 * (contiguous [..., N, e]).
 */
export function attention(ctx: GpuContext, qIn: View, kIn: View, vIn: View, scale: number, out: WebGpuStorage): void {
  const parts = [qIn, kIn, vIn].map((x) => asRank4(ctx, x));
  const [q, k, v] = parts.map((x) => x.view);
  const [b, heads, n, d] = q.shape;
  const [m, e] = [k.shape[2], v.shape[3]];
  const rows = b * heads * n;
  const aligned = (x: View, width: number) => width % 4 === 0 && rowsAlignedTo4(x);
  for (let c0 = 0; rows > 0 && c0 < e; c0 += CHUNK_E) {
    const chunk = Math.min(CHUNK_E, e - c0);
    const w = aligned(q, d) && aligned(k, d) && aligned(v, e) && chunk % 4 === 0 ? 4 : 1;
    const cached = d <= MAX_CACHED_D ? d : 0;
    const subgroup = ctx.gpu.subgroupSize;
    const sg = w === 4 && cached > 0 && subgroup !== undefined && subgroupsFit(ctx.gpu, WORKGROUP) ? subgroup : 0;
    const spec: AttentionSource = { w, d: cached, e: chunk, sg };
    const planes = b * heads;
    const lanes = sg > 0 ? Math.ceil(n / sg) * sg : n;
    const workgroups = Math.ceil((planes * lanes) / WORKGROUP);
    ctx.dispatch({
      kernel: `attention:${w === 4 ? 'vec4' : 'scalar'}${sg > 0 ? `:sg${sg}` : ''}`,
      source: cachedSource(JSON.stringify(['attention', spec]), () => attentionSource(spec)),
      uniform: layout.pack({
        count: sg > 0 ? workgroups : rows,
        planes,
        lanes,
        heads,
        n,
        m,
        d,
        e,
        c0,
        scale,
        q_off: q.offset,
        k_off: k.offset,
        v_off: v.offset,
        qst: q.strides,
        kst: k.strides,
        vst: v.strides,
      }),
      storage: [ctx.bind(out), ctx.bind(q), ctx.bind(k), ctx.bind(v)],
      workgroups,
    });
  }
  for (const part of parts) if (part.temp) ctx.release(part.temp);
}
