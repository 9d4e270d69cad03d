// `npm start`: a short tour of the engine on WebGPU next to the CPU reference. (The LRPO face
// restoration demo replaces this once the model, data and LRPO issues land.)
import * as T from './index.js';

const timeIt = async (f: () => T.Tensor, reps = 3): Promise<{ ms: number; out: Float32Array }> => {
  const warm = T.scope(f); // warm-up: compiles the pipelines
  let out = await warm.data();
  warm.dispose();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const y = T.scope(f);
    out = await y.data();
    y.dispose();
  }
  return { ms: (performance.now() - t0) / reps, out: out as Float32Array };
};

const maxAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function main(): Promise<void> {
  const backend = await T.ready();
  console.log(`engine tour: default backend ${backend}${backend === 'webgpu' ? '' : ' (no WebGPU adapter found)'}\n`);

  const [kx, kw] = T.split(T.key(0));
  const make = (b: T.BackendName) => ({
    x: T.keep(T.normal(kx, [4, 32, 32, 32], { backend: b })),
    w: T.keep(T.normal(kw, [64, 32, 3, 3], { backend: b, std: 0.05 })),
    a: T.keep(T.normal(kx, [512, 512], { backend: b })),
    bm: T.keep(T.normal(kw, [512, 512], { backend: b })),
  });
  const block =
    ({ x, w }: ReturnType<typeof make>) =>
    () =>
      T.silu(T.groupNorm(T.conv2d(x, w, { padding: 1 }), { groups: 8 }));
  const mm =
    ({ a, bm }: ReturnType<typeof make>) =>
    () =>
      T.matmul(a, bm);

  const backends: T.BackendName[] = backend === 'webgpu' ? ['cpu', 'webgpu'] : ['cpu'];
  const rows: string[][] = [];
  const outs: Record<string, Float32Array[]> = {};
  for (const b of backends) {
    const inputs = make(b);
    const conv = await timeIt(block(inputs));
    const matmul = await timeIt(mm(inputs));
    outs[b] = [conv.out, matmul.out];
    rows.push([b, conv.ms.toFixed(1), matmul.ms.toFixed(1), ((2 * 512 ** 3) / matmul.ms / 1e6).toFixed(2)]);
    Object.values(inputs).forEach((t) => t.dispose());
  }
  console.log('| backend | conv3x3+groupNorm+silu [4,32,32,32]->64 (ms) | matmul 512^3 (ms) | GFLOP/s |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  if (outs.webgpu) {
    console.log(
      `\nWebGPU vs CPU max |diff|: block ${maxAbsDiff(outs.webgpu[0], outs.cpu[0]).toExponential(2)}, ` +
        `matmul ${maxAbsDiff(outs.webgpu[1], outs.cpu[1]).toExponential(2)}`,
    );
  }
  console.log(`live memory after the tour: ${JSON.stringify(T.memory())}`);
  await T.shutdown();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
