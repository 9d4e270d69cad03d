// The markdown report of a run: one table row per bench row, ratios against every peer, and the
// PyTorch anchor when bench/torch_anchor.py has added it.
import type { EngineName } from './engines/engine.js';
import type { BenchResults, EngineOutcome, RowResult } from './result.js';

const PEERS: readonly { readonly engine: EngineName; readonly header: string }[] = [
  { engine: 'tfjs-webgpu', header: 'vs tfjs-webgpu' },
  { engine: 'tfjs-cpu', header: 'vs tfjs-cpu' },
  { engine: 'ours-cpu', header: 'vs ours-cpu' },
];

/** Three significant digits, no exponent for the ranges a bench prints. */
export const fmtMs = (ms: number): string =>
  ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
export const fmtRatio = (r: number): string =>
  `${r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;

const fmtThroughput = (row: RowResult): string =>
  row.throughput === undefined
    ? '-'
    : `${row.throughput.toFixed(row.throughput >= 100 ? 0 : 1)} ${row.work.kind === 'flops' ? 'GFLOP/s' : 'GB/s'}`;

function peerCell(row: RowResult, engine: EngineName): string {
  const out: EngineOutcome | undefined = row.engines[engine];
  if (!out) return '-';
  switch (out.status) {
    case 'timed':
      return row.speedup[engine] === undefined ? `${fmtMs(out.stats.median)} ms` : fmtRatio(row.speedup[engine]);
    case 'checked':
      return 'checked';
    case 'skipped':
      return `skipped (${out.reason})`;
    case 'error':
      return 'ERROR';
  }
}

function checkCell(row: RowResult): string {
  const failed = row.checks.filter((k) => !k.ok);
  const problems = [
    ...failed.map((k) => `FAIL ${k.engine} vs ${k.reference}: ${k.detail ?? `err ${k.relErr.toExponential(1)}`}`),
    ...Object.entries(row.engines).flatMap(([name, out]) =>
      out.status === 'error' ? [`ERROR ${name}: ${out.error.split('\n')[0].slice(0, 120)}`] : [],
    ),
    ...row.leaks.map((l) => `LEAK ${l}`),
  ];
  if (problems.length > 0) return problems.join('; ').replaceAll('|', '\\|');
  const worst = Math.max(0, ...row.checks.map((k) => k.relErr));
  return `ok (${row.checks.length} checks, err <= ${worst.toExponential(1)})`;
}

function oursCells(row: RowResult): [string, string] {
  const out = row.engines['ours-webgpu'];
  if (out?.status !== 'timed') return [out?.status === 'error' ? 'ERROR' : '-', '-'];
  const s = out.stats;
  return [fmtMs(s.median), `${fmtMs(s.min)}..${fmtMs(s.max)} (IQR ${fmtMs(s.q1)}..${fmtMs(s.q3)}, n=${s.reps})`];
}

/** Geometric mean of our speedup over a peer, across the rows where both were timed. */
export function geomeanSpeedup(rows: readonly RowResult[], engine: EngineName): number | undefined {
  const rs = rows.map((r) => r.speedup[engine]).filter((r): r is number => r !== undefined && r > 0);
  return rs.length === 0 ? undefined : Math.exp(rs.reduce((s, r) => s + Math.log(r), 0) / rs.length);
}

/** What one GPU sample times, for the header. */
const timedSpan = (burst: number): string =>
  burst === 1
    ? 'Each run is timed from recording the op to the device finishing it'
    : `Each GPU sample is the time from recording the op ${burst} times back to back to the device finishing them all, divided by ${burst} ` +
      '(sustained throughput: the submit-and-wait round trip is paid once per burst; CUDA-event timings leave it out);';

export function renderMarkdown(res: BenchResults): string {
  const anchored = res.rows.some((r) => r.anchor);
  const header = [
    'op',
    'shape',
    'ours WebGPU median ms',
    'spread: min..max',
    'ours throughput',
    ...PEERS.map((p) => p.header),
  ];
  if (anchored) header.push('PyTorch CUDA ms', 'vs PyTorch');
  header.push('check');
  const lines = [
    `# Bench: ${res.adapter}`,
    '',
    `${res.mode === 'quick' ? 'Quick (correctness only, small shapes)' : 'Full'} run of ${res.date}, Node ${res.node} on ${res.platform}. ` +
      `tfjs-webgpu reports adapter "${res.tfjsAdapter}".` +
      (res.planned !== undefined && res.rows.length < res.planned
        ? ` **Stopped early: ${res.rows.length} of ${res.planned} rows.**`
        : ''),
    '',
    `Timing: ${res.gpuTiming.warmup} warm-up runs, then up to ${res.gpuTiming.reps} timed runs per GPU engine ` +
      `(fewer past ${res.gpuTiming.budgetMs / 1000} s, at least ${res.gpuTiming.minReps}); CPU engines up to ${res.cpuTiming.reps} runs, ` +
      `skipped above ${(res.cpuMaxFlops / 1e9).toFixed(1)} GFLOP. ${timedSpan(res.gpuTiming.burst ?? 1)} ` +
      `(ours: \`backend.sync()\`; tfjs-webgpu: submit + \`queue.onSubmittedWorkDone()\`), no readback.`,
    '',
    `**Ratios are peer median / our WebGPU median: above 1x we are faster.** Every engine's outputs were compared with ` +
      `tfjs-webgpu's (and ours-webgpu's with ours-cpu's) before timing: max |diff| / max |reference| within the row's tolerance.` +
      (anchored ? ` PyTorch anchor on ${res.anchorDevice ?? 'CUDA'}: fp32, TF32 off, CUDA events, median.` : ''),
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
  ];
  for (const row of res.rows) {
    const cells = [
      row.op,
      row.shape,
      ...oursCells(row),
      fmtThroughput(row),
      ...PEERS.map((p) => peerCell(row, p.engine)),
    ];
    if (anchored) {
      const oursOut = row.engines['ours-webgpu'];
      const oursMs = oursOut?.status === 'timed' ? oursOut.stats.median : undefined;
      cells.push(
        row.anchor ? fmtMs(row.anchor.torchMs) : '-',
        row.anchor && oursMs ? fmtRatio(row.anchor.torchMs / oursMs) : '-',
      );
    }
    cells.push(checkCell(row));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const means = PEERS.map((p) => [p.engine, geomeanSpeedup(res.rows, p.engine)] as const).filter(
    ([, g]) => g !== undefined,
  );
  if (means.length > 0) {
    lines.push('', `Geometric mean speedup: ${means.map(([e, g]) => `vs ${e} ${fmtRatio(g!)}`).join(', ')}.`);
  }
  const failed = res.rows.filter((r) => !r.ok);
  lines.push(
    '',
    failed.length === 0
      ? `All ${res.rows.length} rows passed their checks.`
      : `**${failed.length} of ${res.rows.length} rows FAILED** (see the check column).`,
  );
  return lines.join('\n') + '\n';
}
