// What a WGSL operation costs on this adapter, measured with raw WebGPU (no engine code in the
// timed path): the fixed cost of a dispatch, and the cost per 8-lane operation of a storage load
// (uniform address, per-lane address, vec4), the same from a uniform buffer, workgroup memory and
// a texture, a subgroup shuffle and a fused multiply-add, each in an unrolled loop. On lavapipe these numbers decide kernel design (docs/measurements.md, "What
// operations cost on lavapipe"): a storage load costs 10-30x an FMA there.
//   npx tsx scripts/lavapipe-costs.ts [GHz]   (the clock used to turn ns into cycles; default 3)
import { availableParallelism } from 'node:os';
import { acquireDevice, BufferUsage } from '../src/kernels/webgpu/device.js';
import { summarize } from '../bench/timing.js';

const ghz = Number(process.argv[2] ?? 3);
const gpu = await acquireDevice();
const device = gpu.device;
/** GPUTextureUsage.COPY_DST | TEXTURE_BINDING (dawn.node installs no GPUTextureUsage). */
const TEXTURE_USAGE = 0x02 | 0x04;
const N = 1 << 20;
const source = device.createBuffer({ size: N * 16, usage: BufferUsage.STORAGE });
const sink = device.createBuffer({ size: 1 << 20, usage: BufferUsage.STORAGE });
const uniforms = device.createBuffer({ size: 1024 * 16, usage: BufferUsage.UNIFORM });
const texture = (format: GPUTextureFormat) =>
  device.createTexture({ size: [256, 256], format, usage: TEXTURE_USAGE }).createView();
const [rgba, red] = [texture('rgba32float'), texture('r32float')];

/** Median ms of `runs` submissions of `record`, after one warm-up (compiles). */
async function timeSubmits(record: (pass: GPUComputePassEncoder) => void, runs = 7): Promise<number> {
  const once = async () => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    record(pass);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await once();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await once();
    ms.push(performance.now() - t0);
  }
  return summarize(ms).median;
}

/** A pipeline for `code` and a bind group of `resources` (buffers or texture views) at bindings 0, 1, ... */
function pipeline(
  code: string,
  resources: readonly (GPUBuffer | GPUTextureView)[],
): { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup } {
  const p = device.createComputePipeline({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code }), entryPoint: 'main' },
  });
  const entries = resources.map((r, binding) => ({ binding, resource: 'size' in r ? { buffer: r } : r }));
  return { pipeline: p, bindGroup: device.createBindGroup({ layout: p.getBindGroupLayout(0), entries }) };
}

// 1. A dispatch's fixed cost: 400 one-workgroup dispatches of a one-line kernel in one pass.
{
  const { pipeline: p, bindGroup } = pipeline(
    `@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { a[g.x] = a[g.x] + 1.0; }`,
    [sink],
  );
  const DISPATCHES = 400;
  const ms = await timeSubmits((pass) => {
    pass.setPipeline(p);
    pass.setBindGroup(0, bindGroup);
    for (let i = 0; i < DISPATCHES; i++) pass.dispatchWorkgroups(1);
  });
  console.log(`dispatch (1 workgroup of 64): ${((ms / DISPATCHES) * 1000).toFixed(1)} us each`);
}

