// Host time per recorded op: a burst of small ops recorded back to back (each output's buffer
// asked for, so its kernel is recorded, not left pending), then one wait. On a GPU this is what
// bounds small ops in bursts; on lavapipe the device runs on the same cores, so read it as a
// relative number between two revisions (interleave them), not as the host's own cost.
//   npx tsx scripts/host-per-op.ts [ops per burst=400] [bursts=5]
import * as T from '../src/index.js';
import { summarize } from '../bench/timing.js';
import { WebGpuStorage } from '../src/kernels/webgpu/storage.js';

const [perBurst, bursts] = [Number(process.argv[2] ?? 400), Number(process.argv[3] ?? 5)];
await T.setBackend('webgpu');
const a = T.keep(T.uniform(T.key(1), [64, 64]));
const b = T.keep(T.uniform(T.key(2), [64, 64]));
const x = T.keep(T.uniform(T.key(3), [2, 16, 32, 32]));
const w = T.keep(T.uniform(T.key(4), [16, 16, 3, 3]));
await T.sync(a, b, x, w);

const ops: Record<string, () => T.Tensor> = {
  'matmul 64^3': () => T.matmul(a, b),
  'conv2d 3x3, 16 channels, 32 px, batch 2': () => T.conv2d(x, w, { padding: [1, 1] }),
  'add + relu (one fused kernel)': () => T.relu(T.add(a, b)),
  'sum over rows': () => T.sum(a, { axis: 1 }),
};

/** Records `perBurst` ops, returns the host ms per op, then waits for them and frees them. */
async function burst(op: () => T.Tensor): Promise<number> {
  const start = performance.now();
  const outs: T.Tensor[] = [];
  for (let i = 0; i < perBurst; i++) {
    const y = op();
    const storage = y.storage('host-per-op');
    if (storage instanceof WebGpuStorage) void storage.buffer; // records the pending kernel
    outs.push(y);
  }
  const ms = (performance.now() - start) / perBurst;
  await T.sync(...outs);
  outs.forEach((y) => y.dispose());
  return ms;
}

for (const [name, op] of Object.entries(ops)) {
  await burst(op); // compiles, tuning
  const times: number[] = [];
  for (let r = 0; r < bursts; r++) times.push(await burst(op));
  console.log(
    `${name}: ${(summarize(times).median * 1000).toFixed(0)} us of host time per op (median of ${bursts} bursts of ${perBurst})`,
  );
}
await T.shutdown();
