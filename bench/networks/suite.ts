// The network rows of `npm run bench`: the work users run (whole UNets forward and forward +
// backward, the face networks, one LRPO step), ours next to the tool they would otherwise use, on
// the same machine in the same run. Every peer's outputs are checked against ours before it is
// timed; a peer that cannot run is reported as skipped with its reason.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as T from '../../src/index.js';
import { generateFace } from '../../src/data/faces.js';
import { faceEmbedding, loadFaceRecognitionParams } from '../../src/metrics/face-embedding/face-recognition-net.js';
import { faceLandmarks68, loadFaceLandmarkParams } from '../../src/metrics/face-landmarks/face-landmark-net.js';
import { UNET_PRESETS, unetApply, unetInit, type UNetConfig } from '../../src/nn.js';
import { summarize, type Stats } from '../timing.js';
import { loadFacePeer, type FaceNetName } from './face-peer.js';
import { findTorch, runTorchUnet, withScratch } from './torch-peer.js';
import { lrpoStepBench, REFERENCE_LRPO_SCALE } from './lrpo-step.js';
import { TINY_PHOTO_SFT } from '../../src/cli/commands/demo.js';
import { sampleRuns, timeOurs } from './timing.js';

export interface PeerResult {
  readonly peer: string;
  readonly status: 'timed' | 'skipped' | 'failed';
  readonly reason?: string;
  readonly stats?: Stats;
  /** max |ours - peer| / max |peer| of the outputs (and of the gradients). */
  readonly maxRelErr?: number;
  readonly gradMaxRelErr?: number;
  /** ours / peer (median times): below 1 we are faster. */
  readonly ratio?: number;
}

export interface NetworkRow {
  readonly id: string;
  readonly work: string;
  readonly ours: Stats;
  readonly peers: readonly PeerResult[];
  /** Share of CPU time the host stole while the row ran, both sides (bench/host-steal.ts); absent off Linux. */
  readonly hostSteal?: number;
}

export interface NetworkOptions {
  readonly reps: number;
  /** Seconds after which a side stops repeating a row (at least 2 samples). */
  readonly budgetS: number;
  readonly software: boolean;
  readonly filter?: string;
  readonly log: (line: string) => void;
}

const withRatio = (ours: Stats, p: PeerResult): PeerResult =>
  p.stats ? { ...p, ratio: ours.median / p.stats.median } : p;

/** Tolerances of the equality checks (f32 on both sides, different summation orders). */
const FORWARD_TOL = 2e-3;
const GRAD_TOL = 2e-2;

