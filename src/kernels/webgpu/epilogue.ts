// Elementwise epilogues on matmul and conv kernels: a producer kernel stores every output value
// through `epi(v, i)` (or `epi4` for vec4 stores). By default that is the identity; when a fused
// elementwise expression consumes the producer's result (e.g. bias + SiLU), fusion.ts registers
// the expression as the epilogue of the producer's output buffer and the same kernel computes
// `expr(acc, other inputs at i)` in one pass (GpuContext.dispatch swaps the declarations).
import type { View } from '../backend.js';
import type { WgslScalar } from '../elementwise-ops.js';

/** Producer kernels include this text; it is replaced by a registered epilogue's declarations. */
export const identityEpilogue = (t: WgslScalar): string => `// epilogue: identity
fn epi(v: ${t}, i: u32) -> ${t} { return v; }
fn epi4(v: vec4<${t}>, i: u32) -> vec4<${t}> { return v; }`;

/** `out[index] = value` through the epilogue (index: the element's linear output index). */
export const storeOut = (index: string, value: string): string => `out[${index}] = epi(${value}, ${index});`;

/** `out[index4] = value4` for an out array of vec4 (elements 4*index4 .. 4*index4+3). */
export const storeOut4 = (index4: string, value: string): string =>
  `out[${index4}] = epi4(${value}, (${index4}) * 4u);`;

/** An expression applied to each output value before it is stored. */
export interface Epilogue {
  /** Extra input views, all shaped like the output, bound after the producer's own bindings. */
  readonly inputs: readonly View[];
  /** WGSL declarations (bindings from `firstBinding`, helpers, `epi` and `epi4`). */
  readonly declarations: (t: WgslScalar, firstBinding: number) => string;
  /** Short description for kernel names. */
  readonly name: string;
  /** Frees what the epilogue allocated (its offsets), once its kernel is recorded. */
  readonly release: () => void;
}
