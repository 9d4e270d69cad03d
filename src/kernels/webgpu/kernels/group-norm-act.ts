// Group normalisation with its affine and activation as one kernel, and its gradients as two
// (GroupNormActParams; the CPU reference is kernels/cpu/group-norm-act.ts). A workgroup takes one
// (row, group): the group's C / groups channels of S values each, contiguous. Each kernel first
// takes the group's statistics in one pass as standardize does (standardize.ts's rowStatistics,
// the same lanes), then walks the group channel by channel, so a channel's weight and bias load
// once and no element index is divided by S (a division by a uniform runs lane by lane on
// lavapipe). In a training step the composed form stored the standardized values and ran the
// affine and activation, their derivatives, two reductions, the product with the weight and
// standardize's backward as separate passes. Here the input gradient reads x three times and g
// twice and stores the weight and bias gradients' per-lane partial sums on the way (handed to the
// parameter gradients' reduction, see groupNormActBackward); alone, the parameter gradients read
// x twice and g once.
import type { View } from '../../backend.js';
import type { GroupNormActParams } from '../../params.js';
import { NORM_ACTIVATIONS } from '../../norm-activations.js';
import type { GpuContext } from '../context.js';
import { cachedSource } from '../source-cache.js';
import type { WebGpuStorage } from '../storage.js';
import { kernelSource, UniformLayout, workgroupPerItemEntry } from '../wgsl.js';
import { identityEpilogue, storeOut, storeOut4 } from '../epilogue.js';
import { sizeOf } from '../../../tensor/shape.js';
import { denseView } from './dense-rows.js';
import * as elementwise from './elementwise.js';
import { reduce } from './reduce.js';
import { lanesOf, rowStatistics, treeSum } from './standardize.js';

const layout = new UniformLayout({
  count: 'u32',
  n: 'u32',
  s: 'u32',
  cpg: 'u32',
  groups: 'u32',
  x_off: 'u32',
  g_off: 'u32',
  w_off: 'u32',
  b_off: 'u32',
  rows: 'u32',
  eps: 'f32',
});

type Kind = 'forward' | 'inputGrad' | 'paramGrads';

interface Spec {
  readonly kind: Kind;
  readonly lanes: number;
  readonly vec4: boolean;
  readonly act: GroupNormActParams['act'];
}