async function unetRow(
  name: 'tiny' | 'small' | 'base',
  batch: number,
  size: number,
  backward: boolean,
  opts: NetworkOptions,
  recorded = false,
): Promise<NetworkRow> {
  // Non-zero init everywhere, so eps and every gradient are non-trivial to compare.
  const config: UNetConfig = { ...UNET_PRESETS[name], zeroInit: false };
  const params = unetInit(T.key(11), config, { backend: 'webgpu' });
  const xt = T.normal(T.key(12), [batch, 3, size, size], { backend: 'webgpu' });
  const cond = T.normal(T.key(13), [batch, 3, size, size], { backend: 'webgpu' });
  const target = T.normal(T.key(14), [batch, 3, size, size], { backend: 'webgpu' });
  const t = T.tensor(
    Array.from({ length: batch }, (_, i) => Math.round(((i + 0.5) * 1000) / batch)),
    { backend: 'webgpu' },
  );
  const mse = (p: typeof params, x: T.Tensor, tt: T.Tensor, c: T.Tensor, y: T.Tensor) =>
    T.mean(T.square(T.sub(unetApply(p, config, x, tt, c), y)));
  const loss = (p: typeof params) => mse(p, xt, t, cond, target);
  // Recorded (jit): the forward, or the whole loss-and-gradient call, replayed (the inputs are its arguments).
  const recordedApply = recorded ? T.jit(unetApply) : undefined;
  const apply = recordedApply ?? unetApply;
  const valueAndGrad = (p: typeof params, x: T.Tensor, tt: T.Tensor, c: T.Tensor, y: T.Tensor) =>
    T.valueAndGrad((q: typeof params) => mse(q, x, tt, c, y))(p);
  const recordedStep = recorded ? T.jit(valueAndGrad) : undefined;
  const step = recordedStep ?? valueAndGrad;
  const forward = async () => {
    const eps = apply(params, config, xt, t, cond);
    await T.sync(eps);
    eps.dispose();
  };
  const forwardBackward = async () => {
    const [l, g] = step(params, xt, t, cond, target);
    await T.sync(l, ...T.treeLeaves(g));
    T.treeLeaves([l, g]).forEach((x) => x.dispose());
  };
  const id = `unet ${name} ${backward ? 'forward+backward' : 'forward'} b${batch} ${size}px${recorded ? ' jit' : ''}`;
  opts.log(`${id}: ours ...`);
  const ours = await timeOurs(backward ? forwardBackward : forward, opts);
  const peers: PeerResult[] = [];
  const torch = findTorch();
  if ('missing' in torch) {
    peers.push({ peer: 'pytorch-cpu', status: 'skipped', reason: torch.missing });
  } else {
    await withScratch(async (dir) => {
      const file = join(dir, 'unet.safetensors');
      const eps = unetApply(params, config, xt, t, cond);
      const grads = backward ? T.grad(loss)(params) : undefined;
      await T.saveSafetensors(file, {
        params,
        inputs: { xt, t, cond, target },
        outputs: { eps },
        ...(grads ? { grads } : {}),
      });
      T.treeLeaves([eps, grads]).forEach((x) => x.dispose());
      const ourCount = T.treeLeaves(params).reduce((n, x) => n + x.size, 0);
      // CPU peers at 1 thread and all cores; on a GPU adapter also PyTorch CUDA fp32 (TF32 off).
      const runs: { peer: string; threads: number; device: 'cpu' | 'cuda' }[] = [
        ...new Set([1, availableParallelism()]),
      ].map((n) => ({ peer: `pytorch-cpu-${n}t`, threads: n, device: 'cpu' }));
      if (!opts.software) runs.push({ peer: 'pytorch-cuda-fp32', threads: 1, device: 'cuda' });
      for (const { peer, threads, device } of runs) {
        opts.log(`${id}: ${peer} ...`);
        try {
          const r = runTorchUnet(torch.python, file, config, {
            threads,
            reps: opts.reps,
            backward,
            budgetS: opts.budgetS,
            device,
          });
          if ('skipped' in r) {
            peers.push({ peer, status: 'skipped', reason: r.skipped });
            continue;
          }
          const problems = [
            r.params !== ourCount ? `param count ${r.params} != ours ${ourCount}` : '',
            !(r.maxRelErr <= FORWARD_TOL) ? `outputs differ: max rel err ${r.maxRelErr}` : '',
            backward && !((r.gradMaxRelErr ?? Infinity) <= GRAD_TOL)
              ? `gradients differ: max rel err ${r.gradMaxRelErr}`
              : '',
          ].filter(Boolean);
          const base = { peer, maxRelErr: r.maxRelErr, gradMaxRelErr: r.gradMaxRelErr };
          peers.push(
            problems.length > 0
              ? { ...base, status: 'failed', reason: problems.join('; ') }
              : withRatio(ours, { ...base, status: 'timed', stats: summarize(r.ms) }),
          );
        } catch (e) {
          peers.push({ peer, status: 'failed', reason: (e as Error).message });
        }
      }
    });
  }
  T.treeLeaves([params, xt, cond, target, t]).forEach((x) => x.dispose());
  recordedApply?.dispose();
  recordedStep?.dispose();
  return {
    id,
    work:
      `${name} UNet (${T.treeLeaves(unetInit(T.key(0), config, { backend: 'cpu' })).reduce((n, x) => n + x.size, 0)} params), ` +
      `${backward ? 'MSE loss, gradient of every param' : 'eps prediction'}` +
      (recorded ? `, recorded once and replayed (jit${backward ? ' of the whole loss-and-gradient call' : ''})` : ''),
    ours,
    peers,
  };
}

