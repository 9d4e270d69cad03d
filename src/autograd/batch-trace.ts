// vmap's recording of f on one example: the primitives that depend on the batched inputs, in the
// order they ran, and the constants they read (kept alive until the batched replay).
import { retain, unretain } from '../tensor/memory.js';
import type { Primitive, PrimitiveObserver, PrimitiveParams } from '../tensor/primitives.js';
import type { Tensor } from '../tensor/tensor.js';

export interface TraceEntry<P extends Primitive = Primitive> {
  readonly prim: P;
  readonly inputs: readonly Tensor[];
  readonly params: PrimitiveParams[P];
  /** The example's output: its shape and dtype are what the batched op must produce per example. */
  readonly output: Tensor;
}

export class BatchTrace {
  /** The example inputs and every op output computed from them. */
  readonly dependent = new Set<Tensor>();
  readonly entries: TraceEntry[] = [];
  private readonly held = new Set<Tensor>();
  private closed = false;

  /** Marks an example of a batched input. */
  watch(x: Tensor): void {
    this.dependent.add(x);
  }

  /**
   * Records ops that read a dependent tensor, and hides them from the transforms outside vmap
   * (they see the batched replay instead). Ops on constants only pass through: the transforms
   * outside see them as they would without vmap.
   */
  readonly observe: PrimitiveObserver = (prim, inputs, params, output) => {
    if (this.closed) return;
    let dependent = false;
    for (const x of inputs) if (this.dependent.has(x)) dependent = true;
    if (!dependent) return;
    for (const x of inputs) {
      if (!this.dependent.has(x) && !this.held.has(x)) {
        retain(x);
        this.held.add(x);
      }
    }
    this.entries.push({ prim, inputs, params, output } as TraceEntry);
    this.dependent.add(output);
    return true;
  };

  /** Stops recording and shielding the constants: each then belongs to the scope it has reached. Idempotent. */
  release(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.held) unretain(t);
    this.held.clear();
  }
}
