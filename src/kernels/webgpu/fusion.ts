// Elementwise fusion: unary, binary, where and cast return a LazyStorage holding a WGSL expression
// over strided input views instead of dispatching. A chain of such ops grows one expression; it
// runs as a single generated kernel when something needs its buffer (a non-elementwise kernel, a
// readback, or an expression too big to grow), and never runs if it is released unused. matmul
// and convolutions are recorded lazily too (ProducerStorage), so an expression that is the only
// user of one runs as that kernel's epilogue (bias + SiLU on a conv: one kernel).
import { currentScope, inScopePath, scopesTracked } from '../../profile/recorder.js';
import type { DType } from '../../tensor/dtype.js';
import { BackendError } from '../../tensor/errors.js';
import { contiguousStrides, reshapeStrides, shapesEqual, sizeOf, type Shape } from '../../tensor/shape.js';
import type { View } from '../backend.js';
import type { GpuContext } from './context.js';
import type { Capture } from './capture.js';
import { DEVICE_BYTES_PER_ELEMENT, WebGpuStorage } from './storage.js';
import { stridedMapInto } from './kernels/strided-map.js';
import type { Epilogue } from './epilogue.js';
import { constantStridedIndex, VEC4_COMPONENTS, wgslScalar } from './wgsl.js';

/** Most ops inlined into one kernel: bounds the expression text and register pressure. */
const MAX_FUSED_OPS = 24;
/** Most distinct inputs of one fused kernel (storage bindings; the output takes one more). */
const MAX_FUSED_INPUTS = 7;

/** A WGSL expression over numbered inputs: `render(loads)` with loads[i] the i-th input's value. */
interface FusedExpr {
  readonly inputs: readonly View[];
  readonly render: (loads: readonly string[]) => string;
  readonly preludes: ReadonlySet<string>;
  readonly ops: readonly string[];
}

/** One elementwise op to fuse: its operand views (all of the output's shape) and its WGSL. */
export interface ElementwiseOp {
  readonly name: string;
  readonly shape: Shape;
  readonly operands: readonly View[];
  readonly render: (args: readonly string[]) => string;
  readonly prelude?: string;
  readonly outDtype: DType;
}

/**
 * Storage computed on first access of its buffer (by a consuming kernel or a readback), or never
 * if it is released first. Its inputs are pinned meanwhile, so their buffers stay valid.
 */
export abstract class PendingStorage extends WebGpuStorage {
  private pinned: readonly View[] | null;
  /** The scope it was made in, so its kernel is attributed there when it runs later (profile() or a jit capture). */
  private readonly scope = scopesTracked() ? currentScope() : undefined;
  /** The jit capture open when it was made (capture.ts), if any. */
  private readonly capture: Capture | undefined;

  constructor(
    protected readonly ctx: GpuContext,
    dtype: DType,
    readonly shape: Shape,
    inputs: readonly View[],
  ) {
    super(null, dtype, sizeOf(shape));
    this.capture = ctx.capture;
    this.capture?.track(this);
    this.pinned = inputs;
    for (const v of inputs) ctx.pin(v.storage as WebGpuStorage);
  }

  /** Whether the work is still to be done. */
  get pending(): boolean {
    return this.buffer_ === null && this.pinned !== null;
  }

  override get buffer(): GPUBuffer {
    if (this.buffer_ === null) {
      if (this.ctx.capture !== this.capture)
        throw new BackendError(
          'jit: the function uses a tensor whose value is not computed yet and that it was not given ' +
            '(a closure or a global): pass it in the arguments, or sync it before the call.',
        );
      this.buffer_ = this.ctx.acquireBuffer(Math.max(1, this.size) * DEVICE_BYTES_PER_ELEMENT);
      if (this.scope !== undefined && scopesTracked()) inScopePath(this.scope, () => this.compute());
      else this.compute();
      this.drop(this.ctx);
    }
    return this.buffer_;
  }

  /** Records the kernel(s) writing this storage's (just acquired) buffer. */
  protected abstract compute(): void;

  /** Unpins the inputs (after computing, or when released unused). Idempotent. */
  drop(ctx: GpuContext): void {
    const inputs = this.pinned;
    this.pinned = null;
    if (inputs) for (const v of inputs) ctx.unpin(v.storage as WebGpuStorage);
  }
}

