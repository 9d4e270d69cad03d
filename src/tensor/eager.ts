// Eager implementations of the primitives: shape bookkeeping for views, and backend calls for
// everything that computes. Inputs arrive validated by the public ops (src/tensor/ops).
import type { Backend, Storage } from '../kernels/backend.js';
import { binaryOps, unaryOps, type BinaryOp, type ReduceOp, type UnaryOp } from '../kernels/elementwise-ops.js';
import { conv2dOutHW, convTranspose2dOutHW } from '../kernels/params.js';
import { activeProfile, currentScope } from '../profile/recorder.js';
import { backendFor } from './backends.js';
import type { DType } from './dtype.js';
import { BackendError, fmtShape, ShapeError } from './errors.js';
import type { Primitive, PrimitiveImpl, PrimitiveParams } from './primitives.js';
import { contiguousStrides, reshapeStrides, sizeOf, type Shape } from './shape.js';
import { checkAlloc } from './alloc-limits.js';
import { Tensor } from './tensor.js';

/** The one backend all inputs live on, or an error telling how to move them. */
export function backendOf(op: string, inputs: readonly Tensor[]): Backend {
  const name = inputs[0].storage(op).backend;
  for (const t of inputs) {
    const other = t.storage(op).backend;
    if (other !== name) {
      throw new BackendError(
        `${op}: operands live on different backends (${inputs.map((x) => x.backend).join(', ')}). ` +
          `Move them first, e.g. \`await toBackend(x, '${name}')\`.`,
      );
    }
  }
  return backendFor(name);
}

export { checkAlloc } from './alloc-limits.js';

/** Runs a computing primitive: checks the output fits, calls the backend, wraps the storage. */
function compute(
  op: string,
  inputs: readonly Tensor[],
  shape: Shape,
  dtype: DType,
  run: (b: Backend) => Storage,
): Tensor {
  const backend = backendOf(op, inputs);
  checkAlloc(op, backend, shape, dtype);
  return new Tensor(
    activeProfile() && backend.profileTiming === 'host' ? timedOnHost(op, backend, run) : run(backend),
    shape,
  );
}

/** A synchronous backend's op, timed for a running profile() (the WebGPU kernels report themselves). */
function timedOnHost(op: string, backend: Backend, run: (b: Backend) => Storage): Storage {
  const start = performance.now();
  const storage = run(backend);
  const ms = performance.now() - start;
  activeProfile()!.add({ kernel: op, scope: currentScope(), backend: 'cpu', hostMs: ms, compiles: 0, deviceMs: ms });
  return storage;
}

/** A new handle on the same storage with different view metadata. */
const viewOf = (x: Tensor, op: string, shape: Shape, strides: readonly number[], offset: number): Tensor =>
  new Tensor(x.storage(op), shape, strides, offset);

const unaryImpl =
  (op: UnaryOp): PrimitiveImpl<UnaryOp> =>
  ([x]) =>
    compute(op, [x], x.shape, unaryOps[op].result === 'bool' ? 'bool' : x.dtype, (b) => b.unary(op, x.view(op)));

const binaryImpl =
  (op: BinaryOp): PrimitiveImpl<BinaryOp> =>
  ([a, b]) =>
    compute(op, [a, b], a.shape, binaryOps[op].result === 'bool' ? 'bool' : a.dtype, (be) =>
      be.binary(op, a.view(op), b.view(op)),
    );

type ReducePrimitive = 'reduceSum' | 'reduceProd' | 'reduceMax' | 'reduceMin';
const reduceImpl =
  <P extends ReducePrimitive>(op: ReduceOp, name: P): PrimitiveImpl<P> =>
  ([x], { axes }) =>
    compute(
      name,
      [x],
      x.shape.filter((_, i) => !axes.includes(i)),
      x.dtype,
      (b) => b.reduce(op, x.view(name), axes),
    );

const argImpl =
  <P extends 'argmax' | 'argmin'>(op: P): PrimitiveImpl<P> =>
  ([x], { axis }) =>
    compute(
      op,
      [x],
      x.shape.filter((_, i) => i !== axis),
      'int32',
      (b) => b.argReduce(op, x.view(op), axis),
    );

