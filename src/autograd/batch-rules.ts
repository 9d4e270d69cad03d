// One batching rule per primitive, as a table typed over the primitive set (beside the VJP and
// JVP tables). vmap records f's primitives on one example, then replays each with these rules on
// the whole batch: a rule gets the op's inputs with the batch as axis 0 (or unbatched, the same
// for every example) and returns the batched output, batch at axis 0. Every primitive has a
// rule that runs the batch as one op (no rule loops over examples).
import { bind, type Primitive, type PrimitiveParams } from '../tensor/primitives.js';
import type { Tensor } from '../tensor/tensor.js';
import { arange } from '../tensor/ops/creation.js';
import { add, mul } from '../tensor/ops/elementwise.js';
import { broadcastTo, reshape, transpose } from '../tensor/ops/movement.js';
import { normalizeIndices } from './rules.js';

export interface BatchContext<P extends Primitive> {
  /** The op's inputs: batched ones with the batch as axis 0, the others as one example saw them. */
  readonly inputs: readonly Tensor[];
  /** Which inputs carry the batch axis (at least one does). */
  readonly batched: readonly boolean[];
  /** The op's parameters for one example. */
  readonly params: PrimitiveParams[P];
  /** The batch size. */
  readonly size: number;
}

/** The batched output of primitive P (batch at axis 0). */
export type BatchRule<P extends Primitive> = (ctx: BatchContext<P>) => Tensor;

/** An unbatched input repeated along a new batch axis 0 (a stride-0 view, no copy). */
const lift = (x: Tensor, batched: boolean, size: number): Tensor => (batched ? x : broadcastTo(x, [size, ...x.shape]));

/** Every input with the batch at axis 0. */
const liftAll = <P extends Primitive>({ inputs, batched, size }: BatchContext<P>): Tensor[] =>
  inputs.map((x, i) => lift(x, batched[i], size));

/**
 * Primitives that treat a leading axis as one more batch of elements (elementwise ops, softmax
 * over the last axis, matmul's batch dims) run on the batch as is.
 */
const asIs =
  <P extends Primitive>(prim: P): BatchRule<P> =>
  (ctx) =>
    bind(prim, liftAll(ctx), ctx.params);

/**
 * A fused group normalisation (or one of its gradients) over a batch: the batch joins the channels.
 * x [B, R, C, S] -> [R, B*C, S], w and b [B, C] -> [B*C], groups * B: each example's channels form
 * its own groups and meet only its own weights. The normalisation and its input gradient come back
 * as [R, B*C, S] -> [B, R, C, S], the parameter gradients as [2, B*C] -> [B, 2, C].
 */
function groupNormBatch<P extends 'groupNormAct' | 'groupNormActBackward' | 'groupNormActParamGrads'>(
  prim: P,
  ctx: BatchContext<P>,
): Tensor {
  const [x, w, b, g] = liftAll(ctx);
  const [size, r, c, s] = x.shape;
  const channelsOf = (t: Tensor) => reshape(transpose(t, [1, 0, 2, 3]), [r, size * c, s]);
  const inputs = [channelsOf(x), reshape(w, [size * c]), reshape(b, [size * c]), ...(g ? [channelsOf(g)] : [])];
  const y = bind(prim, inputs, { ...ctx.params, groups: ctx.params.groups * size });
  return prim === 'groupNormActParamGrads'
    ? transpose(reshape(y, [2, size, c]), [1, 0, 2])
    : transpose(reshape(y, [r, size, c, s]), [1, 0, 2, 3]);
}

/** Axis parameters move past the batch axis. */
const shift = (axes: readonly number[]): number[] => axes.map((a) => a + 1);

/** Folds the batch into the image batch: [B, N, ...] -> [B * N, ...]. */
const foldBatch = (x: Tensor): Tensor => reshape(x, [x.shape[0] * x.shape[1], ...x.shape.slice(2)]);

/**
 * Per-example weights: the batch becomes groups. x [B, N, C, H, W] -> [N, B*C, H, W] and
 * w [B, R, ...] -> [B*R, ...]; with groups B*g each example's channels meet only its own weights,
 * and the output [N, B*O, Ho, Wo] unfolds to [B, N, O, Ho, Wo].
 */