/** The WGSL of one kernel. */
function source({ kind, lanes, vec4, act }: Spec): string {
  const t = vec4 ? 'vec4<f32>' : 'f32';
  const q = vec4 ? ' / 4u' : '';
  const total = (v: string) => (vec4 ? `dot(${v}, vec4<f32>(1.0))` : v);
  const rule = NORM_ACTIVATIONS[act];
  const slope = (a: string, g: string) => (rule.wgslDerivative ? `${g} * ${rule.wgslDerivative(a)}` : g);
  // Where the weight and bias gradients' per-lane partial sums go: `out` for 'paramGrads', a
  // second output beside the input gradient for 'inputGrad'.
  const partials = kind === 'paramGrads' ? 'out' : 'pg';
  const bindings = [
    `@group(0) @binding(1) var<storage, read_write> out: array<${kind === 'paramGrads' ? 'f32' : t}>;`,
    `@group(0) @binding(2) var<storage, read> x: array<${t}>;`,
    `@group(0) @binding(3) var<storage, read> w: array<f32>;`,
    `@group(0) @binding(4) var<storage, read> b: array<f32>;`,
    ...(kind === 'forward' ? [] : [`@group(0) @binding(5) var<storage, read> g: array<${t}>;`]),
    ...(kind === 'inputGrad' ? ['@group(0) @binding(6) var<storage, read_write> pg: array<f32>;'] : []),
  ];
  // Walks the group's channels: `body` sees the channel c, its weight wc and bias bc, and for each
  // item j (offset in the group) y, the standardized value, a = y wc + bc and (with a cotangent)
  // ga = g act'(a); `after` runs at each channel's end.
  const channels = (body: string, after = '') => `for (var k = 0u; k < p.cpg; k++) {
  let c = c0 + k;
  let wc = w[p.w_off + c];
  let bc = b[p.b_off + c];
  for (var i = lid.x; i < S; i += ${lanes}u) {
    let j = k * S + i;
    let y = ((x[xb + j] - shift) - mean) * rstd;
    let a = y * wc + bc;
${kind === 'forward' ? '' : `    let gj = g[gb + j];\n    let ga = ${slope('a', 'gj')};\n`}${body}
  }
${after}
}`;
  // Per channel, each lane's sums of ga y and ga over its share of this row's values, stored as
  // partials[(0 or 1, c), row, lane] ([2, C, R * lanes]: one reduction over the last axis adds
  // them; a tree per channel cost more than the sums themselves on lavapipe).
  const paramSums = `    pacc += vec2<f32>(${total('ga * y')}, ${total('ga')});`;
  const storeParamSums = `  let slot = (group / p.groups) * ${lanes}u + lid.x;
  ${partials}[c * p.rows * ${lanes}u + slot] = pacc.x;
  ${partials}[(p.cpg * p.groups + c) * p.rows * ${lanes}u + slot] = pacc.y;
  pacc = vec2<f32>(0.0);`;
  const head = `let N = p.n${q};
let S = p.s${q};
let xb = p.x_off${q} + group * N;
let gb = p.g_off${q} + group * N;
let at = group * N;
let c0 = (group % p.groups) * p.cpg;
${rowStatistics('xb', 'N', lanes, vec4)}
workgroupBarrier(); // every lane has read partial[0] before another tree writes it
var pacc = vec2<f32>(0.0);`;
  const bodies: Record<Kind, string> = {
    // The one store site goes through an epilogue: an op on the result (a SiLU written after the
    // normalisation) runs in it.
    forward: channels(`    ${(vec4 ? storeOut4 : storeOut)('at + j', rule.wgslValue('a'))}`),
    // The sums of v = ga w and v y over the group (and the parameter sums on the way), then
    // r (v - mean(v) - y mean(v y)).
    inputGrad: `acc = vec2<f32>(0.0);
${channels(`    let v = ga * wc;\n    acc += vec2<f32>(${total('v')}, ${total('v * y')});\n${paramSums}`, storeParamSums)}
${treeSum(lanes)}
let mv = partial[0] / f32(p.n);
${channels(`    let v = ga * wc;\n    out[at + j] = rstd * ((v - mv.x) - y * mv.y);`)}`,
    paramGrads: channels(paramSums, storeParamSums),
  };
  return kernelSource(
    `// groupNormAct:${kind}:${act}:${lanes}${vec4 ? ':vec4' : ''}: a workgroup of ${lanes} lanes takes one (row, group) of x [R, C, S]`,
    layout.declaration(),
    bindings.join('\n'),
    kind === 'forward' ? identityEpilogue('f32') : '',
    `var<workgroup> partial: array<vec2<f32>, ${lanes}>;`,
    workgroupPerItemEntry(lanes, 'p.count', `${head}\n${bodies[kind]}`),
  );
}

/**
 * Dispatches one kernel over every (row, group) of x [R, C, S] (w, b [C]; g like x, for the
 * gradients) into `outs`: x's shape for the normalisation and the input gradient, [2, C, R * lanes]
 * parameter partial sums for 'paramGrads' and as the input gradient's second output.
 */