function reshapeImpl([x]: readonly Tensor[], { shape }: PrimitiveParams['reshape']): Tensor {
  if (x.isContiguous) return viewOf(x, 'reshape', shape, contiguousStrides(shape), x.offset);
  // Transposed, sliced and broadcast views often reshape in place too (merging or splitting dims
  // whose strides line up, or adding and dropping size-1 dims); only the rest is copied.
  const strides = reshapeStrides(x.shape, x.strides, shape);
  if (strides) return viewOf(x, 'reshape', shape, strides, x.offset);
  return compute('reshape', [x], shape, x.dtype, (b) => b.copy(x.view('reshape')));
}

function broadcastImpl([x]: readonly Tensor[], { shape }: PrimitiveParams['broadcastTo']): Tensor {
  const lead = shape.length - x.rank;
  const strides = shape.map((d, i) => {
    if (i < lead) return 0;
    const src = x.shape[i - lead];
    if (src === d) return x.strides[i - lead];
    if (src === 1) return 0;
    throw new ShapeError(`broadcastTo: cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}.`);
  });
  return viewOf(x, 'broadcastTo', shape, strides, x.offset);
}

function sliceImpl([x]: readonly Tensor[], { starts, ends, steps }: PrimitiveParams['slice']): Tensor {
  const shape = starts.map((s, i) => Math.max(0, Math.ceil((ends[i] - s) / steps[i])));
  const strides = x.strides.map((st, i) => st * steps[i]);
  const offset = x.offset + starts.reduce((acc, s, i) => acc + s * x.strides[i], 0);
  return viewOf(x, 'slice', shape, strides, sizeOf(shape) === 0 ? x.offset : offset);
}

/**
 * Whether the inputs already lie in one storage exactly as their concatenation would (e.g. the
 * slices of one tensor, back in order): each input is the window of a contiguous output of
 * `shape` starting at xs[0]'s offset. Then concat is a view, as reshape is.
 */
function concatenatedInPlace(xs: readonly Tensor[], axis: number, shape: Shape): boolean {
  if (sizeOf(shape) === 0) return false;
  const storage = xs[0].storage('concat');
  const strides = contiguousStrides(shape);
  let at = 0;
  for (const x of xs) {
    const fits =
      x.size === 0 ||
      (x.storage('concat') === storage &&
        x.offset === xs[0].offset + at * strides[axis] &&
        x.shape.every((d, k) => d <= 1 || x.strides[k] === strides[k]));
    if (!fits) return false;
    at += x.shape[axis];
  }
  return true;
}

function concatImpl(xs: readonly Tensor[], { axis }: PrimitiveParams['concat']): Tensor {
  const shape = xs[0].shape.map((d, i) => (i === axis ? xs.reduce((n, x) => n + x.shape[axis], 0) : d));
  if (concatenatedInPlace(xs, axis, shape))
    return viewOf(xs[0], 'concat', shape, contiguousStrides(shape), xs[0].offset);
  return compute('concat', xs, shape, xs[0].dtype, (b) =>
    b.concat(
      xs.map((x) => x.view('concat')),
      axis,
    ),
  );
}

