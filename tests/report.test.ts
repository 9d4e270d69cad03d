// The report writer: metric and ablation tables, the hand-written SVG charts, and writeReport's
// folder of report.md + figures. CPU backend only (the grid needs one); no GPU.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend, shutdown } from '../src/index.js';
import {
  ablationDeltaTable,
  ablationTable,
  alignedColumnLabel,
  betterCorner,
  formatTick,
  lineChartSvg,
  metricsTable,
  niceTicks,
  scatterSvg,
  writeReport,
  type MethodEvaluation,
  type ReportData,
} from '../src/report/index.js';
import { meanInterval } from '../src/train/stats.js';

beforeAll(async () => {
  await setBackend('cpu');
});
afterAll(async () => {
  await shutdown();
});

/**
 * A minimal XML well-formedness check (Node has no XML parser): one root element, every tag
 * closed in order, attributes quoted, '&' only in entities, no stray '<' in text. Returns the
 * root element's opening tag.
 */
function checkXml(xml: string): string {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const token = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"<]*")*)\s*(\/?)>/y;
  const entity = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;
  const stack: string[] = [];
  let root = '';
  let rootClosed = false;
  for (let i = 0; i < body.length;) {
    if (body[i] === '<') {
      token.lastIndex = i;
      const m = token.exec(body);
      if (!m) throw new Error(`malformed tag at ${i}: ${body.slice(i, i + 60)}`);
      const [all, close, name, attrs, selfClose] = m;
      for (const a of attrs.matchAll(/="([^"]*)"/g)) checkEntities(a[1], entity);
      if (rootClosed) throw new Error(`content after the root element: ${all}`);
      if (close) {
        const open = stack.pop();
        if (open !== name) throw new Error(`</${name}> closes <${open}>`);
        if (stack.length === 0) rootClosed = true;
      } else {
        if (stack.length === 0) root ||= all;
        if (!selfClose) stack.push(name);
        else if (stack.length === 0) rootClosed = true;
      }
      i += all.length;
    } else {
      const next = body.indexOf('<', i);
      const text = body.slice(i, next === -1 ? body.length : next);
      if (stack.length === 0 && text.trim()) throw new Error(`text outside the root: ${text.slice(0, 40)}`);
      checkEntities(text, entity);
      i = next === -1 ? body.length : next;
    }
  }
  if (stack.length) throw new Error(`unclosed: ${stack.join(' > ')}`);
  if (!rootClosed) throw new Error('no root element');
  return root;
}

function checkEntities(text: string, entity: RegExp): void {
  for (let j = text.indexOf('&'); j !== -1; j = text.indexOf('&', j + 1)) {
    entity.lastIndex = j;
    if (!entity.test(text)) throw new Error(`bare '&' in: ${text}`);
  }
}

/** The numbers printed as tick labels in an SVG chart's `<g class="{axis}-ticks">` group. */
function tickValues(svg: string, axis: 'x' | 'y'): number[] {
  const group = svg.match(new RegExp(`<g class="${axis}-ticks"[^>]*>([\\s\\S]*?)</g>`))![1];
  return [...group.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => Number(m[1]));
}

const evals: MethodEvaluation[] = [
  { method: 'LQ input', dataset: 'synthetic', scores: { psnr: [20, 21, 22], ssim: [0.5, 0.6, 0.7], lmd: [4, 5, 6] } },
  { method: 'SFT', dataset: 'synthetic', scores: { psnr: [24, 25, 26], ssim: [0.7, 0.8, 0.9], lmd: [2, 3, 4] } },
  { method: 'LRPO', dataset: 'synthetic', scores: { psnr: [23, 24, 25], ssim: [0.8, 0.85, 0.9], lmd: [1, 2, 3] } },
  { method: 'SFT', dataset: 'real', scores: { psnr: [30] } },
];

/** A table's rows as arrays of cells (header and alignment rows included). */
const cells = (table: string) =>
  table
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim()),
    );