/** A matmul, convolution or row standardisation recorded lazily, so a fused consumer can run as its epilogue. */
export class ProducerStorage extends PendingStorage {
  constructor(
    ctx: GpuContext,
    dtype: DType,
    shape: Shape,
    inputs: readonly View[],
    private readonly record: (target: WebGpuStorage) => void,
    /**
     * Its kernel stores at one or two sites, so an epilogue adds little to its compile: it takes
     * one even where epilogues are opt-in (GpuContext.epilogueFusion, for the matmuls and
     * convolutions that store at up to 128 unrolled sites).
     */
    readonly fewStoreSites = false,
  ) {
    super(ctx, dtype, shape, inputs);
  }

  protected compute(): void {
    this.record(this);
  }

  /** Runs the producer writing `epilogue(value)` into `target` instead of its own buffer, then drops it. */
  recordWithEpilogue(target: WebGpuStorage, epilogue: Epilogue): void {
    this.ctx.withEpilogue(target, epilogue, () => this.record(target));
  }
}

/** Storage whose elements are a pending fused elementwise expression. */
export class LazyStorage extends PendingStorage {
  private expr: FusedExpr | null;

  constructor(ctx: GpuContext, expr: FusedExpr, dtype: DType, shape: Shape) {
    super(ctx, dtype, shape, expr.inputs);
    this.expr = expr;
  }

  /** The pending expression, for a consumer that inlines it (null once computed or dropped). */
  get pendingExpr(): FusedExpr | null {
    return this.pending ? this.expr : null;
  }

  protected compute(): void {
    const expr = this.expr!;
    this.expr = null;
    const small = expr.ops.length <= MAX_EPILOGUE_OPS && expr.inputs.length - 1 <= MAX_EPILOGUE_INPUTS;
    const k = small ? expr.inputs.findIndex((v) => this.canAbsorb(v)) : -1;
    if (k >= 0) {
      // The matmul/conv result is used only here: compute it with this expression as its epilogue.
      const epilogue = epilogueOf(this.ctx, expr, k, this.shape);
      (expr.inputs[k].storage as ProducerStorage).recordWithEpilogue(this, epilogue);
      epilogue.release();
      return;
    }
    stridedMapInto(
      this.ctx,
      {
        kernel: `fused:${expr.ops.join('+')}`,
        shape: this.shape,
        inputs: expr.inputs,
        expr: (loads) => expr.render(loads),
        prelude: [...expr.preludes].join('\n'),
      },
      { storage: this, strides: contiguousStrides(this.shape), offset: 0 },
    );
  }

  /**
   * A pending producer read whole by this expression and by nothing else: the front end released
   * it (its tensor is gone) and only this expression pins it. Then nobody else can need its raw
   * values, and computing it here as an epilogue saves a pass over memory.
   */
  private canAbsorb(v: View): boolean {
    const s = v.storage;
    // Read whole and in order, possibly through a reshape (group normalisation's [N, G, L] rows
    // read as [N, C, H, W]): the producer's element i is the expression's element i.
    return (
      this.ctx.fusion &&
      s instanceof ProducerStorage &&
      (this.ctx.epilogueFusion || s.fewStoreSites) &&
      s.pending &&
      s.releaseWhenUnpinned &&
      s.pins === 1 &&
      s.dtype === 'float32' &&
      this.dtype === 'float32' &&
      isWholeView(v, this.shape) &&
      s.size === sizeOf(this.shape)
    );
  }
}

/** A pending elementwise operand a consumer can compute inline as it reads (see reduce.ts). */
export interface InlineOperand {
  /** The expression's inputs: float32 views with the operand's shape and contiguous layout. */
  readonly inputs: readonly View[];
  /** The expression over its inputs' values. */
  readonly render: (loads: readonly string[]) => string;
  readonly preludes: ReadonlySet<string>;
  /** The expression's ops, for kernel names. */
  readonly ops: readonly string[];
  /** What the generated source depends on (for cache keys). */
  readonly key: string;
}

/**
 * The pending expression `v` reads, when it is read whole and every input of the expression lies
 * like `v` (float32, contiguous, from offset 0) and it has at most MAX_BROADCAST_INLINE_OPS ops: a
 * consumer may then load the inputs and compute the expression instead of having it stored and
 * read back. Null otherwise. The operand stays pending: whoever else reads it later still gets it
 * computed (so a long expression, costly to compute twice, is not offered).
 */
