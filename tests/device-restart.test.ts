// Issue 17 items 6 and 7: `dispose(x)` frees tensors (as in TensorFlow.js), the device shutdown
// is `shutdown()`, and a restart (shutdown, then setBackend/ready) leaves the old tensors disposed,
// uncounted, and out of the new device's buffer pool.
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

afterAll(async () => {
  await T.shutdown();
});

describe('dispose(x) and shutdown()', () => {
  it('dispose frees a tensor, and every tensor of a tree once', async () => {
    await T.setBackend('cpu');
    const before = T.memory().cpu;
    const a = T.ones([2]);
    const b = T.zeros([3]);
    T.dispose(a);
    expect(a.isDisposed).toBe(true);
    T.dispose({ w: [b, b], a }); // shared and already-disposed leaves are fine
    expect(b.isDisposed).toBe(true);
    expect(T.memory().cpu).toEqual(before);
  });

  it('dispose() with no argument is an ArgumentError that names shutdown()', async () => {
    await T.setBackend('cpu');
    const x = T.ones([2]);
    expect(() => (T.dispose as () => void)()).toThrow(T.ArgumentError);
    expect(() => (T.dispose as () => void)()).toThrow(/no tensor or tree given.*await shutdown\(\)/);
    // Nothing was destroyed: the backend still computes.
    expect(await T.sum(x).array()).toBe(2);
    x.dispose();
  });

  it.each(['cpu', 'webgpu'] as const)(
    'after a %s restart old tensors read as disposed and no longer count',
    async (backend) => {
      await T.setBackend(backend);
      const old = T.arange(0, 1000, 1, { dtype: 'float32' });
      const view = T.reshape(old, [10, 100]);
      expect(T.memory()[backend].tensors).toBeGreaterThanOrEqual(2);
      await T.shutdown();
      await T.setBackend(backend);
      expect(T.memory()[backend]).toEqual({ tensors: 0, bytes: 0, recordedBytes: 0 });
      expect(old.isDisposed).toBe(true);
      expect(String(view)).toMatch(/disposed/);
      expect(() => T.add(old, 1)).toThrow(T.DisposedTensorError);
      expect(() => T.add(view, 1)).toThrow(/shut down by shutdown\(\).*make it again/);
      // Disposing them now neither touches the new counts nor hands their buffers to the new device.
      old.dispose();
      view.dispose();
      expect(T.memory()[backend]).toEqual({ tensors: 0, bytes: 0, recordedBytes: 0 });
      const fresh = T.arange(0, 1000, 1, { dtype: 'float32' }); // the size class the old buffer had
      const doubled = T.mul(fresh, 2);
      const values = await doubled.data();
      expect(values[999]).toBe(1998);
      expect(values[1]).toBe(2);
      T.dispose([fresh, doubled]);
      expect(T.memory()[backend]).toEqual({ tensors: 0, bytes: 0, recordedBytes: 0 });
    },
  );
});
