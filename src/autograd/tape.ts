// The tape of one transform call: which tensors depend on the differentiated inputs, and the
// primitives that produced them, recorded by observing bind(). It keeps what the backward pass
// needs alive across the op-internal scopes that would otherwise free it.
import { currentScope, scopesTracked } from '../profile/recorder.js';
import { isFloat } from '../tensor/dtype.js';
import { retain, unretain } from '../tensor/memory.js';
import type { Primitive, PrimitiveObserver, PrimitiveParams } from '../tensor/primitives.js';
import type { Tensor } from '../tensor/tensor.js';

export interface TapeEntry<P extends Primitive = Primitive> {
  readonly prim: P;
  readonly inputs: readonly Tensor[];
  readonly params: PrimitiveParams[P];
  readonly output: Tensor;
  /** The profile scope the op ran in (only recorded while a profile() runs). */
  readonly scope?: string;
}

export class Tape {
  /** Tensors that depend on the differentiated inputs (gradients flow only through these). */
  readonly tracked = new Set<Tensor>();
  readonly entries: TapeEntry[] = [];
  private readonly held: Tensor[] = [];
  private closed = false;

  /** Marks a differentiated input. */
  watch(x: Tensor): void {
    this.tracked.add(x);
    this.hold(x);
  }

  /** The observer to pass to observePrimitives while the function runs. */
  readonly record: PrimitiveObserver = (prim, inputs, params, output) => {
    if (this.closed || prim === 'stopGradient' || !isFloat(output.dtype)) return;
    if (!inputs.some((t) => this.tracked.has(t))) return;
    const scope = scopesTracked() ? currentScope() : undefined;
    this.entries.push({ prim, inputs, params, output, scope } as TapeEntry);
    this.tracked.add(output);
    for (const t of inputs) this.hold(t);
    this.hold(output);
  };

  private hold(t: Tensor): void {
    retain(t);
    this.held.push(t);
  }

  /**
   * Stops protecting the tape's tensors: each then belongs to the scope it has reached and is
   * freed when that scope ends (unless another tape still holds it). Idempotent.
   */
  release(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.held) unretain(t);
    this.held.length = 0;
  }
}
