// Per-dispatch GPU time for profile(): while a profile runs, each dispatch gets a compute pass of
// its own whose beginning and end write timestamps into a query set; every submit resolves its
// batch's queries into a buffer that profile() reads back at the end. Only used while profiling.
import type { ProfileRecorder } from '../../profile/recorder.js';
import { BufferUsage, MAP_MODE_READ } from './device.js';

const QUERY_RESOLVE = 0x0200;
const BYTES_PER_QUERY = 8;

interface ResolvedBatch {
  readonly readback: GPUBuffer;
  readonly targets: readonly { readonly recorder: ProfileRecorder; readonly index: number }[];
}

export class GpuTimer {
  private querySet: GPUQuerySet | undefined;
  private resolveBuffer: GPUBuffer | undefined;
  private batch: { recorder: ProfileRecorder; index: number }[] = [];
  private resolved: ResolvedBatch[] = [];

  /** `capacity`: the most dispatches one submit holds. */
  constructor(
    private readonly device: GPUDevice,
    private readonly capacity: number,
  ) {}

  /** The pass descriptor that times the next dispatch, whose record is `index` in `recorder`. */
  timedPass(recorder: ProfileRecorder, index: number): GPUComputePassDescriptor {
    this.querySet ??= this.device.createQuerySet({
      label: 'profile timestamps',
      type: 'timestamp',
      count: 2 * this.capacity,
    });
    const slot = this.batch.push({ recorder, index }) - 1;
    return {
      timestampWrites: {
        querySet: this.querySet,
        beginningOfPassWriteIndex: 2 * slot,
        endOfPassWriteIndex: 2 * slot + 1,
      },
    };
  }

  /** Whether the open batch is full (the dispatcher then submits before the next timed dispatch). */
  get full(): boolean {
    return this.batch.length >= this.capacity;
  }

  /** Records the resolve of this batch's queries at the end of `encoder` (called just before it is finished). */
  resolveInto(encoder: GPUCommandEncoder): void {
    if (this.batch.length === 0 || !this.querySet) return;
    const bytes = 2 * this.batch.length * BYTES_PER_QUERY;
    this.resolveBuffer ??= this.device.createBuffer({
      label: 'profile timestamps resolve',
      size: 2 * this.capacity * BYTES_PER_QUERY,
      usage: QUERY_RESOLVE | BufferUsage.COPY_SRC,
    });
    const readback = this.device.createBuffer({
      label: 'profile timestamps readback',
      size: bytes,
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    });
    encoder.resolveQuerySet(this.querySet, 0, 2 * this.batch.length, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, readback, 0, bytes);
    this.resolved.push({ readback, targets: this.batch });
    this.batch = [];
  }

  /** Reads every submitted batch back and hands each dispatch its GPU milliseconds. Call after the work was submitted. */
  async collect(): Promise<void> {
    const batches = this.resolved;
    this.resolved = [];
    for (const { readback, targets } of batches) {
      await readback.mapAsync(MAP_MODE_READ);
      const stamps = new BigInt64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      readback.destroy();
      targets.forEach(({ recorder, index }, i) => {
        const ns = stamps[2 * i + 1] - stamps[2 * i];
        // A pass the driver did not time reads 0 at both ends; negative spans are clock noise.
        recorder.setDeviceMs(index, ns > 0n ? Number(ns) / 1e6 : 0);
      });
    }
  }

  destroy(): void {
    for (const { readback } of this.resolved) readback.destroy();
    this.resolved = [];
    this.batch = [];
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
  }
}
