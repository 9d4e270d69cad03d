// The sums a profile row carries, and adding one part (a kernel run, or a row) into them: the one
// accumulation both the rows (per kernel and scope) and the tables' groups use.

export interface Totals {
  calls: number;
  gpuMs: number;
  hostMs: number;
  compiles: number;
  flops?: number;
  bytes?: number;
}

/** Adds `part` to `into`; FLOPs and bytes stay undefined until some part knows them. */
export function addTotals(into: Totals, part: Readonly<Totals>): void {
  into.calls += part.calls;
  into.gpuMs += part.gpuMs;
  into.hostMs += part.hostMs;
  into.compiles += part.compiles;
  if (part.flops !== undefined) into.flops = (into.flops ?? 0) + part.flops;
  if (part.bytes !== undefined) into.bytes = (into.bytes ?? 0) + part.bytes;
}