function batchedWeights<P extends 'conv2d' | 'convTranspose2d'>(prim: P, ctx: BatchContext<P>): Tensor {
  const [x, w] = liftAll(ctx);
  const [b, n, c, h, wd] = x.shape;
  const xs = reshape(transpose(x, [1, 0, 2, 3, 4]), [n, b * c, h, wd]);
  const ws = reshape(w, [b * w.shape[1], ...w.shape.slice(2)]);
  const y = bind(prim, [xs, ws], { ...ctx.params, groups: ctx.params.groups * b } as PrimitiveParams[P]);
  return transpose(reshape(y, [n, b, y.shape[1] / b, y.shape[2], y.shape[3]]), [1, 0, 2, 3, 4]);
}

/** A convolution: one call on the folded batch when the weights are shared, grouped otherwise. */
const convolution =
  <P extends 'conv2d' | 'convTranspose2d'>(prim: P): BatchRule<P> =>
  (ctx) => {
    if (ctx.batched[1]) return batchedWeights(prim, ctx);
    const [x, w] = ctx.inputs;
    const y = bind(prim, [foldBatch(x), w], ctx.params);
    return reshape(y, [ctx.size, x.shape[1], ...y.shape.slice(1)]);
  };

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

/**
 * take with per-example indices. x [B, pre.., n, post..] and idx [B, I..]: the example's axis is
 * folded into the batch ([B*n, pre.., post..]) and each example's indices offset by b*n, so one
 * take along axis 0 gathers [B, I.., pre.., post..]; then pre.. moves back before I...
 */
function takeBatchedIndices({ inputs: [x0, idx], batched, size, params: { axis } }: BatchContext<'take'>): Tensor {
  const x = lift(x0, batched[0], size);
  const n = x.shape[axis + 1];
  const pre = axis;
  const post = x.rank - 2 - axis;
  const rows = reshape(transpose(x, [0, axis + 1, ...range(1, pre), ...range(axis + 2, post)]), [
    size * n,
    ...x.shape.slice(1, axis + 1),
    ...x.shape.slice(axis + 2),
  ]);
  const offsets = reshape(mul(arange(size, undefined, 1, { dtype: 'int32', backend: x.backend }), n), [
    size,
    ...idx.shape.slice(1).map(() => 1),
  ]);
  const out = bind('take', [rows, add(normalizeIndices(idx, n), offsets)], { axis: 0 });
  const ri = idx.rank - 1;
  return transpose(out, [0, ...range(1 + ri, pre), ...range(1, ri), ...range(1 + ri + pre, post)]);
}