export function inlineOperand(v: View): InlineOperand | null {
  const s = v.storage;
  if (!(s instanceof LazyStorage) || s.pendingExpr === null || s.dtype !== 'float32') return null;
  const expr = s.pendingExpr;
  // A longer expression (a SiLU's derivative) may be computed again by another reader: keep it stored.
  if (expr.ops.length > MAX_BROADCAST_INLINE_OPS) return null;
  if (!isWholeView(v, s.shape)) return null;
  if (!expr.inputs.every((u) => u.dtype === 'float32' && isWholeView(u, s.shape))) return null;
  const placeholders = expr.inputs.map((_, j) => `\u0001${j}\u0001`);
  return {
    inputs: expr.inputs,
    render: expr.render,
    preludes: expr.preludes,
    ops: expr.ops,
    key: `${expr.render(placeholders)}|${[...expr.preludes].join('\n')}`,
  };
}

/** Whether a view reads a storage of `shape` whole, in order. */
function isWholeView(v: View, shape: Shape): boolean {
  if (v.offset !== 0 || !shapesEqual(v.shape, shape)) return false;
  const want = contiguousStrides(shape);
  return v.shape.every((d, i) => d <= 1 || v.strides[i] === want[i]);
}

/** Most ops and extra inputs an absorbed epilogue may have (bias + activation; compile time). */
const MAX_EPILOGUE_OPS = 4;
const MAX_EPILOGUE_INPUTS = 2;

/**
 * The expression as the epilogue of its input `k` (a producer): `v` is the producer's value. The
 * other inputs' offsets are read from a buffer, so views that differ only in where they start
 * (a slice taken at each step of a loop) share one kernel.
 */
function epilogueOf(ctx: GpuContext, expr: FusedExpr, k: number, shape: Shape): Epilogue {
  const others = expr.inputs.map((v, j) => ({ v, j })).filter(({ j }) => j !== k);
  // Views that all start at 0 (the usual case) read no offsets, and an unused binding would not be
  // in the pipeline's layout: bind `em` only when there is something to read.
  const offsets = others.some(({ v }) => v.offset > 0) ? ctx.allocConstant('int32', others.length) : null;
  if (offsets) ctx.device.queue.writeBuffer(offsets.buffer, 0, Uint32Array.from(others.map(({ v }) => v.offset)));
  const offsetView: View[] = offsets
    ? [{ storage: offsets, dtype: 'int32', shape: [others.length], strides: [1], offset: 0 }]
    : [];
  // Input j's value at output element i: straight-line index math on constant shapes and strides
  // (producers store through the epilogue at up to 128 unrolled sites), plus its offset em[n].
  const load = (n: number, i: string): string =>
    `e${others[n].j}[${offsets ? `em[${n}u] + ` : ''}${constantStridedIndex(i, shape, others[n].v.strides)}]`;
  const last = shape.length - 1;
  const splat = (v: View): boolean => last >= 0 && shape[last] % 4 === 0 && v.strides[last] === 0;
  return {
    inputs: [...offsetView, ...others.map(({ v }) => v)],
    name: `epi:${expr.ops.join('+')}`,
    declarations: (t, first) =>
      [
        ...expr.preludes,
        ...(offsets ? [`@group(0) @binding(${first}) var<storage, read> em: array<u32>;`] : []),
        ...others.map(
          ({ v, j }, n) =>
            `@group(0) @binding(${first + offsetView.length + n}) var<storage, read> e${j}: array<${wgslScalar(v.dtype)}>;`,
        ),
        // The expression with the other inputs' values as arguments, then the two ways to load them.
        `fn epi_of(v: ${t}${others.map(({ v, j }) => `, l${j}: ${wgslScalar(v.dtype)}`).join('')}) -> ${t} {`,
        `  return ${expr.render(expr.inputs.map((_, j) => (j === k ? 'v' : `l${j}`)))};`,
        `}`,
        `fn epi(v: ${t}, i: u32) -> ${t} {`,
        `  return epi_of(v${others.map((_, n) => `, ${load(n, 'i')}`).join('')});`,
        `}`,
        // Elements i .. i + 3 (i a multiple of 4) share an input broadcast along the last axis when
        // that axis is a multiple of 4 long: it is loaded once for the four (a per-channel scale).
        `fn epi4(v: vec4<${t}>, i: u32) -> vec4<${t}> {`,
        ...others.flatMap(({ v, j }, n) => (splat(v) ? [`  let s${j} = ${load(n, 'i')};`] : [])),
        `  return vec4<${t}>(${VEC4_COMPONENTS.map(
          (c, q) =>
            `epi_of(v.${c}${others.map(({ v, j }, n) => `, ${splat(v) ? `s${j}` : load(n, q === 0 ? 'i' : `i + ${q}u`)}`).join('')})`,
        ).join(', ')});`,
        `}`,
      ].join('\n'),
    release: () => offsets && ctx.release(offsets),
  };
}