describe('metricsTable', () => {
  it('has one row per method of the dataset and the present metrics in METRICS order, headed with the better direction', () => {
    const rows = cells(metricsTable(evals, 'synthetic'));
    expect(rows[0]).toEqual(['Method', 'PSNR (dB) ↑', 'SSIM ↑', 'LMD (px) ↓']);
    expect(rows.slice(2).map((r) => r[0])).toEqual(['LQ input', 'SFT', 'LRPO']);
  });

  it('prints mean ± 95% half-width, PSNR to 2 decimals and SSIM to 3', () => {
    const rows = cells(metricsTable(evals, 'synthetic'));
    const psnr = meanInterval([20, 21, 22]);
    const ssim = meanInterval([0.5, 0.6, 0.7]);
    expect(rows[2][1]).toBe(`${psnr.mean.toFixed(2)} ± ${psnr.halfWidth.toFixed(2)}`);
    expect(rows[2][2]).toBe(`${ssim.mean.toFixed(3)} ± ${ssim.halfWidth.toFixed(3)}`);
    expect(rows[2][1]).toBe('21.00 ± 2.48'); // t(2) = 4.303, sd 1, n 3
  });

  it('bolds the highest mean where higher is better and the lowest where lower is better', () => {
    const rows = cells(metricsTable(evals, 'synthetic'));
    const bold = (r: number, c: number) => rows[r][c].startsWith('**');
    expect([bold(2, 1), bold(3, 1), bold(4, 1)]).toEqual([false, true, false]); // PSNR: SFT 25
    expect([bold(2, 2), bold(3, 2), bold(4, 2)]).toEqual([false, false, true]); // SSIM: LRPO 0.85
    expect([bold(2, 3), bold(3, 3), bold(4, 3)]).toEqual([false, false, true]); // LMD: LRPO 2, lower is better
  });

  it('bolds every method tied at the printed precision', () => {
    const tie: MethodEvaluation[] = [
      { method: 'A', dataset: 'd', scores: { psnr: [25.001] } },
      { method: 'B', dataset: 'd', scores: { psnr: [24.999] } },
      { method: 'C', dataset: 'd', scores: { psnr: [20] } },
    ];
    expect(
      cells(metricsTable(tie, 'd'))
        .slice(2)
        .map((r) => r[1]),
    ).toEqual(['**25.00**', '**25.00**', '20.00']);
  });

  it('honours explicit metrics and digits, and marks missing scores with a dash', () => {
    const rows = cells(metricsTable(evals, 'synthetic', ['lmd', 'reward'], { lmd: 1 }));
    expect(rows[0]).toEqual(['Method', 'LMD (px) ↓', 'Reward ↑']);
    expect(rows[2]).toEqual(['LQ input', '5.0 ± 2.5', '—']);
  });

  it('leaves non-finite scores out of the statistics and marks the cell with a footnote', () => {
    const table = metricsTable([{ method: 'A', dataset: 'd', scores: { ssim: [0.5, NaN, 0.7] } }], 'd');
    const m = meanInterval([0.5, 0.7]);
    expect(cells(table)[2][1]).toBe(`${m.mean.toFixed(3)} ± ${m.halfWidth.toFixed(3)}†`);
    expect(table).toContain('† 1 non-finite score left out');
  });

  it('prints a single image as its bare mean and escapes pipes in method names', () => {
    const rows = cells(metricsTable([{ method: 'a|b', dataset: 'r', scores: { psnr: [30] } }], 'r'));
    expect(rows[2]).toEqual(['a\\|b', '30.00']);
  });

  it('rejects a dataset with no evaluations, naming the ones present', () => {
    expect(() => metricsTable(evals, 'nope')).toThrow(/no evaluations for dataset "nope".*"synthetic","real"/);
  });
});

describe('ablationTable', () => {
  it('gives mean ± 95% half-width over the per-seed means, with the seed count, best in bold', () => {
    const table = ablationTable(
      [
        {
          method: 'LRPO',
          perSeed: [
            { psnr: 25, lmd: 2 },
            { psnr: 26, lmd: 3 },
            { psnr: 27, lmd: 4 },
          ],
        },
        { method: 'no KL', perSeed: [{ psnr: 24, lmd: 1 }, { psnr: 24.5 }] },
      ],
      ['psnr', 'lmd'],
    );
    const rows = cells(table);
    expect(rows[0]).toEqual(['Method', 'Seeds', 'PSNR (dB) ↑', 'LMD (px) ↓']);
    const a = meanInterval([25, 26, 27]);
    const b = meanInterval([24, 24.5]);
    expect(rows[2]).toEqual(['LRPO', '3', `**${a.mean.toFixed(2)} ± ${a.halfWidth.toFixed(2)}**`, '3.000 ± 2.484']);
    // The seed without an lmd is skipped, leaving one value: a bare mean.
    expect(rows[3]).toEqual(['no KL', '2', `${b.mean.toFixed(2)} ± ${b.halfWidth.toFixed(2)}`, '**1.000**']);
  });
});

