// `npm run bench`: runs the bench suite and writes bench/results/<adapter>.{json,md,svg}.
//   --quick            correctness checks only, small shapes, no timing (CI smoke; seconds)
//   --reps N           timed runs per GPU engine and row (default 7); --warmup N (default 2)
//   --burst N          GPU engines: each timed sample runs the row N times back to back and waits
//                      once (throughput; default 1: one op's whole round trip)
//   --budget-s S       stop repeating a GPU engine on a row after S seconds (default 20)
//   --cpu-budget-s S   the same for CPU engines (default 8)
//   --cpu-max-gflop G  skip CPU peers on rows above G GFLOP (default 2.5)
//   --filter TEXT      only rows whose id contains TEXT
//   --large-matmul / --no-large-matmul   force the 4096^3 row on or off (default: off on software adapters)
//   --out DIR          where to write (default bench/results; with --quick or --filter: bench/results/tmp)
//   --render FILE      re-render FILE's .md and .svg from the JSON (after torch_anchor.py merged)
//   --networks-only    only the network rows (UNets, face nets, an LRPO step vs PyTorch / face-api)
//   --no-networks      only the kernel rows
// A full run (not --quick) runs the network rows after the kernel rows: <adapter>-networks.{json,md}
// and <adapter>-profiles.md (one tiny-UNet SFT step and one LRPO step, profiled).
// Exits 1 when any row failed its checks.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderSpeedupSvg } from './chart.js';
import type { Engine } from './engines/engine.js';
import { createOursEngine, oursAdapterDescription } from './engines/ours.js';
import { createTfjsEngine, loadTfjs, tfjsAdapterInfo } from './engines/tfjs.js';
import { fmtSteal, readCpuTimes, stealShare } from './host-steal.js';
import { fmtMs, fmtRatio, renderMarkdown } from './report.js';
import type { BenchResults, RowResult } from './result.js';
import { runCase, type RunOptions } from './runner.js';
import { buildSuite } from './suite.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '2' },
    burst: { type: 'string', default: '1' },
    'budget-s': { type: 'string', default: '20' },
    'cpu-budget-s': { type: 'string', default: '8' },
    'cpu-max-gflop': { type: 'string', default: '2.5' },
    filter: { type: 'string' },
    'large-matmul': { type: 'boolean' },
    'no-large-matmul': { type: 'boolean' },
    out: { type: 'string' },
    render: { type: 'string' },
    'networks-only': { type: 'boolean', default: false },
    'no-networks': { type: 'boolean', default: false },
  },
  strict: true,
});

// Kernel rows time settled, tuned variants, as their committed rows always have (tuning is the
// library's default on GPUs, opt-in on CPU adapters). Network rows time what a user's program runs:
// the library's own default, so on CPU adapters untuned (there settled choices ran whole LRPO steps
// no faster, in 6 of 8 back-to-back pairs slower: docs/measurements.md). WEBGPU_LRPO_TUNE set by
// the caller decides for both. Tuning is fixed when a device opens, and the kernel suite's engines
// shut theirs before the network rows open one.
const callerTuning = process.env.WEBGPU_LRPO_TUNE;
const withTuning = async <T>(value: string | undefined, body: () => Promise<T>): Promise<T> => {
  const set = (v: string | undefined): void => {
    if (v === undefined) delete process.env.WEBGPU_LRPO_TUNE;
    else process.env.WEBGPU_LRPO_TUNE = v;
  };
  set(value);
  try {
    return await body();
  } finally {
    set(callerTuning);
  }
};
const kernelTuning = callerTuning ?? (args.quick ? undefined : '1');

const positiveNumber = (name: string, v: string | undefined, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`--${name} must be a non-negative number, got ${JSON.stringify(v)}.`);
  return n;
};

/** "mesa software llvmpipe (LLVM 19.1.7, 256 bits)" -> "mesa-software-llvmpipe-llvm-19-1-7-256-bits". */
export const adapterSlug = (description: string): string =>
  description
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 80) || 'unknown-adapter';

