// Elementwise fusion: unary, binary, where and cast return a LazyStorage holding a WGSL expression
// over strided input views instead of dispatching. A chain of such ops grows one expression; it
// runs as a single generated kernel when something needs its buffer (a non-elementwise kernel, a
// readback, or an expression too big to grow), and never runs if it is released unused.
import type { DType } from '../../tensor/dtype.js';
import { contiguousStrides, shapesEqual, sizeOf, type Shape } from '../../tensor/shape.js';
import type { View } from '../backend.js';
import type { GpuContext } from './context.js';
import { DEVICE_BYTES_PER_ELEMENT, WebGpuStorage } from './storage.js';
import { stridedMapInto } from './kernels/strided-map.js';

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

/** Storage whose elements are a pending fused expression; computed on first `buffer` access. */
export class LazyStorage extends WebGpuStorage {
  private expr: FusedExpr | null;

  constructor(
    private readonly ctx: GpuContext,
    expr: FusedExpr,
    dtype: DType,
    readonly shape: Shape,
  ) {
    super(null, dtype, sizeOf(shape));
    this.expr = expr;
    for (const v of expr.inputs) ctx.pin(v.storage as WebGpuStorage);
  }

  /** The pending expression, for a consumer that inlines it (null once computed or dropped). */
  get pending(): FusedExpr | null {
    return this.buffer_ === null ? this.expr : null;
  }

  override get buffer(): GPUBuffer {
    if (this.buffer_ === null) this.materialize();
    return this.buffer_!;
  }

  private materialize(): void {
    const expr = this.expr!;
    this.buffer_ = this.ctx.pool.acquire(Math.max(1, this.size) * DEVICE_BYTES_PER_ELEMENT);
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
    this.drop(this.ctx);
  }

  /** Forgets the expression and unpins its inputs (after running it, or when released unused). */
  drop(ctx: GpuContext): void {
    const expr = this.expr;
    this.expr = null;
    if (expr) for (const v of expr.inputs) ctx.unpin(v.storage as WebGpuStorage);
  }
}

const sameView = (a: View, b: View): boolean =>
  a.storage === b.storage && a.offset === b.offset && shapesEqual(a.shape, b.shape) && a.strides.every((s, i) => s === b.strides[i]);

const distinctViews = (views: readonly View[]): number => views.filter((v, i) => views.findIndex((u) => sameView(u, v)) === i).length;

/** A pending expression this operand can be inlined from: an unrun fused result read whole, in order. */
function inlinable(v: View, shape: Shape): FusedExpr | null {
  const s = v.storage;
  // The expression's inputs are indexed in its own shape, so a reshaped view of it cannot inline.
  if (!(s instanceof LazyStorage) || s.pending === null || v.offset !== 0 || !shapesEqual(v.shape, shape) || !shapesEqual(s.shape, shape)) {
    return null;
  }
  const want = contiguousStrides(shape);
  return v.shape.every((d, i) => d <= 1 || v.strides[i] === want[i]) ? s.pending : null;
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
    const expr = inlinable(v, op.shape);
    const fits =
      expr !== null &&
      ops.length + expr.ops.length + 1 <= MAX_FUSED_OPS &&
      distinctViews([...inputs, ...expr.inputs]) + op.operands.length - 1 <= MAX_FUSED_INPUTS;
    if (!fits) {
      const i = inputIndex(v);
      return (loads: readonly string[]) => loads[i];
    }
    const map = expr.inputs.map(inputIndex);
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