function dispatchKernel(
  ctx: GpuContext,
  kind: Kind,
  views: readonly View[],
  { groups, eps, act }: GroupNormActParams,
  outs: readonly WebGpuStorage[],
): void {
  const temps: WebGpuStorage[] = [];
  const [x, w, b, g] = views.map((v) => denseView(ctx, v, temps));
  const [rows, c, s] = x.shape;
  const vec4 = s % 4 === 0 && x.offset % 4 === 0 && (!g || g.offset % 4 === 0);
  const spec: Spec = { kind, lanes: lanesOf(ctx), vec4, act };
  const kernel = `groupNormAct:${kind}:${act}:${spec.lanes}${vec4 ? ':vec4' : ''}`;
  ctx.dispatch({
    kernel,
    source: cachedSource(kernel, () => source(spec)),
    uniform: layout.pack({
      count: rows * groups,
      n: (c / groups) * s,
      s,
      cpg: c / groups,
      groups,
      x_off: x.offset,
      g_off: g?.offset ?? 0,
      w_off: w.offset,
      b_off: b.offset,
      rows,
      eps,
    }),
    storage: [
      ctx.bind(outs[0]),
      ctx.bind(x),
      ctx.bind(w),
      ctx.bind(b),
      ...(g ? [ctx.bind(g)] : []),
      ...outs.slice(1).map((o) => ctx.bind(o)),
    ],
    workgroups: rows * groups,
  });
  for (const t of temps) ctx.release(t);
}

const isEmpty = (x: View): boolean => sizeOf(x.shape) === 0;

/** The per-lane partial sums of the weight and bias gradients, [2, C, R * lanes]. */
const allocPartials = (ctx: GpuContext, x: View): WebGpuStorage =>
  ctx.alloc('float32', 2 * x.shape[1] * x.shape[0] * lanesOf(ctx));

/** [2, C]: the partial sums added over rows and lanes; the partials are released. */
function sumPartials(ctx: GpuContext, x: View, partials: WebGpuStorage): WebGpuStorage {
  const slots = x.shape[0] * lanesOf(ctx);
  const view: View = {
    storage: partials,
    dtype: 'float32',
    shape: [2 * x.shape[1], slots],
    strides: [slots, 1],
    offset: 0,
  };
  const sums = reduce(ctx, 'sum', view, [1]);
  ctx.release(partials);
  return sums;
}

/** act(standardized x * w + b) per (row, group) of x [R, C, S] into `out` (contiguous, x's shape). */
export function groupNormActInto(
  ctx: GpuContext,
  x: View,
  w: View,
  b: View,
  p: GroupNormActParams,
  out: WebGpuStorage,
): void {
  if (!isEmpty(x)) dispatchKernel(ctx, 'forward', [x, w, b], p, [out]);
}

/**
 * groupNormAct's input gradient for the cotangent g; contiguous, x's shape. Its kernel computes
 * every term of the weight and bias gradients on the way, so it also leaves their partial sums
 * for a groupNormActParamGrads of the same inputs dispatched next (the VJP asks for both, one
 * after the other): see ctx.handOff.
 */
export function groupNormActBackward(
  ctx: GpuContext,
  x: View,
  w: View,
  b: View,
  g: View,
  p: GroupNormActParams,
): WebGpuStorage {
  const out = ctx.alloc('float32', sizeOf(x.shape));
  if (isEmpty(x)) return out;
  const partials = allocPartials(ctx, x);
  dispatchKernel(ctx, 'inputGrad', [x, w, b, g], p, [out, partials]);
  ctx.handOff(handOffKey([x, w, b, g], p), partials);
  return out;
}

/** groupNormAct's weight and bias gradients, [2, C]: the input gradient's partial sums when it left them, else its own kernel's. */
export function groupNormActParamGrads(
  ctx: GpuContext,
  x: View,
  w: View,
  b: View,
  g: View,
  p: GroupNormActParams,
): WebGpuStorage {
  if (isEmpty(x)) return elementwise.fill(ctx, [2, x.shape[1]], 0, 'float32');
  let partials = ctx.takeHandOff(handOffKey([x, w, b, g], p));
  if (!partials) {
    partials = allocPartials(ctx, x);
    dispatchKernel(ctx, 'paramGrads', [x, w, b, g], p, [partials]);
  }
  return sumPartials(ctx, x, partials);
}

/** What identifies the inputs of a hand-off: each view's storage and layout, and the params. */
function handOffKey(views: readonly View[], p: GroupNormActParams): readonly unknown[] {
  return [p.groups, p.eps, p.act, ...views.flatMap((v) => [v.storage, v.offset, ...v.shape, ...v.strides])];
}