/** Software rasterisers, on which a 4096^3 matmul takes minutes per engine. */
const isSoftwareAdapter = (description: string): boolean => /llvmpipe|lavapipe|swiftshader|software/i.test(description);

function writeReports(jsonPath: string, res: BenchResults): void {
  const base = jsonPath.replace(/\.json$/, '');
  writeFileSync(`${base}.md`, renderMarkdown(res));
  writeFileSync(`${base}.svg`, renderSpeedupSvg(res));
}

function progressLine(i: number, n: number, row: RowResult): string {
  const ours = row.engines['ours-webgpu'];
  const timing =
    ours?.status === 'timed'
      ? ` ours ${fmtMs(ours.stats.median)} ms` +
        Object.entries(row.speedup)
          .map(([e, r]) => `, ${e} ${fmtRatio(r)}`)
          .join('')
      : '';
  const err = Math.max(0, ...row.checks.map((k) => k.relErr));
  return `[${i + 1}/${n}] ${row.id}:${timing} | ${row.ok ? 'ok' : 'FAILED'} (max err ${err.toExponential(1)})`;
}

async function startEngines(): Promise<Engine[]> {
  const oursGpu = await createOursEngine('webgpu');
  const oursCpu = await createOursEngine('cpu');
  const tf = await loadTfjs();
  const tfjsGpu = await createTfjsEngine(tf, 'webgpu');
  const tfjsCpu = await createTfjsEngine(tf, 'cpu');
  // tfjs-webgpu first: it is the reference the others are checked against.
  return [tfjsGpu, oursGpu, oursCpu, tfjsCpu];
}

