// Writes the network rows and the step profiles as JSON and markdown beside the kernel results.
import { writeFileSync } from 'node:fs';
import { profileTables } from '../../src/cli/profile-steps.js';
import type * as T from '../../src/index.js';
import { fmtSteal } from '../host-steal.js';
import { fmtMs } from '../report.js';
import type { Stats } from '../timing.js';
import type { NetworkRow } from './suite.js';

export interface NetworkResults {
  readonly adapter: string;
  readonly date: string;
  readonly node: string;
  readonly reps: number;
  /** Whether our kernel variants were chosen by measurement (absent in results from before it was recorded). */
  readonly tuning?: boolean;
  readonly rows: readonly NetworkRow[];
}

const iqr = (s: Stats): string => `${fmtMs(s.median)} (${fmtMs(s.q1)}-${fmtMs(s.q3)}, n=${s.reps})`;

export function renderNetworks(res: NetworkResults): string {
  const lines = [
    `# Network rows: ${res.adapter}`,
    '',
    `${res.date}, Node ${res.node}; up to ${res.reps} timed runs per side after a warm-up (median, interquartile range, ms).`,
    'Ours runs on WebGPU; every peer is checked equal to ours (max |ours - peer| / max |peer|) before it is timed.',
    ...(res.tuning === undefined
      ? []
      : [`Our kernel variants: ${res.tuning ? 'tuned (chosen by measurement)' : 'the fixed defaults (untuned)'}.`]),
    "ours / peer: below 1 we are faster. Host steal: the share of CPU time the machine's host gave other tenants while a row ran (/proc/stat); rows with much of it ran slow on both sides, unevenly.",
    '',
    '| work | ours ms | peer | peer ms | ours / peer | check (rel. err) |',
    '| :-- | --: | :-- | --: | --: | :-- |',
  ];
  for (const row of res.rows) {
    for (const [i, p] of row.peers.entries()) {
      const check =
        p.maxRelErr === undefined
          ? ''
          : `out ${p.maxRelErr.toExponential(1)}${p.gradMaxRelErr === undefined ? '' : `, grad ${p.gradMaxRelErr.toExponential(1)}`}`;
      const peerMs = p.stats ? iqr(p.stats) : `${p.status}: ${p.reason ?? ''}`;
      lines.push(
        `| ${i === 0 ? row.id : ''} | ${i === 0 ? iqr(row.ours) : ''} | ${p.peer} | ` +
          `${peerMs} | ${p.ratio === undefined ? '' : `**${p.ratio.toFixed(2)}x**`} | ${check} |`,
      );
    }
  }
  lines.push(
    '',
    ...res.rows.map(
      (r) =>
        `- ${r.id}: ${r.work}.` +
        (r.hostSteal === undefined ? '' : ` Host steal while the row ran: ${fmtSteal(r.hostSteal)}.`),
    ),
  );
  return lines.join('\n') + '\n';
}

export function writeNetworkResults(base: string, res: NetworkResults): void {
  writeFileSync(`${base}.json`, JSON.stringify(res, null, 1) + '\n');
  writeFileSync(`${base}.md`, renderNetworks(res));
}

/** The committed step profiles: the tables, under a heading each, with the reading written by hand below them. */
export function renderProfiles(adapter: string, profiles: Readonly<Record<string, T.Profile<unknown>>>): string {
  const parts = [
    `# Step profiles: ${adapter}`,
    '',
    'Each profiled after one warm-up step (compiles and tuning done). Device times from GPU timestamps, one pass per dispatch.',
    '',
  ];
  for (const [name, p] of Object.entries(profiles)) {
    parts.push(
      ...profileTables(p, [
        [`## ${name}`, { by: 'kernel', top: 15 }],
        ['### By phase', { by: 'scope', depth: 1 }],
        ['### By scope', { by: 'scope', top: 20 }],
      ]),
    );
  }
  return parts.join('\n');
}