/** Our face networks: input side, and the net on loaded params as [N, outputs]. */
const FACE_NETS: Record<
  FaceNetName,
  {
    readonly size: number;
    readonly load: () => { readonly params: object; readonly apply: (images: T.Tensor) => T.Tensor };
  }
> = {
  recognition: {
    size: 150,
    load: () => {
      const params = loadFaceRecognitionParams({ backend: 'webgpu' });
      return { params, apply: (x) => faceEmbedding(params, x) };
    },
  },
  landmarks: {
    size: 112,
    load: () => {
      const params = loadFaceLandmarkParams({ backend: 'webgpu' });
      return { params, apply: (x) => T.reshape(faceLandmarks68(params, x), [x.shape[0], 136]) };
    },
  },
};

async function faceRow(net: FaceNetName, batch: number, opts: NetworkOptions): Promise<NetworkRow> {
  const size = FACE_NETS[net].size;
  const images = Array.from({ length: batch }, (_, i) => generateFace(T.key(100 + i), size).hq);
  const { params, apply: run } = FACE_NETS[net].load();
  const input = T.tensor(Float32Array.from(images.flatMap((im) => [...im])), {
    shape: [batch, 3, size, size],
    backend: 'webgpu',
  });
  // Host images in, host values out, as a user of either library sees them.
  const oursOnce = async (): Promise<Float32Array> => {
    const out = run(input);
    const values = (await out.data()) as Float32Array;
    out.dispose();
    return values;
  };
  const id = `face ${net} b${batch} ${size}px`;
  opts.log(`${id}: ours ...`);
  const ours = await timeOurs(async () => void (await oursOnce()), opts);
  const reference = await oursOnce();
  const peers: PeerResult[] = [];
  for (const backend of ['wasm', 'webgpu'] as const) {
    const peer = `face-api tfjs-${backend}`;
    opts.log(`${id}: ${peer} ...`);
    try {
      const p = await loadFacePeer(net, backend);
      const out = await p.run(images, size, size);
      const flat = Float32Array.from(out.flatMap((o) => [...o]));
      const scale = Math.max(...flat.map(Math.abs));
      const maxRelErr = Math.max(...flat.map((v, i) => Math.abs(v - reference[i]))) / scale;
      if (!(maxRelErr <= FORWARD_TOL)) {
        peers.push({ peer, status: 'failed', reason: `outputs differ: max rel err ${maxRelErr}`, maxRelErr });
        continue;
      }
      await p.run(images, size, size); // warm
      peers.push(
        withRatio(ours, {
          peer,
          status: 'timed',
          stats: await sampleRuns(() => p.run(images, size, size), opts),
          maxRelErr,
        }),
      );
    } catch (e) {
      peers.push({ peer, status: 'skipped', reason: (e as Error).message.split('\n')[0] });
    }
  }
  input.dispose();
  T.treeLeaves(params).forEach((x) => x.dispose());
  return {
    id,
    work:
      `face-api ${net === 'recognition' ? 'FaceRecognitionNet (ResNet-34-like), 128-d descriptors' : 'FaceLandmark68Net, 68 points'}, ` +
      `host images in, host values out`,
    ours,
    peers,
  };
}

/**
 * What the profiler costs: a tiny-UNet forward (whose blocks run inside named() scopes) timed
 * with profiling off against the same forward with every hook bypassed is not possible in one
 * build, so the row compares 2,000 small ops each wrapped in named() against the same ops bare
 * (profiling off: named() only calls fn, kernels read one variable), and the UNet forward inside
 * profile() against outside (profiling on: one timed compute pass per dispatch).
 */