describe('ablationDeltaTable', () => {
  /** A row of `method` whose seeds scored these PSNRs and rewards, seed by seed. */
  const scoredRow = (method: string, seeds: number[], scores: { psnr: number[]; reward: number[] }) => ({
    method,
    seeds,
    perSeed: seeds.map((_, i) => ({ psnr: scores.psnr[i], reward: scores.reward[i] })),
  });
  const sft = scoredRow('SFT', [0, 1, 2], { psnr: [22, 23, 24], reward: [0.5, 0.6, 0.7] });
  it('pairs each method with the baseline by seed and bolds differences beyond the interval', () => {
    // LRPO: reward +0.1 on every seed (no spread: bold), PSNR -1, 0, +1 around 0 (not bold).
    const lrpo = scoredRow('LRPO', [2, 0, 1], { psnr: [25, 21, 23], reward: [0.8, 0.6, 0.7] });
    const rows = cells(ablationDeltaTable([sft, lrpo], 'SFT', ['reward', 'psnr']));
    expect(rows[0]).toEqual(['Method − SFT', 'Seeds', 'Reward ↑', 'PSNR (dB) ↑']);
    expect(rows.length).toBe(3); // header, alignment, one method: the baseline has no row of its own
    const p = meanInterval([-1, 0, 1]);
    expect(rows[2]).toEqual(['LRPO', '3', '**+0.100 ± 0.000**', `0.00 ± ${p.halfWidth.toFixed(2)}`]);
  });
  it('does not sign or bold a consistent difference that rounds to 0', () => {
    const tiny = {
      method: 'tiny',
      seeds: [0, 1, 2],
      perSeed: [{ reward: 0.5 - 1e-6 }, { reward: 0.6 - 1e-6 }, { reward: 0.7 - 1e-6 }],
    };
    expect(cells(ablationDeltaTable([sft, tiny], 'SFT', ['reward']))[2]).toEqual(['tiny', '3', '0.000 ± 0.000']);
  });
  it('leaves out seeds the baseline lacks, and names the rows when the baseline is missing', () => {
    const partial = { method: 'GRPO', seeds: [1, 7], perSeed: [{ psnr: 22 }, { psnr: 30 }] };
    expect(cells(ablationDeltaTable([sft, partial], 'SFT', ['psnr']))[2]).toEqual(['GRPO', '1', '-1.00']);
    expect(() => ablationDeltaTable([partial], 'SFT', ['psnr'])).toThrow(/no row "SFT".*\["GRPO"\]/);
  });
});

describe('niceTicks', () => {
  it('covers the data range with 1, 2 or 5 times a power of ten as the step', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        (a, span) => {
          const t = niceTicks(a, a + span);
          expect(t.lo).toBeLessThanOrEqual(a);
          expect(t.hi).toBeGreaterThanOrEqual(a + span);
          expect(t.values.length).toBeGreaterThanOrEqual(2);
          expect(t.values.length).toBeLessThanOrEqual(12);
          const mantissa = t.step / 10 ** Math.floor(Math.log10(t.step));
          expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-9)).toBe(true);
          const labels = t.values.map((v) => formatTick(v, t.step));
          expect(new Set(labels).size).toBe(labels.length);
        },
      ),
    );
  });

  it('prints tick labels with the decimals their step needs, never -0', () => {
    expect(formatTick(0.25, 0.25)).toBe('0.25');
    expect(formatTick(1500, 500)).toBe('1500');
    expect(formatTick(-1e-17, 0.1)).toBe('0.0');
    expect(formatTick(2.5e9, 5e8)).toBe('2.5e+9');
  });

  it('pads a degenerate range so a lone value sits inside the axis', () => {
    const t = niceTicks(0.5, 0.5);
    expect(t.lo).toBeLessThan(0.5);
    expect(t.hi).toBeGreaterThan(0.5);
    expect(niceTicks(0, 0).values).toContain(0);
  });
});