export const batchRules: { [P in Primitive]: BatchRule<P> } = {
  // --- elementwise: unbatched operands broadcast along the batch ---------------------------------
  neg: asIs('neg'),
  abs: asIs('abs'),
  sign: asIs('sign'),
  square: asIs('square'),
  relu: asIs('relu'),
  exp: asIs('exp'),
  log: asIs('log'),
  sqrt: asIs('sqrt'),
  rsqrt: asIs('rsqrt'),
  reciprocal: asIs('reciprocal'),
  sin: asIs('sin'),
  cos: asIs('cos'),
  tanh: asIs('tanh'),
  sigmoid: asIs('sigmoid'),
  silu: asIs('silu'),
  gelu: asIs('gelu'),
  erf: asIs('erf'),
  floor: asIs('floor'),
  ceil: asIs('ceil'),
  round: asIs('round'),
  logicalNot: asIs('logicalNot'),
  add: asIs('add'),
  sub: asIs('sub'),
  mul: asIs('mul'),
  div: asIs('div'),
  pow: asIs('pow'),
  maximum: asIs('maximum'),
  minimum: asIs('minimum'),
  equal: asIs('equal'),
  notEqual: asIs('notEqual'),
  less: asIs('less'),
  lessEqual: asIs('lessEqual'),
  greater: asIs('greater'),
  greaterEqual: asIs('greaterEqual'),
  logicalAnd: asIs('logicalAnd'),
  logicalOr: asIs('logicalOr'),
  where: asIs('where'),
  stopGradient: asIs('stopGradient'),
  cast: asIs('cast'),

  // --- reductions and softmax: the axes move past the batch ---------------------------------------
  reduceSum: ({ inputs: [x], params: { axes } }) => bind('reduceSum', [x], { axes: shift(axes) }),
  reduceProd: ({ inputs: [x], params: { axes } }) => bind('reduceProd', [x], { axes: shift(axes) }),
  reduceMax: ({ inputs: [x], params: { axes } }) => bind('reduceMax', [x], { axes: shift(axes) }),
  reduceMin: ({ inputs: [x], params: { axes } }) => bind('reduceMin', [x], { axes: shift(axes) }),
  argmax: ({ inputs: [x], params: { axis } }) => bind('argmax', [x], { axis: axis + 1 }),
  argmin: ({ inputs: [x], params: { axis } }) => bind('argmin', [x], { axis: axis + 1 }),
  softmax: asIs('softmax'),
  standardize: asIs('standardize'),
  standardizeBackward: asIs('standardizeBackward'),
  groupNormAct: (ctx) => groupNormBatch('groupNormAct', ctx),
  groupNormActBackward: (ctx) => groupNormBatch('groupNormActBackward', ctx),
  groupNormActParamGrads: (ctx) => groupNormBatch('groupNormActParamGrads', ctx),
  // Leading dims are batch dims of attention: the vmapped axis is one more.
  attention: asIs('attention'),

  // --- movement: the batch axis stays in front -----------------------------------------------------
  reshape: ({ inputs: [x], params: { shape }, size }) => bind('reshape', [x], { shape: [size, ...shape] }),
  permute: ({ inputs: [x], params: { perm } }) => bind('permute', [x], { perm: [0, ...shift(perm)] }),
  // New leading dims go after the batch axis: [B, ...x] -> [B, 1.., ...x] -> [B, ...shape].
  broadcastTo: ({ inputs: [x], params: { shape }, size }) => {
    const ones = shape.length - (x.rank - 1);
    const padded =
      ones === 0 ? x : bind('reshape', [x], { shape: [size, ...new Array<number>(ones).fill(1), ...x.shape.slice(1)] });
    return bind('broadcastTo', [padded], { shape: [size, ...shape] });
  },
  // The vmapped axis folds into the images: [B, N, ...] -> [B * N, ...] and back.
  upsampleNearest2d: (ctx) => {
    const [x] = liftAll(ctx);
    const y = bind('upsampleNearest2d', [foldBatch(x)], ctx.params);
    return reshape(y, [ctx.size, x.shape[1], ...y.shape.slice(1)]);
  },
  slice: ({ inputs: [x], params: { starts, ends, steps }, size }) =>
    bind('slice', [x], { starts: [0, ...starts], ends: [size, ...ends], steps: [1, ...steps] }),
  pad: ({ inputs: [x], params: { widths, value } }) => bind('pad', [x], { widths: [[0, 0], ...widths], value }),
  concat: (ctx) => bind('concat', liftAll(ctx), { axis: ctx.params.axis + 1 }),
  take: (ctx) => {
    const [x, idx] = ctx.inputs;
    const { axis } = ctx.params;
    if (!ctx.batched[1]) return bind('take', [x, idx], { axis: axis + 1 });
    if (ctx.batched[0]) return takeBatchedIndices(ctx);
    // Shared x, per-example indices: the batch is one more index dim ([pre.., B, I.., post..]), moved to the front.
    const out = bind('take', [x, idx], { axis });
    return axis === 0 ? out : transpose(out, [axis, ...range(0, axis), ...range(axis + 1, out.rank - axis - 1)]);
  },

  // --- matmul and convolutions ---------------------------------------------------------------------
  // The batch is one more batch dim of matmul (an unbatched operand is a stride-0 view).
  matmul: asIs('matmul'),
  conv2d: convolution('conv2d'),
  convTranspose2d: convolution('convTranspose2d'),
};
