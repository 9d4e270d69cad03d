// Errors the device reports asynchronously (error scopes around compiles and submits), held until
// the next flush or readback surfaces them: ops are synchronous, only readback awaits.
import { BackendError } from '../../tensor/errors.js';

export class PendingErrors {
  /** In recording order, so a compile error is reported before the submit it spoiled. */
  private pending: Promise<BackendError | undefined>[] = [];

  /** Pops the innermost error scope and records what it caught, described by `describe`. */
  popScope(device: GPUDevice, describe: (error: GPUError) => BackendError | Promise<BackendError>): void {
    this.track(device.popErrorScope().then((error) => (error ? describe(error) : undefined)));
  }

  /** Records a promise that may resolve to an error. */
  track(p: Promise<BackendError | undefined>): void {
    this.pending.push(
      p.catch((e: unknown) =>
        e instanceof BackendError ? e : new BackendError(`webgpu: ${String((e as Error)?.message ?? e)}`),
      ),
    );
  }

  /**
   * Waits for every recorded scope and throws the first error (in recording order) any of them
   * caught. Each error is reported once: later readbacks of unaffected work succeed.
   */
  async throwIfAny(): Promise<void> {
    let first: BackendError | undefined;
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      for (const e of await Promise.all(batch)) first ??= e;
    }
    if (first) throw first;
  }
}
