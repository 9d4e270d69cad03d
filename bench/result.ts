// The results file's shape (bench/results/<adapter>.json): what a run measured, per row and per
// engine. bench/torch_anchor.py adds `anchor` to rows and `anchorDevice` at the top level.
import type { TorchSpec, Work } from './case.js';
import type { EngineName } from './engines/engine.js';
import type { Stats, TimingOptions } from './timing.js';

export type EngineOutcome =
  | { readonly status: 'timed'; readonly stats: Stats }
  /** --quick: outputs computed and compared, not timed. */
  | { readonly status: 'checked' }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'error'; readonly error: string };

/** `engine`'s outputs against `reference`'s, before any timing. */
export interface CheckResult {
  readonly engine: EngineName;
  readonly reference: EngineName;
  readonly ok: boolean;
  /** max |diff| / max |reference|. */
  readonly relErr: number;
  readonly detail?: string;
}

/** PyTorch (CUDA, fp32, TF32 off) timing of the same row, from bench/torch_anchor.py. */
export interface Anchor {
  readonly torchMs: number;
  readonly torchStats: Stats;
}

export interface RowResult {
  readonly id: string;
  readonly op: string;
  readonly shape: string;
  readonly work: Work;
  readonly tolerance: number;
  readonly torch?: TorchSpec;
  readonly engines: Partial<Record<EngineName, EngineOutcome>>;
  readonly checks: readonly CheckResult[];
  /** Engines that held more live tensors after the row than before it. */
  readonly leaks: readonly string[];
  /** Every check passed, every engine that ran finished, nothing leaked. */
  readonly ok: boolean;
  /** Our WebGPU throughput at the median time: GFLOP/s for flops rows, GB/s for bytes rows. */
  readonly throughput?: number;
  /** Peer median / our WebGPU median: above 1 means we are faster. */
  readonly speedup: Partial<Record<EngineName, number>>;
  anchor?: Anchor;
}

export interface BenchResults {
  /** Our device's adapter, e.g. "mesa software llvmpipe (LLVM 19.1.7, 256 bits)". */
  readonly adapter: string;
  /** What tfjs-webgpu's device reports (vendor, architecture): the same adapter. */
  readonly tfjsAdapter: string;
  readonly date: string;
  readonly node: string;
  readonly platform: string;
  readonly mode: 'full' | 'quick';
  readonly gpuTiming: TimingOptions;
  readonly cpuTiming: TimingOptions;
  /** CPU peers are skipped on rows with more floating-point work than this. */
  readonly cpuMaxFlops: number;
  /** Rows the run set out to do; fewer in `rows` means it stopped early. Absent in older files. */
  readonly planned?: number;
  readonly rows: RowResult[];
  anchorDevice?: string;
}