async function profilerRow(opts: NetworkOptions): Promise<NetworkRow> {
  const x = T.ones([64], { backend: 'webgpu' });
  const chain = (wrap: boolean) => async () => {
    let y = x;
    const ys: T.Tensor[] = [];
    for (let i = 0; i < 2000; i++) {
      const prev = y;
      y = wrap ? T.named('op', () => T.add(prev, 1)) : T.add(prev, 1);
      ys.push(y);
    }
    await T.sync(y);
    ys.forEach((t) => t.dispose());
  };
  opts.log('profiler overhead: ours ...');
  const named = await timeOurs(chain(true), opts);
  const bare = await timeOurs(chain(false), opts);
  const config: UNetConfig = { ...UNET_PRESETS.tiny, zeroInit: false };
  const params = unetInit(T.key(21), config, { backend: 'webgpu' });
  const xt = T.normal(T.key(22), [16, 3, 32, 32], { backend: 'webgpu' });
  const t = T.tensor(
    Array.from({ length: 16 }, (_, i) => i * 60),
    { backend: 'webgpu' },
  );
  const forward = async () => {
    const eps = unetApply(params, config, xt, t, xt);
    await T.sync(eps);
    eps.dispose();
  };
  const plain = await timeOurs(forward, opts);
  const profiled = await timeOurs(async () => void (await T.profile(forward)), opts);
  T.treeLeaves([params, xt, t, x]).forEach((v) => v.dispose());
  return {
    id: 'profiler overhead',
    work:
      'ours: 2,000 elementwise ops each inside named() with profiling off; ' +
      'peers: the same ops bare, and (profiling on) a tiny-UNet forward b16 inside profile() vs outside',
    ours: named,
    peers: [
      withRatio(named, { peer: 'same ops, no named() (off: ratio ~1)', status: 'timed', stats: bare }),
      {
        peer: 'unet tiny forward: inside profile() / outside (on)',
        status: 'timed',
        stats: plain,
        ratio: profiled.median / plain.median,
      },
    ],
  };
}

/** The rows, in order; `software` adapters get the base UNet at batch 2 (a GPU: 16). */
export function networkRows(opts: NetworkOptions): { readonly id: string; readonly run: () => Promise<NetworkRow> }[] {
  const baseBatch = opts.software ? 2 : 16;
  const rows = [
    { id: 'unet tiny forward', run: () => unetRow('tiny', 16, 32, false, opts) },
    // Small batches, where per-op host cost weighs most: one image (restore one face), and 8 (the
    // reference LRPO step's rollout: 2 inputs x 4 candidates per DDIM step).
    { id: 'unet tiny forward b1', run: () => unetRow('tiny', 1, 32, false, opts) },
    { id: 'unet tiny forward b8', run: () => unetRow('tiny', 8, 32, false, opts) },
    // The same recorded once and replayed (jit), as the sampler runs its UNet.
    { id: 'unet tiny forward b1 jit', run: () => unetRow('tiny', 1, 32, false, opts, true) },
    { id: 'unet tiny forward b8 jit', run: () => unetRow('tiny', 8, 32, false, opts, true) },
    { id: 'unet tiny forward+backward', run: () => unetRow('tiny', 16, 32, true, opts) },
    { id: 'unet tiny forward+backward jit', run: () => unetRow('tiny', 16, 32, true, opts, true) },
    // The demo's policy (tiny at twice the width): its rollout's forward at the demo's 4 x 8 and a training batch.
    { id: 'unet small forward b32', run: () => unetRow('small', 32, 32, false, opts, true) },
    { id: 'unet small forward+backward', run: () => unetRow('small', 16, 32, true, opts, true) },
    { id: 'unet base forward', run: () => unetRow('base', baseBatch, 128, false, opts) },
    { id: 'unet base forward+backward', run: () => unetRow('base', baseBatch, 128, true, opts) },
    { id: 'face recognition', run: () => faceRow('recognition', 8, opts) },
    { id: 'face landmarks', run: () => faceRow('landmarks', 8, opts) },
    { id: 'lrpo step demo', run: () => lrpoStepBench(opts) },
    { id: 'lrpo step reference', run: () => lrpoStepBench(opts, REFERENCE_LRPO_SCALE, TINY_PHOTO_SFT) },
    { id: 'profiler overhead', run: () => profilerRow(opts) },
  ];
  return rows.filter((r) => !opts.filter || r.id.includes(opts.filter));
}