/** The eager implementation of every primitive: what bind (primitives.ts) runs. */
export const eagerImpls: { readonly [P in Primitive]: PrimitiveImpl<P> } = {
  ...(Object.fromEntries(Object.keys(unaryOps).map((op) => [op, unaryImpl(op as UnaryOp)])) as {
    [P in UnaryOp]: PrimitiveImpl<P>;
  }),
  ...(Object.fromEntries(Object.keys(binaryOps).map((op) => [op, binaryImpl(op as BinaryOp)])) as {
    [P in BinaryOp]: PrimitiveImpl<P>;
  }),
  where: ([c, a, b]) =>
    compute('where', [c, a, b], a.shape, a.dtype, (be) => be.where(c.view('where'), a.view('where'), b.view('where'))),
  stopGradient: ([x]) => viewOf(x, 'stopGradient', x.shape, x.strides, x.offset),
  cast: ([x], { dtype }) => compute('cast', [x], x.shape, dtype, (b) => b.cast(x.view('cast'), dtype)),
  reduceSum: reduceImpl('sum', 'reduceSum'),
  reduceProd: reduceImpl('prod', 'reduceProd'),
  reduceMax: reduceImpl('max', 'reduceMax'),
  reduceMin: reduceImpl('min', 'reduceMin'),
  argmax: argImpl('argmax'),
  argmin: argImpl('argmin'),
  reshape: reshapeImpl,
  permute: ([x], { perm }) =>
    viewOf(
      x,
      'permute',
      perm.map((p) => x.shape[p]),
      perm.map((p) => x.strides[p]),
      x.offset,
    ),
  broadcastTo: broadcastImpl,
  slice: sliceImpl,
  upsampleNearest2d: ([x], { scale }) => {
    const [n, c, h, w] = x.shape;
    return compute('upsampleNearest2d', [x], [n, c, h * scale[0], w * scale[1]], x.dtype, (b) =>
      b.upsampleNearest2d(x.view('upsampleNearest2d'), scale),
    );
  },
  softmax: ([x]) => compute('softmax', [x], x.shape, x.dtype, (b) => b.softmax(x.view('softmax'))),
  standardize: ([x], { eps }) =>
    compute('standardize', [x], x.shape, x.dtype, (b) => b.standardize(x.view('standardize'), eps)),
  standardizeBackward: ([x, y, v], { eps }) =>
    compute('standardizeBackward', [x, y, v], x.shape, x.dtype, (b) =>
      b.standardizeBackward(
        x.view('standardizeBackward'),
        y.view('standardizeBackward'),
        v.view('standardizeBackward'),
        eps,
      ),
    ),
  groupNormAct: ([x, w, b], p) =>
    compute('groupNormAct', [x, w, b], x.shape, x.dtype, (be) =>
      be.groupNormAct(x.view('groupNormAct'), w.view('groupNormAct'), b.view('groupNormAct'), p),
    ),
  groupNormActBackward: ([x, w, b, g], p) =>
    compute('groupNormActBackward', [x, w, b, g], x.shape, x.dtype, (be) =>
      be.groupNormActBackward(
        x.view('groupNormActBackward'),
        w.view('groupNormActBackward'),
        b.view('groupNormActBackward'),
        g.view('groupNormActBackward'),
        p,
      ),
    ),
  groupNormActParamGrads: ([x, w, b, g], p) =>
    compute('groupNormActParamGrads', [x, w, b, g], [2, x.shape[1]], x.dtype, (be) =>
      be.groupNormActParamGrads(
        x.view('groupNormActParamGrads'),
        w.view('groupNormActParamGrads'),
        b.view('groupNormActParamGrads'),
        g.view('groupNormActParamGrads'),
        p,
      ),
    ),
  attention: ([q, k, v], { scale }) =>
    compute('attention', [q, k, v], [...q.shape.slice(0, -1), v.shape[v.rank - 1]], q.dtype, (b) =>
      b.attention(q.view('attention'), k.view('attention'), v.view('attention'), scale),
    ),
  pad: ([x], { widths, value }) =>
    compute(
      'pad',
      [x],
      x.shape.map((d, i) => d + widths[i][0] + widths[i][1]),
      x.dtype,
      (b) => b.pad(x.view('pad'), widths, value),
    ),
  concat: concatImpl,
  take: ([x, idx], { axis }) =>
    compute('take', [x, idx], [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)], x.dtype, (b) =>
      b.take(x.view('take'), idx.view('take'), axis),
    ),
  matmul: ([a, b]) =>
    compute('matmul', [a, b], [...a.shape.slice(0, -1), b.shape[b.rank - 1]], a.dtype, (be) =>
      be.matmul(a.view('matmul'), b.view('matmul')),
    ),
  conv2d: ([x, w], p) => {
    const [n, , h, wd] = x.shape;
    const [o, , kh, kw] = w.shape;
    const shape = [n, o, ...conv2dOutHW([h, wd], [kh, kw], p)];
    return compute('conv2d', [x, w], shape, x.dtype, (b) => b.conv2d(x.view('conv2d'), w.view('conv2d'), p));
  },
  convTranspose2d: ([x, w], p) => {
    const [n, , h, wd] = x.shape;
    const [, coutPerGroup, kh, kw] = w.shape;
    const shape = [n, coutPerGroup * p.groups, ...convTranspose2dOutHW([h, wd], [kh, kw], p)];
    return compute('convTranspose2d', [x, w], shape, x.dtype, (b) =>
      b.convTranspose2d(x.view('convTranspose2d'), w.view('convTranspose2d'), p),
    );
  },
};