async function runSuite(): Promise<number> {
  const quick = args.quick!;
  const engines = await startEngines();
  const adapter = oursAdapterDescription();
  const tfjsAdapter = tfjsAdapterInfo(await loadTfjs());
  const largeMatmul = args['large-matmul'] ?? (args['no-large-matmul'] ? false : !isSoftwareAdapter(adapter));
  const reps = positiveNumber('reps', args.reps, 7);
  const options: RunOptions = {
    quick,
    gpuTiming: {
      warmup: positiveNumber('warmup', args.warmup, 2),
      reps,
      minReps: Math.min(3, reps),
      budgetMs: positiveNumber('budget-s', args['budget-s'], 20) * 1000,
      burst: Math.max(1, Math.round(positiveNumber('burst', args.burst, 1))),
    },
    cpuTiming: {
      warmup: 0,
      reps: Math.min(reps, 5),
      minReps: Math.min(2, reps),
      budgetMs: positiveNumber('cpu-budget-s', args['cpu-budget-s'], 8) * 1000,
    },
    cpuMaxFlops: positiveNumber('cpu-max-gflop', args['cpu-max-gflop'], 2.5) * 1e9,
  };
  const cases = buildSuite({ quick, largeMatmul }).filter((c) => !args.filter || c.id.includes(args.filter));
  console.log(
    `bench: ${cases.length} rows on "${adapter}" (tfjs-webgpu: "${tfjsAdapter}")${quick ? ', quick: checks only' : ''}`,
  );

  // Only a full, unfiltered run replaces the committed results.
  const outDir = args.out ?? (quick || args.filter ? 'bench/results/tmp' : 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const jsonPath = join(outDir, `${adapterSlug(adapter)}.json`);
  const rows: RowResult[] = [];
  const snapshot = (): BenchResults => ({
    adapter,
    tfjsAdapter,
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    mode: quick ? 'quick' : 'full',
    gpuTiming: options.gpuTiming,
    cpuTiming: options.cpuTiming,
    cpuMaxFlops: options.cpuMaxFlops,
    planned: cases.length,
    rows,
  });
  // Written after every row, so a run stopped early (a device lease running out) keeps its rows.
  const save = (): void => {
    const results = snapshot();
    writeFileSync(`${jsonPath}.partial`, JSON.stringify(results, null, 2) + '\n');
    renameSync(`${jsonPath}.partial`, jsonPath); // a run stopped mid-write keeps the last whole file
    writeReports(jsonPath, results);
  };
  try {
    for (const [i, c] of cases.entries()) {
      const row = await runCase(c, engines, options);
      rows.push(row);
      console.log(progressLine(i, cases.length, row));
      save();
    }
  } finally {
    for (const e of engines) await e.close();
  }
  save();
  const failed = rows.filter((r) => !r.ok);
  console.log(
    `wrote ${jsonPath} (.md, .svg); ${failed.length === 0 ? 'all rows ok' : `${failed.length} row(s) FAILED: ${failed.map((r) => r.id).join('; ')}`}`,
  );
  return failed.length === 0 ? 0 : 1;
}

/** The network rows (bench/networks): ours on WebGPU against PyTorch and face-api, written beside the kernel results. */
async function runNetworks(): Promise<number> {
  const { setBackend, shutdown, backendInfo } = await import('../src/index.js');
  const { networkRows } = await import('./networks/suite.js');
  const { stepProfiles } = await import('./networks/lrpo-step.js');
  const { writeNetworkResults, renderProfiles } = await import('./networks/report.js');
  await setBackend('cpu');
  await setBackend('webgpu');
  try {
    const adapter = backendInfo('webgpu').description;
    const reps = positiveNumber('reps', args.reps, 7);
    const rows = networkRows({
      reps,
      budgetS: positiveNumber('budget-s', args['budget-s'], 20) * 3,
      software: isSoftwareAdapter(adapter),
      filter: args.filter,
      log: (l) => console.log(`  ${l}`),
    });
    const outDir = args.out ?? (args.filter ? 'bench/results/tmp' : 'bench/results');
    mkdirSync(outDir, { recursive: true });
    const base = join(outDir, `${adapterSlug(adapter)}-networks`);
    const done = [];
    let failed = 0;
    for (const [i, row] of rows.entries()) {
      const before = readCpuTimes();
      const r = { ...(await row.run()), hostSteal: stealShare(before, readCpuTimes()) };
      done.push(r);
      failed += r.peers.filter((p) => p.status === 'failed').length;
      console.log(
        `[net ${i + 1}/${rows.length}] ${r.id}: ours ${fmtMs(r.ours.median)} ms` +
          r.peers
            .map((p) => `, ${p.peer} ${p.ratio !== undefined ? `ours/peer ${fmtRatio(p.ratio)}` : p.status}`)
            .join('') +
          (r.hostSteal !== undefined ? `; host steal ${fmtSteal(r.hostSteal)}` : ''),
      );
      writeNetworkResults(base, {
        adapter,
        date: new Date().toISOString(),
        node: process.version,
        reps,
        tuning: backendInfo('webgpu').tuning,
        rows: done,
      });
    }
    if (!args.filter || 'profiles'.includes(args.filter)) {
      writeFileSync(join(outDir, `${adapterSlug(adapter)}-profiles.md`), renderProfiles(adapter, await stepProfiles()));
    }
    console.log(`wrote ${base}.{json,md}${failed ? `; ${failed} peer check(s) FAILED` : ''}`);
    return failed === 0 ? 0 : 1;
  } finally {
    await shutdown();
  }
}

/** --render: rewrite the markdown and SVG from a results JSON (e.g. after the PyTorch anchor was merged in). */
function render(jsonPath: string): number {
  const res = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchResults;
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeReports(jsonPath, res);
  console.log(`rendered ${jsonPath.replace(/\.json$/, '')}.{md,svg}`);
  return res.rows.every((r) => r.ok) ? 0 : 1;
}

try {
  if (args.render) process.exitCode = render(args.render);
  else {
    const kernels = args['networks-only'] ? 0 : await withTuning(kernelTuning, runSuite);
    const networks = args.quick || args['no-networks'] ? 0 : await runNetworks();
    process.exitCode = Math.max(kernels, networks);
  }
} catch (e) {
  console.error(e);
  process.exitCode = 2;
}
