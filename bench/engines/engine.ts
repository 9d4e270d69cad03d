// The one interface the runner sees: an engine takes a row and host inputs, and gives back timed
// runs and host outputs. Ours and TensorFlow.js each implement it for a GPU and a CPU backend.
import type { BenchCase } from '../case.js';
import type { HostTensor } from '../host.js';

export type EngineName = 'ours-webgpu' | 'tfjs-webgpu' | 'ours-cpu' | 'tfjs-cpu';

export interface Engine {
  readonly name: EngineName;
  /** CPU engines are skipped on rows above the CPU work cap. */
  readonly onCpu: boolean;
  /** Uploads the row's inputs (converted to this engine's layout); they live until dispose(). */
  prepare(c: BenchCase, inputs: readonly HostTensor[]): Promise<PreparedCase>;
  /** Live tensors this engine holds: equal before and after a row, or the row leaked. */
  liveTensors(): number;
  /**
   * Frees everything and destroys the device (docs/architecture.md, "WebGPU: the device and its
   * lifetime").
   */
  close(): Promise<void>;
}

export interface PreparedCase {
  /**
   * Runs the row `runs` times back to back, waits once until the device has finished them all,
   * frees their outputs; returns the elapsed ms per run.
   */
  timeOnce(runs: number): Promise<number>;
  /**
   * Called after the warm-up runs: waits for background work they started (our kernel-variant
   * tuning), then runs once more so the variant now chosen is compiled before timing.
   */
  settle(): Promise<void>;
  /** Runs the row once and reads its outputs back, in our layout. */
  outputs(): Promise<HostTensor[]>;
  dispose(): void;
}