// 2. Per-operation costs: 64 workgroups x 64 lanes, a loop of ITERS x UNROLL operations each.
const ITERS = 512;
const UNROLL = 8;
const unrolled = (op: (u: number) => string) => Array.from({ length: UNROLL }, (_, u) => op(u)).join('\n    ');
const at = (u: number) => `i * ${UNROLL}u + ${u}u`;
/** Each operation's loop body and how many of it one iteration does. */
const OPS: Record<string, { readonly body: string; readonly ops: number }> = {
  'loop iteration alone': { body: '', ops: 1 },
  'storage load, uniform address': { body: unrolled((u) => `acc${u} += x[(${at(u)}) & ${N - 1}u];`), ops: UNROLL },
  'storage load, per-lane address': {
    body: unrolled((u) => `acc${u} += x[((${at(u)}) * 8u + lane) & ${N - 1}u];`),
    ops: UNROLL,
  },
  'storage load, vec4 per lane': {
    body: unrolled(
      (u) => `{ let v = xv[((${at(u)}) * 8u + lane) & ${N / 4 - 1}u]; acc${u} += v.x + v.y + v.z + v.w; }`,
    ),
    ops: UNROLL,
  },
  'storage load, vec4, uniform address': {
    body: unrolled((u) => `{ let v = xv[(${at(u)}) & ${N / 4 - 1}u]; acc${u} += v.x + v.y + v.z + v.w; }`),
    ops: UNROLL,
  },
  // Other places a kernel can read from: do any of them escape the lane-by-lane storage load?
  'uniform-buffer load, uniform address': {
    body: unrolled((u) => `acc${u} += ub[(${at(u)}) & 1023u].x;`),
    ops: UNROLL,
  },
  'uniform-buffer load, vec4, uniform address': {
    body: unrolled((u) => `{ let v = ub[(${at(u)}) & 1023u]; acc${u} += v.x + v.y + v.z + v.w; }`),
    ops: UNROLL,
  },
  'workgroup load, uniform address': { body: unrolled((u) => `acc${u} += sh[(${at(u)}) & 1023u];`), ops: UNROLL },
  'workgroup load, per-lane address': {
    body: unrolled((u) => `acc${u} += sh[((${at(u)}) * 8u + lane) & 1023u];`),
    ops: UNROLL,
  },
  'texture load (r32float), per-lane address': {
    body: unrolled(
      (u) => `acc${u} += textureLoad(tr, vec2u(((${at(u)}) * 8u + lane) & 255u, ((${at(u)}) >> 5u) & 255u), 0).x;`,
    ),
    ops: UNROLL,
  },
  'texture load (rgba32float), per-lane address': {
    body: unrolled(
      (u) =>
        `{ let v = textureLoad(tx, vec2u(((${at(u)}) * 8u + lane) & 255u, ((${at(u)}) >> 5u) & 255u), 0); acc${u} += v.x + v.y + v.z + v.w; }`,
    ),
    ops: UNROLL,
  },
  // Index arithmetic: a shape held in a uniform divides by a value the compiler cannot see.
  'u32 divide, run-time divisor': {
    body: unrolled((u) => `acc${u} += f32(((${at(u)}) * 8u + lane) / dv);`),
    ops: UNROLL,
  },
  'u32 divide, constant divisor': {
    body: unrolled((u) => `acc${u} += f32(((${at(u)}) * 8u + lane) / 7u);`),
    ops: UNROLL,
  },
  "u32 to f32 alone (the divides' add)": {
    body: unrolled((u) => `acc${u} += f32(((${at(u)}) * 8u + lane));`),
    ops: UNROLL,
  },
  subgroupShuffle: { body: unrolled((u) => `acc${u} += subgroupShuffle(own, ${u}u);`), ops: UNROLL },
  // Four dependent FMAs a slot, eight independent chains: throughput, not latency.
  'fma (per FMA)': {
    body: unrolled((u) => [1.0001, 0.9999, 1.0002, 0.9998].map((c) => `acc${u} = fma(acc${u}, ${c}, own);`).join(' ')),
    ops: 4 * UNROLL,
  },
};
const GROUPS = 64;
/** Cycles of an iteration of the empty loop (measured first), taken off every other row. */
let loopCycles = 0;
for (const [name, { body, ops }] of Object.entries(OPS)) {
  const { pipeline: p, bindGroup } = pipeline(
    `enable subgroups;
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> xv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
@group(0) @binding(3) var<uniform> ub: array<vec4<f32>, 1024>;
@group(0) @binding(4) var tx: texture_2d<f32>;
@group(0) @binding(5) var tr: texture_2d<f32>;
var<workgroup> sh: array<f32, 1024>;
@compute @workgroup_size(64) fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3u) {
  let lane = li % 8u;
  let own = x[li];
  let dv = u32(x[li & 0u]) + 7u; // 7 at run time (the buffer is zeros), unknown to the compiler
  ${Array.from({ length: UNROLL }, (_, u) => `var acc${u} = 0.0;`).join(' ')}
  for (var i = 0u; i < ${ITERS}u; i++) {
    ${body}
    acc0 += f32(i);
  }
  // Every binding used, so 'auto' layouts keep them all (the workgroup array holds whatever it holds).
  if (li == 9999u) { acc0 += xv[0].x + ub[0].x + textureLoad(tx, vec2u(0u), 0).x + textureLoad(tr, vec2u(0u), 0).x; sh[li] = 1.0; }
  o[wg.x * 64u + li] = ${Array.from({ length: UNROLL }, (_, u) => `acc${u}`).join(' + ')};
}`,
    [source, source, sink, uniforms, rgba, red],
  );
  const ms = await timeSubmits((pass) => {
    pass.setPipeline(p);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(GROUPS);
  });
  // Cycles per 8-lane operation on one core: the dispatch's time x cores (lavapipe runs a thread
  // per core) x clock / 8-lane operations.
  const vectorIterations = ((GROUPS * 64) / 8) * ITERS;
  const cyclesPerIteration = (ms * 1e6 * ghz * availableParallelism()) / vectorIterations;
  if (body === '') {
    loopCycles = cyclesPerIteration;
    console.log(`${name}: ${cyclesPerIteration.toFixed(1)} cycles`);
  } else console.log(`${name}: ${((cyclesPerIteration - loopCycles) / ops).toFixed(1)} cycles per 8-lane op`);
}
gpu.destroy();