const sameView = (a: View, b: View): boolean =>
  a.storage === b.storage &&
  a.offset === b.offset &&
  shapesEqual(a.shape, b.shape) &&
  a.strides.every((s, i) => s === b.strides[i]);

const distinctViews = (views: readonly View[]): number =>
  views.filter((v, i) => views.findIndex((u) => sameView(u, v)) === i).length;

/** Most ops of an expression inlined through a broadcast (it is recomputed for every copy of an element). */
const MAX_BROADCAST_INLINE_OPS = 3;

/**
 * A pending expression this operand can be inlined from, with its inputs as views in `shape`:
 * an unrun fused result read whole and in order, or (when the expression is small) read through
 * a broadcast of it, as `mean(x, {keepdims}) - x` reads the mean. Null when neither.
 */
function inlinable(v: View, shape: Shape): { expr: FusedExpr; inputs: readonly View[] } | null {
  const s = v.storage;
  if (!(s instanceof LazyStorage) || s.pendingExpr === null) return null;
  const expr = s.pendingExpr;
  if (isWholeView(v, shape) && shapesEqual(s.shape, shape)) return { expr, inputs: expr.inputs };
  if (expr.ops.length > MAX_BROADCAST_INLINE_OPS || v.offset !== 0 || !shapesEqual(v.shape, shape)) return null;
  // v must be the storage reshaped to `kept` (the shape with its broadcast dims set to 1), then
  // broadcast: then each input of the expression, viewed the same way, lines up with `shape`.
  const kept = shape.map((d, k) => (v.strides[k] === 0 ? 1 : d));
  const keptStrides = contiguousStrides(kept);
  if (sizeOf(kept) !== s.size || kept.some((d, k) => d > 1 && v.strides[k] !== keptStrides[k])) return null;
  const inputs: View[] = [];
  for (const u of expr.inputs) {
    const strides = reshapeStrides(s.shape, u.strides, kept);
    if (!strides) return null;
    inputs.push({ ...u, shape, strides: strides.map((st, k) => (kept[k] === 1 ? 0 : st)) });
  }
  return { expr, inputs };
}

/**
 * Records an elementwise op lazily: operands that are pending expressions are inlined (within
 * the size limits), others become inputs of the fused kernel.
 */
export function fuseElementwise(ctx: GpuContext, op: ElementwiseOp): WebGpuStorage {
  if (!ctx.fusion) return runUnfused(ctx, op);
  const inputs: View[] = [];
  const preludes = new Set<string>(op.prelude ? [op.prelude] : []);
  const ops: string[] = [];
  const inputIndex = (v: View): number => {
    const found = inputs.findIndex((u) => sameView(u, v));
    if (found >= 0) return found;
    inputs.push(v);
    return inputs.length - 1;
  };

  const parts = op.operands.map((v) => {
    const found = inlinable(v, op.shape);
    const fits =
      found !== null &&
      ops.length + found.expr.ops.length + 1 <= MAX_FUSED_OPS &&
      distinctViews([...inputs, ...found.inputs]) + op.operands.length - 1 <= MAX_FUSED_INPUTS;
    if (!fits) {
      const i = inputIndex(v);
      return (loads: readonly string[]) => loads[i];
    }
    const { expr } = found;
    const map = found.inputs.map(inputIndex);
    expr.preludes.forEach((p) => preludes.add(p));
    ops.push(...expr.ops);
    return (loads: readonly string[]) => `(${expr.render(map.map((i) => loads[i]))})`;
  });
  ops.push(op.name);
  if (inputs.length > MAX_FUSED_INPUTS) {
    // Too many distinct inputs even without inlining (cannot happen for arity <= 3; kept as a guard).
    throw new Error(`internal: fused op ${op.name} has ${inputs.length} inputs`);
  }
  const render = (loads: readonly string[]) => op.render(parts.map((part) => part(loads)));
  return new LazyStorage(ctx, { inputs, render, preludes, ops }, op.outDtype, op.shape);
}

/** The same op as its own kernel, for comparison runs with fusion off. */
function runUnfused(ctx: GpuContext, op: ElementwiseOp): WebGpuStorage {
  const out = ctx.alloc(op.outDtype, sizeOf(op.shape));
  stridedMapInto(
    ctx,
    { kernel: op.name, shape: op.shape, inputs: op.operands, expr: (loads) => op.render(loads), prelude: op.prelude },
    { storage: out, strides: contiguousStrides(op.shape), offset: 0 },
  );
  return out;
}
