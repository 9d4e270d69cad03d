// Nearest-neighbour upsampling of NCHW by integer factors in one pass. Doubling along W from
// 4-aligned rows (the UNet's): a thread widens one vec4 of input into two vec4s of each of its output
// rows. Otherwise a thread writes 4 neighbouring output pixels of a row (one vec4 store where rows
// are a multiple of 4), reading the input through its strides. The factors are WGSL constants (the
// divisions by them are shifts or multiplies); as a broadcast view copied through a reshape, every
// element divided its index by six uniform dims (docs/measurements.md).
import type { View } from '../../backend.js';
import type { WgslScalar } from '../../elementwise-ops.js';
import type { GpuContext } from '../context.js';
import type { WebGpuStorage } from '../storage.js';
import { cachedSource } from '../source-cache.js';
import { rowsAlignedTo4 } from '../layout.js';
import { kernelSource, storageBinding, threadPerItemEntry, u32Fields, UniformLayout, wgslScalar } from '../wgsl.js';

const WORKGROUP = 64;
/** Output pixels a thread writes. */
const RUN = 4;

const layout = new UniformLayout({
  ...u32Fields('count', 'quads', 'c', 'h', 'oh', 'ow', 'x_off'),
  xst: 'vec4',
});

/**
 * The thread's run q of row r (rows of `rows` per plane, `y` the row within its plane) and the
 * input row's start, `base`, for input row `inRow` of the plane.
 */
const runOfRow = (rows: string, y: string, inRow: string): string => `let q = idx % p.quads;
let r = idx / p.quads;
let ${y} = r % ${rows};
let plane = r / ${rows};
let base = p.x_off + (plane / p.c) * p.xst[0] + (plane % p.c) * p.xst[1] + (${inRow}) * p.xst[2];`;

function upsampleSource(t: WgslScalar, sh: number, sw: number, vec4: boolean): string {
  const lanes = Array.from({ length: RUN }, (_, j) => j);
  const value = (j: number) => `x[base + min((ox0 + ${j}u) / ${sw}u, last) * p.xst[3]]`;
  return kernelSource(
    `// upsampleNearest2d:${sh}x${sw}${vec4 ? ':vec4' : ''}: a thread writes ${RUN} output pixels of a row`,
    layout.declaration(),
    vec4
      ? `@group(0) @binding(1) var<storage, read_write> out: array<vec4<${t}>>;\n${storageBinding(2, 'x', t, 'read')}`
      : `${storageBinding(1, 'out', t, 'read_write')}\n${storageBinding(2, 'x', t, 'read')}`,
    threadPerItemEntry(
      WORKGROUP,
      'p.count',
      `${runOfRow('p.oh', 'oy', `oy / ${sh}u`)}
let ox0 = q * ${RUN}u;
// The last input column: a ragged run's lanes past the row read it and store nothing.
let last = p.ow / ${sw}u - 1u;
let at = r * p.ow + ox0;
${
  vec4
    ? `out[at / 4u] = vec4<${t}>(${lanes.map(value).join(', ')});`
    : lanes.map((j) => `if (ox0 + ${j}u < p.ow) { out[at + ${j}u] = ${value(j)}; }`).join('\n')
}`,
    ),
  );
}

/**
 * Doubling along W from 4-aligned input rows (the UNet's x2 upsampling): a thread loads 4 input
 * pixels as one vec4 and stores the 8 output pixels they make in each of their `sh` output rows,
 * two vec4 stores a row, so the index arithmetic and the load serve 8 sh outputs.
 */
function doublingSource(t: WgslScalar, sh: number): string {
  return kernelSource(
    `// upsampleNearest2d:${sh}x2:rows: a thread widens 4 input pixels of a row into 8 x ${sh} outputs`,
    layout.declaration(),
    `@group(0) @binding(1) var<storage, read_write> out: array<vec4<${t}>>;\n@group(0) @binding(2) var<storage, read> x: array<vec4<${t}>>;`,
    threadPerItemEntry(
      WORKGROUP,
      'p.count',
      `${runOfRow('p.h', 'iy', 'iy')}
let v = x[base / 4u + q];
let lo = vec4<${t}>(v.x, v.x, v.y, v.y);
let hi = vec4<${t}>(v.z, v.z, v.w, v.w);
${Array.from(
  { length: sh },
  (_, dy) => `let row${dy} = ((plane * p.oh + iy * ${sh}u + ${dy}u) * p.ow) / 4u + 2u * q;
out[row${dy}] = lo;
out[row${dy} + 1u] = hi;`,
).join('\n')}`,
    ),
  );
}

/** Each pixel of the NCHW view `x` repeated sh x sw times into `out` (contiguous). */
export function upsampleNearest2d(ctx: GpuContext, x: View, [sh, sw]: readonly [number, number]): WebGpuStorage {
  const [n, c, h, w] = x.shape;
  const [oh, ow] = [h * sh, w * sw];
  const out = ctx.alloc(x.dtype, n * c * oh * ow);
  if (out.size === 0) return out;
  const t = wgslScalar(x.dtype);
  const doubling = sw === 2 && w % 4 === 0 && rowsAlignedTo4(x);
  // Doubling: a thread per 4 input pixels; else a thread per 4 output pixels of a row.
  const quads = doubling ? w / 4 : Math.ceil(ow / RUN);
  const count = n * c * (doubling ? h : oh) * quads;
  const vec4 = ow % RUN === 0;
  ctx.dispatch({
    kernel: `upsampleNearest2d:${x.dtype}${doubling ? ':rows' : vec4 ? ':vec4' : ''}`,
    source: cachedSource(JSON.stringify(['upsampleNearest2d', t, sh, sw, vec4, doubling]), () =>
      doubling ? doublingSource(t, sh) : upsampleSource(t, sh, sw, vec4),
    ),
    uniform: layout.pack({ count, quads, c, h, oh, ow, x_off: x.offset, xst: x.strides }),
    storage: [ctx.bind(out), ctx.bind(x)],
    workgroups: Math.ceil(count / WORKGROUP),
  });
  return out;
}
