// The device's cost per dispatch on its own: a recorded (jit) chain of N dependent small matmuls,
// each its own dispatch, timed to a finished device; the slope from 50 to 400 dispatches is the
// floor a network's dispatch count puts under its time (docs/measurements.md).
//   npx tsx scripts/dispatch-floor.ts [side]     (side of the square matrices, default 4)
import * as T from '../src/index.js';

await T.setBackend('webgpu');
const side = Number(process.argv[2] ?? 4);
const a = T.keep(T.uniform(T.key(1), [side, side]));
const chain = (n: number) =>
  T.jit((x: T.Tensor, m: T.Tensor) => {
    let y = x;
    for (let i = 0; i < n; i++) y = T.matmul(y, m);
    return y;
  });
const medians: Record<number, number> = {};
for (const n of [50, 200, 400]) {
  const f = chain(n);
  for (let i = 0; i < 3; i++) await T.sync(f(a, a));
  const ms: number[] = [];
  for (let r = 0; r < 15; r++) {
    const t0 = performance.now();
    const y = f(a, a);
    await T.sync(y);
    ms.push(performance.now() - t0);
    y.dispose();
  }
  ms.sort((p, q) => p - q);
  medians[n] = ms[7];
  console.log(
    `side ${side}, ${n} dispatches: median ${ms[7].toFixed(2)} ms, ${((ms[7] / n) * 1000).toFixed(0)} us each`,
  );
}
console.log(`slope 50 -> 400: ${(((medians[400] - medians[50]) / 350) * 1000).toFixed(0)} us per dispatch`);
a.dispose();
await T.shutdown();