describe('lineChartSvg', () => {
  const series = [
    {
      name: 'LRPO <ours> & co',
      points: Array.from({ length: 20 }, (_, i) => ({ step: i * 5, mean: 0.3 + i * 0.01, std: 0.05 })),
    },
    {
      name: 'GRPO',
      points: [
        { step: 0, mean: 0.2 },
        { step: 50, mean: NaN },
        { step: 100, mean: 0.9 },
      ],
    },
  ];
  const svg = lineChartSvg({ title: 'Reward', xLabel: 'step', yLabel: 'reward', series });

  it('is a well-formed standalone SVG with the SVG namespace and escaped text', () => {
    expect(checkXml(svg)).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="640" height="400"/);
    expect(svg).toContain('LRPO &lt;ours&gt; &amp; co');
    expect(svg).not.toContain('NaN');
  });

  it('has ticks that cover the data, band included', () => {
    const ys = tickValues(svg, 'y');
    const xs = tickValues(svg, 'x');
    expect(Math.min(...ys)).toBeLessThanOrEqual(0.2);
    expect(Math.max(...ys)).toBeGreaterThanOrEqual(0.9);
    expect(Math.min(...ys)).toBeLessThanOrEqual(0.3 - 0.05); // lower band edge
    expect([Math.min(...xs), Math.max(...xs)]).toEqual([0, 100]);
  });

  it('breaks the line at a NaN point and says so in a note', () => {
    const grpo = svg.match(/<g class="series" data-name="GRPO">([\s\S]*?)<\/g>/)![1];
    expect(grpo.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('&quot;GRPO&quot;: 1 of 3 points non-finite, skipped');
  });

  it('draws a shaded band only for series with std', () => {
    expect(svg.match(/class="band"/g)).toHaveLength(1);
  });

  it('draws empty and all-NaN series without crashing, noting them', () => {
    const empty = lineChartSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        { name: 'a', points: [] },
        { name: 'b', points: [{ step: 1, mean: NaN }] },
      ],
    });
    checkXml(empty);
    expect(empty).toContain('no data to plot');
    expect(empty).toContain('&quot;a&quot;: no points.');
    expect(empty).toContain('&quot;b&quot;: all 1 points non-finite');
    expect(empty).not.toContain('NaN');
  });

  it('pads a flat curve so it sits inside the axes', () => {
    const flat = lineChartSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'a',
          points: [
            { step: 3, mean: 1 },
            { step: 3, mean: 1 },
          ],
        },
      ],
    });
    checkXml(flat);
    const ys = tickValues(flat, 'y');
    expect(Math.min(...ys)).toBeLessThan(1);
    expect(Math.max(...ys)).toBeGreaterThan(1);
    expect(flat).not.toContain('NaN');
  });
});

describe('scatterSvg', () => {
  const points = [
    { label: 'SFT', group: 'synthetic', x: 25, y: 40, xErr: 0.5, yErr: 2 },
    { label: 'LRPO', group: 'synthetic', x: 24.8, y: 33, xErr: 0.5, yErr: 2 },
    { label: 'GRPO', group: 'synthetic', x: 24, y: 36 },
    { label: 'SFT', group: 'real', x: 23, y: 45 },
    { label: 'LRPO', group: 'real', x: 22.5, y: 38 },
    { label: 'broken', group: 'real', x: NaN, y: 1 },
  ];
  const svg = scatterSvg({
    title: 'BRISQUE vs PSNR',
    xLabel: 'PSNR',
    yLabel: 'BRISQUE',
    points,
    arrows: [
      { from: 'SFT', to: 'LRPO' },
      { from: 'SFT', to: 'GRPO' },
      { from: 'SFT', to: 'ghost' },
    ],
    note: 'lower-right is better',
  });

  it('is well-formed with one marker and label per finite point and one legend entry per group', () => {
    checkXml(svg);
    const labels = svg.match(/<g class="labels"[^>]*>([\s\S]*?)<\/g>/)![1];
    expect([...labels.matchAll(/>([^<]+)<\/text>/g)].map((m) => m[1])).toEqual(['SFT', 'LRPO', 'GRPO', 'SFT', 'LRPO']);
    const legend = svg.match(/<g class="legend"[^>]*>([\s\S]*?)<\/g>/)![1];
    expect([...legend.matchAll(/>([^<]+)<\/text>/g)].map((m) => m[1])).toEqual(['synthetic', 'real']);
    expect(svg).not.toContain('NaN');
  });

  it('draws arrows between labels within each group, and notes the ones it cannot draw', () => {
    const arrows = svg.match(/<g class="arrows"[^>]*>([\s\S]*?)<\/g>/)![1];
    expect(arrows.match(/<line /g)).toHaveLength(3); // SFT→LRPO twice (per group), SFT→GRPO once
    expect(svg).toContain('Arrows not drawn (points missing): SFT → ghost.');
  });

  it('draws error bars only where errors are given, and ticks cover the bars', () => {
    const bars = svg.match(/<g class="error-bars"[^>]*>([\s\S]*?)<\/g>/)![1];
    expect(bars.match(/<path /g)).toHaveLength(4);
    expect(Math.max(...tickValues(svg, 'y'))).toBeGreaterThanOrEqual(45);
    expect(Math.min(...tickValues(svg, 'y'))).toBeLessThanOrEqual(31);
    expect(Math.max(...tickValues(svg, 'x'))).toBeGreaterThanOrEqual(25.5);
  });

  it('skips a point with a non-finite coordinate and names it in a note', () => {
    expect(svg).toContain('Skipped (non-finite x or y): broken (real).');
  });

  it('handles all points at one spot and an empty plot', () => {
    const same = scatterSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      points: [
        { label: 'a', group: 'g', x: 2, y: 2 },
        { label: 'b', group: 'g', x: 2, y: 2 },
      ],
    });
    checkXml(same);
    expect(same).not.toContain('NaN');
    const none = scatterSvg({ title: 't', xLabel: 'x', yLabel: 'y', points: [] });
    checkXml(none);
    expect(none).toContain('no data to plot');
  });
});

