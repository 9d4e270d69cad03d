// The fused group normalisation (`groupNormAct`: one kernel forward, one for the input gradient
// that also leaves the parameter sums) against the same layer composed of public ops as it ran
// before the primitive (standardize, affine, SiLU and their rules), on
// one layer's forward and its forward + backward in x, w and b, the two arms interleaved round by
// round in one process. For a device session: the fused kernels walk a group channel by channel,
// which on a GPU's 128 lanes leaves most idle where a channel holds few values (8x8 maps).
//   npx tsx scripts/group-norm-ab.ts [N,C,H,W=80,16,32,32] [groups=4] [rounds=11]
import * as T from '../src/index.js';
import { timedCall } from './variant-ab-timing.js';

const [shapeArg = '80,16,32,32', groupsArg = '4', roundsArg = '11'] = process.argv.slice(2);
const [n, c, h, w] = shapeArg.split(',').map(Number);
const [groups, rounds] = [Number(groupsArg), Number(roundsArg)];
if (![n, c, h, w, groups, rounds].every((v) => Number.isInteger(v) && v > 0) || c % groups !== 0) {
  console.error('usage: group-norm-ab.ts [N,C,H,W] [groups dividing C] [rounds]');
  process.exit(2);
}
await T.setBackend('webgpu');
const x = T.keep(T.uniform(T.key(1), [n, c, h, w], { min: -2, max: 2 }));
const weight = T.keep(T.uniform(T.key(2), [c], { min: 0.5, max: 1.5 }));
const bias = T.keep(T.uniform(T.key(3), [c], { min: -0.5, max: 0.5 }));
const r = T.keep(T.uniform(T.key(4), [n, c, h, w]));

const layers: Record<string, (x: T.Tensor, w: T.Tensor, b: T.Tensor) => T.Tensor> = {
  fused: (tx, tw, tb) => T.groupNorm(tx, { groups, weight: tw, bias: tb, activation: 'silu' }),
  // What groupNorm + silu ran before the primitive: standardize over the groups, then the affine
  // and SiLU (the forward takes them as standardize's epilogue), each with its own rule.
  // The intermediates are freed before anything runs (a scope), as inside a network, so the
  // standardized values are never stored.
  composed: (tx, tw, tb) =>
    T.scope(() => {
      const y = T.reshape(T.standardize(T.reshape(tx, [n, groups, (c / groups) * h * w])), [n, c, h, w]);
      return T.silu(T.add(T.mul(y, T.reshape(tw, [1, c, 1, 1])), T.reshape(tb, [1, c, 1, 1])));
    }),
};
/** Calls a timing covers, then one wait for the device (a lone call would be mostly the wait). */
const CALLS = 5;
const works: Record<string, (layer: (typeof layers)[string]) => () => Promise<void>> = {
  forward: (layer) => async () => {
    const ys = Array.from({ length: CALLS }, () => layer(x, weight, bias));
    await T.sync(...ys);
    T.dispose(ys);
  },
  'forward + backward': (layer) => {
    const vg = T.valueAndGrad((tx: T.Tensor, tw: T.Tensor, tb: T.Tensor) => T.sum(T.mul(layer(tx, tw, tb), r)), {
      argnums: [0, 1, 2],
    });
    return async () => {
      const outs = Array.from({ length: CALLS }, () => {
        const [v, grads] = vg(x, weight, bias);
        return [v, ...grads];
      }).flat();
      await T.sync(...outs);
      T.dispose(outs);
    };
  },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`group norm + SiLU over [${n}, ${c}, ${h}, ${w}], ${groups} groups, ${rounds} rounds`);
for (const [work, make] of Object.entries(works)) {
  const runs = Object.fromEntries(Object.entries(layers).map(([k, layer]) => [k, make(layer)]));
  const wall: Record<string, number[]> = { fused: [], composed: [] };
  for (let round = 0; round <= rounds; round++) {
    for (const arm of Object.keys(runs)) {
      const { wallMs } = await timedCall(runs[arm]);
      if (round > 0) wall[arm].push(wallMs / CALLS); // round 0 compiles
    }
  }
  const [f, k] = [median(wall.fused), median(wall.composed)];
  console.log(
    `  ${work}: fused ${f.toFixed(2)} ms, composed ${k.toFixed(2)} ms, composed / fused ${(k / f).toFixed(2)}`,
  );
}
T.dispose([x, weight, bias, r]);
await T.shutdown();
