// Counter-based random values: Threefry-2x32-20 (Random123's threefry2x32_20) in WGSL u32
// arithmetic, producing the same stream as the CPU (src/random/threefry.ts), bit for bit for
// 'bits' and 'uniform'. Element i uses block j = i / 2 (counter (j, 0)) and word i & 1; a thread
// computes one block and writes both its elements.
import { cachedSource } from '../source-cache.js';
import type { Shape } from '../../../tensor/shape.js';
import { sizeOf } from '../../../tensor/shape.js';
import type { KeyWords, RandomKind } from '../../params.js';
import type { GpuContext } from '../context.js';
import type { WebGpuStorage } from '../storage.js';
import { kernelSource, storageBinding, threadPerItemEntry, UniformLayout } from '../wgsl.js';

const WORKGROUP_SIZE = 64;
/** Rotation constants R_32x2 of Threefry-2x32, cycling every 8 rounds. */
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const;

/** The key schedule word injected after each group of 4 rounds: (x0 += ks[s % 3], x1 += ks[(s + 1) % 3] + s). */
function threefryWgsl(): string {
  const lines: string[] = [];
  for (let round = 0; round < 20; round++) {
    lines.push(`  x0 += x1; x1 = rotl(x1, ${ROTATIONS[round % 8]}u); x1 ^= x0;`);
    if (round % 4 === 3) {
      const s = (round + 1) / 4;
      lines.push(`  x0 += ks[${s % 3}]; x1 += ks[${(s + 1) % 3}] + ${s}u;`);
    }
  }
  return `fn rotl(x: u32, r: u32) -> u32 { return (x << r) | (x >> (32u - r)); }

fn threefry2x32(k0: u32, k1: u32, c0: u32, c1: u32) -> vec2<u32> {
  let ks = array<u32, 3>(k0, k1, 0x1BD11BDAu ^ k0 ^ k1);
  var x0 = c0 + ks[0];
  var x1 = c1 + ks[1];
${lines.join('\n')}
  return vec2<u32>(x0, x1);
}`;
}

/**
 * How each kind turns its block's two words into elements 2j and 2j + 1 (`first`, `second`): a
 * thread takes a block, so Threefry (and Box-Muller's log and square root) run once per two values.
 */
const finish: Record<RandomKind, { scalar: 'i32' | 'f32'; prepare?: string; first: string; second: string }> = {
  bits: { scalar: 'i32', first: 'bitcast<i32>(words.x)', second: 'bitcast<i32>(words.y)' },
  uniform: {
    scalar: 'f32',
    first: 'f32(words.x >> 9u) * 1.1920928955078125e-7',
    second: 'f32(words.y >> 9u) * 1.1920928955078125e-7',
  },
  // Box-Muller over the block: element 2j takes the cosine, 2j+1 the sine.
  normal: {
    scalar: 'f32',
    prepare: `let u1 = (f32(words.x >> 9u) + 0.5) * 1.1920928955078125e-7;
let u2 = f32(words.y >> 9u) * 1.1920928955078125e-7;
// -ln(u1): f32 log is only absolutely accurate near 1, so there use the series in t = 1 - u1
// (exact in f32), which is relatively accurate; truncation error < t^7/7 < 1e-9 for t < 1/16.
let t = 1.0 - u1;
var neg_log_u1 = -log(u1);
if (t < 0.0625) { neg_log_u1 = t * (1.0 + t * (0.5 + t * (0.33333334 + t * (0.25 + t * (0.2 + t * 0.16666667))))); }
let r = sqrt(2.0 * neg_log_u1);
let angle = 6.283185307179586 * u2;`,
    first: 'r * cos(angle)',
    second: 'r * sin(angle)',
  },
};

const layout = new UniformLayout({ n: 'u32', k0: 'u32', k1: 'u32' });

export function random(ctx: GpuContext, kind: RandomKind, key: KeyWords, shape: Shape): WebGpuStorage {
  const n = sizeOf(shape);
  const f = finish[kind];
  const out = ctx.alloc(f.scalar === 'i32' ? 'int32' : 'float32', n);
  if (n === 0) return out;
  const kernel = `random:${kind}`;
  const body = `let i = 2u * idx;
let words = threefry2x32(p.k0, p.k1, idx, 0u);
${f.prepare ?? ''}
out[i] = ${f.first};
if (i + 1u < p.n) { out[i + 1u] = ${f.second}; }`;
  const blocks = Math.ceil(n / 2);
  ctx.dispatch({
    kernel,
    // The kind determines the source (its finishing body and output type).
    source: cachedSource(kernel, () =>
      kernelSource(
        `// ${kernel}: Threefry-2x32-20, one thread per block of two elements`,
        threefryWgsl(),
        layout.declaration(),
        storageBinding(1, 'out', f.scalar, 'read_write'),
        threadPerItemEntry(WORKGROUP_SIZE, '(p.n + 1u) / 2u', body),
      ),
    ),
    uniform: layout.pack({ n, k0: key[0], k1: key[1] }),
    storage: [ctx.bind(out)],
    workgroups: Math.ceil(blocks / WORKGROUP_SIZE),
  });
  return out;
}