describe('writeReport', () => {
  const size = 8;
  const image = (v: number) => new Float32Array(3 * size * size).fill(v);
  const data: ReportData = {
    title: 'LRPO run',
    summary: 'LRPO lowers LMD.',
    setup: [
      ['Backend', 'cpu'],
      ['Steps', '10'],
    ],
    evaluations: evals,
    rewardCurves: [
      {
        method: 'LRPO',
        points: [
          { step: 0, mean: 0.1, std: 0.01 },
          { step: 1, mean: 0.2, std: 0.02 },
        ],
      },
    ],
    tradeoff: { x: 'psnr', y: 'lmd' },
    grid: {
      columns: ['LQ', 'SFT', 'LRPO', 'GT'],
      size,
      rows: [
        [image(0), image(0.3), image(0.6), image(1)],
        [image(1), image(0.6), image(0.3), image(0)],
      ],
    },
    sections: [{ heading: 'Ablation', body: '| a | b |\n| - | - |\n| 1 | 2 |' }],
  };

  it('writes report.md and every figure that has data, and report.md links them relatively in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-test-'));
    try {
      const paths = await writeReport(join(dir, 'run'), data);
      expect(paths.map((p) => p.slice(dir.length + 5))).toEqual([
        'report.md',
        'reward.svg',
        'tradeoff.svg',
        'grid.png',
      ]);
      paths.forEach((p) => expect(existsSync(p)).toBe(true));
      const md = readFileSync(paths[0], 'utf8');
      const order = [
        '# LRPO run',
        'LRPO lowers LMD.',
        '## Setup',
        '| Backend | cpu |',
        '### synthetic',
        '### real',
        '![reward](reward.svg)',
        '![tradeoff](tradeoff.svg)',
        '![grid](grid.png)',
        '## Ablation',
      ];
      const at = order.map((s) => md.indexOf(s));
      expect(at.every((i) => i >= 0)).toBe(true);
      expect([...at].sort((a, b) => a - b)).toEqual(at);
      expect(md).toContain('the lower-right is better'); // PSNR higher is better, LMD lower
      expect(md).toContain('Columns, left to right: LQ | SFT | LRPO | GT');
      checkXml(readFileSync(paths[1], 'utf8'));
      const tradeoff = readFileSync(paths[2], 'utf8');
      checkXml(tradeoff);
      expect(tradeoff.match(/<g class="arrows"[^>]*>([\s\S]*?)<\/g>/)![1].match(/<line /g)).toHaveLength(1); // SFT → LRPO on synthetic only
      expect([...readFileSync(paths[3]).subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes only report.md when there are no curves, trade-off or grid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-test-'));
    try {
      const paths = await writeReport(dir, {
        title: 'T',
        setup: [],
        evaluations: evals,
        rewardCurves: [{ method: 'x', points: [{ step: 0, mean: NaN }] }],
      });
      expect(paths).toEqual([join(dir, 'report.md')]);
      expect(readFileSync(paths[0], 'utf8')).not.toContain('![');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a grid row whose image count does not match the columns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-test-'));
    try {
      const bad = { ...data, grid: { columns: ['LQ', 'GT'], size, rows: [[image(0)]] } };
      await expect(writeReport(dir, bad)).rejects.toThrow(/grid.rows\[0\] has 1 images but there are 2 columns/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('report helpers', () => {
  it('names the better corner from each axis direction', () => {
    expect(betterCorner('psnr', 'brisque')).toBe('lower-right');
    expect(betterCorner('lmd', 'identity')).toBe('upper-left');
  });

  it('aligns the grid header so each column name starts above its cell', () => {
    // 16 px cells, 2 px apart, 4 px per glyph: columns start at 0, 18, 36 px -> chars 0, 5, 9.
    const label = alignedColumnLabel(['LQ', 'SFT', 'LONGNAME'], 16, 2, 1);
    expect(label.indexOf('SFT')).toBe(5);
    expect(label.indexOf('LONG')).toBe(9);
    expect(label.endsWith('LONG')).toBe(true); // cut to the 4 glyphs that fit in 16 px
  });
});
