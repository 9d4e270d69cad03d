// profile()'s report: a markdown table of rows (kernel, scope, calls, time, share, throughput),
// grouped as asked, and an SVG bar chart of the largest entries.
import type { Profile, ProfileRow } from './profile.js';
import { addTotals } from './totals.js';

export interface TableOptions {
  /** Rows to show (default 25); the rest are summed into one line. */
  readonly top?: number;
  /** Group rows by kernel and scope (default), by kernel alone, or by scope alone. */
  readonly by?: 'kernel+scope' | 'kernel' | 'scope';
  /** Cut scope paths to their first `depth` names ('update/unet/up2.res0' at depth 1: 'update'). */
  readonly depth?: number;
}

type Grouped = Pick<ProfileRow, 'calls' | 'gpuMs' | 'hostMs' | 'compiles' | 'flops' | 'bytes'> & {
  readonly kernel: string;
  readonly scope: string;
};

const cut = (scope: string, depth: number | undefined): string =>
  depth === undefined ? scope : scope.split('/').slice(0, depth).join('/');

const keyOf = (r: ProfileRow, by: NonNullable<TableOptions['by']>, depth?: number): [string, string] =>
  by === 'kernel' ? [r.kernel, '*'] : by === 'scope' ? ['*', cut(r.scope, depth)] : [r.kernel, cut(r.scope, depth)];

/** The rows summed per group, largest time first (device time, or host time where nothing was device-timed). */
export function groupRows(
  profile: Pick<Profile<unknown>, 'rows' | 'timing'>,
  by: NonNullable<TableOptions['by']> = 'kernel+scope',
  depth?: number,
): Grouped[] {
  if (depth !== undefined && !(Number.isInteger(depth) && depth >= 1))
    throw new RangeError(`profile table: depth must be a positive integer, got ${depth}.`);
  const groups = new Map<string, { -readonly [K in keyof Grouped]: Grouped[K] }>();
  for (const r of profile.rows) {
    const [kernel, scope] = keyOf(r, by, depth);
    const key = `${kernel}\u0000${scope}`;
    let g = groups.get(key);
    if (!g) {
      g = { kernel, scope, calls: 0, gpuMs: 0, hostMs: 0, compiles: 0 };
      groups.set(key, g);
    }
    addTotals(g, r);
  }
  const time = timeOf(profile);
  return [...groups.values()].sort((a, b) => time(b) - time(a) || b.calls - a.calls);
}

/** The time a row is ranked and charted by: device time, or host time when the adapter could not time kernels. */
export const timeOf =
  (profile: Pick<Profile<unknown>, 'timing'>) =>
  (r: Pick<ProfileRow, 'gpuMs' | 'hostMs'>): number =>
    profile.timing === 'none' ? r.hostMs : r.gpuMs;

const fmt = (x: number, digits = 2): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(digits));
const rate = (amount: number | undefined, ms: number, unit: number): string =>
  amount === undefined || ms <= 0 ? '' : fmt(amount / unit / (ms / 1e3));

const TIMING_NOTE: Record<Profile<unknown>['timing'], string> = {
  'timestamp-query':
    'device times from GPU timestamps around each dispatch (each in its own compute pass while profiling)',
  host: 'CPU backend: each op ran synchronously and was timed on the host',
  mixed: 'WebGPU rows from GPU timestamps, CPU rows timed on the host',
  none: 'this WebGPU adapter has no timestamp-query: no kernel was timed; rows are ranked by host recording time, and only the wall time is a real total',
};

/** How much of the device total the timed passes themselves account for (Profile.dispatchFloorMs). */
function floorNote(profile: Profile<unknown>): string {
  const floor = profile.dispatchFloorMs;
  if (floor === undefined) return '';
  const runs = profile.rows.filter((r) => r.backend === 'webgpu').reduce((n, r) => n + r.calls, 0);
  return (
    ` A trivial dispatch read ${fmt(floor * 1000)} µs in its timed pass on this device, so about ` +
    `${fmt(Math.min(runs * floor, profile.gpuMs))} ms of the device time is that per-dispatch floor: small kernels read high.`
  );
}

export function profileTable(profile: Profile<unknown>, options: TableOptions = {}): string {
  const top = options.top ?? 25;
  const groups = groupRows(profile, options.by, options.depth);
  const time = timeOf(profile);
  const total = groups.reduce((n, g) => n + time(g), 0);
  const lines = [
    `${profile.dispatches} kernel runs; device ${fmt(profile.gpuMs)} ms of ${fmt(profile.wallMs)} ms wall (${TIMING_NOTE[profile.timing]}).${floorNote(profile)}`,
    '',
    '| kernel | scope | calls | ms | % | GFLOP/s | GB/s | compiles |',
    '| :-- | :-- | --: | --: | --: | --: | --: | --: |',
  ];
  const row = (g: Grouped): string => {
    const ms = time(g);
    return (
      `| ${g.kernel} | ${g.scope === '' ? '(top)' : g.scope} | ${g.calls} | ` +
      `${fmt(ms)} | ${total > 0 ? fmt((100 * ms) / total, 1) : ''} | ` +
      `${rate(g.flops, ms, 1e9)} | ${rate(g.bytes, ms, 1e9)} | ${g.compiles || ''} |`
    );
  };
  lines.push(...groups.slice(0, top).map(row));
  const rest = groups.slice(top);
  if (rest.length > 0) {
    const sum = (f: (g: Grouped) => number): number => rest.reduce((n, g) => n + f(g), 0);
    const ms = sum(time);
    lines.push(
      `| (${rest.length} more) | | ${sum((g) => g.calls)} | ${fmt(ms)} | ` +
        `${total > 0 ? fmt((100 * ms) / total, 1) : ''} | | | ${sum((g) => g.compiles) || ''} |`,
    );
  }
  return lines.join('\n') + '\n';
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A horizontal bar chart (SVG) of the `top` largest groups' time. */
export function profileSvg(
  profile: Profile<unknown>,
  options: TableOptions & { readonly title?: string } = {},
): string {
  const groups = groupRows(profile, options.by ?? 'kernel', options.depth).slice(0, options.top ?? 15);
  const time = timeOf(profile);
  const max = Math.max(1e-9, ...groups.map(time));
  const label = (g: Grouped): string =>
    g.kernel === '*' ? g.scope || '(top)' : g.scope === '*' ? g.kernel : `${g.kernel} @ ${g.scope || '(top)'}`;
  const labelWidth = Math.min(460, 12 + 6.6 * Math.max(10, ...groups.map((g) => label(g).length)));
  const barWidth = 420;
  const rowH = 20;
  const top = 44;
  const width = Math.ceil(labelWidth + barWidth + 90);
  const height = top + rowH * groups.length + 16;
  const unit = profile.timing === 'none' ? 'host ms' : 'ms';
  const bars = groups.map((g, i) => {
    const y = top + i * rowH;
    const w = (barWidth * time(g)) / max;
    return [
      `<text x="${labelWidth - 6}" y="${y + 14}" text-anchor="end">${escapeXml(label(g))}</text>`,
      `<rect x="${labelWidth}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="#0072B2"/>`,
      `<text x="${(labelWidth + w + 5).toFixed(1)}" y="${y + 14}">${fmt(time(g))} ${unit} (${g.calls})</text>`,
    ].join('');
  });
  const title =
    options.title ??
    `Top kernels: ${fmt(profile.gpuMs)} ms device, ${fmt(profile.wallMs)} ms wall, ${profile.dispatches} runs`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    ...bars,
    `</svg>`,
  ].join('\n');
}
