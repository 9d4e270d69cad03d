// AdamW state saved with its step: training 2 steps, saving, loading and training 2 more gives
// bit-for-bit the params of 4 uninterrupted steps (the step drives bias correction and the schedule).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'optim-state-'));
beforeAll(() => T.setBackend('cpu'));
afterAll(() => T.shutdown());

type Params = { w: T.Tensor; b: T.Tensor };
const x = () =>
  T.tensor([
    [1, 2, 3],
    [-1, 0.5, 2],
  ]);
const y = () => T.tensor([[0.5], [0]]);
const loss = (p: Params, xs: T.Tensor, ys: T.Tensor) => T.mean(T.square(T.sub(T.add(T.matmul(xs, p.w), p.b), ys)));
// A schedule, so a lost step would change the learning rate as well as the bias correction.
const opt = T.adamw({ lr: T.linearWarmup({ peak: 0.1, warmupSteps: 3 }), weightDecay: 0.01 });

function steps(
  params: Params,
  state: T.AdamWState<Params>,
  n: number,
): { params: Params; state: T.AdamWState<Params> } {
  for (let i = 0; i < n; i++) {
    const next = T.scope(() => {
      const g = T.grad(loss)(params, x(), y());
      return opt.update(g, state, params);
    });
    T.dispose([params, state.m, state.v]);
    ({ params, state } = next);
  }
  return { params, state };
}

const init = (): Params => ({ w: T.tensor([[0.1], [-0.2], [0.3]]), b: T.tensor([0.05]) });

describe('saveAdamWState / loadAdamWState', () => {
  it('train 2, save, load, train 2 equals train 4', async () => {
    const p0 = init();
    const straight = steps(p0, opt.init(p0), 4);

    const p1 = init();
    const half = steps(p1, opt.init(p1), 2);
    const path = join(dir, 'adamw.safetensors');
    await T.saveAdamWState(path, half.state);
    const loaded = await T.loadAdamWState(path, half.params);
    expect(loaded.step).toBe(2);
    expect(await loaded.m.w.data()).toEqual(await half.state.m.w.data());
    T.dispose([half.state.m, half.state.v]);
    const resumed = steps(half.params, loaded, 2);

    expect(resumed.state.step).toBe(4);
    expect(await resumed.params.w.data()).toEqual(await straight.params.w.data());
    expect(await resumed.params.b.data()).toEqual(await straight.params.b.data());
    expect(await resumed.state.v.b.data()).toEqual(await straight.state.v.b.data());
    T.dispose([straight, resumed]);
  });

  it('moments for other params, or a file of another kind, are refused by name', async () => {
    const p = init();
    const path = join(dir, 'small.safetensors');
    await T.saveAdamWState(path, opt.init(p));
    const wider = { w: T.zeros([4, 1]), b: T.zeros([1]) };
    await expect(T.loadAdamWState(path, wider)).rejects.toThrow(
      /'m\.w' is \[3, 1\], expected \[4, 1\].*'v\.w' is \[3, 1\], expected \[4, 1\]/,
    );
    const plain = join(dir, 'plain.safetensors');
    await T.saveSafetensors(plain, { m: p, v: p });
    await expect(T.loadAdamWState(plain, p)).rejects.toThrow(
      /loadAdamWState\(.*plain\.safetensors\): its metadata format is undefined, not 'webgpu-lrpo\/adamw-state'; pass a file written by saveAdamWState/,
    );
    T.dispose([p, wider]);
  });
});
