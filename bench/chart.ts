// A hand-written SVG bar chart of our speedup over tfjs-webgpu per row, on a log scale centred
// on 1x (bars right of the line: we are faster).
import type { BenchResults } from './result.js';
import { fmtRatio } from './report.js';

const escapeXml = (s: string): string =>
  s.replace(/[<>&"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[ch]!);

export function renderSpeedupSvg(res: BenchResults): string {
  const rows = res.rows.filter((r) => r.speedup['tfjs-webgpu'] !== undefined);
  const ratios = rows.map((r) => r.speedup['tfjs-webgpu']!);
  // Symmetric log2 domain, at least 1/4x..4x, so 1x sits in the middle.
  const span = Math.max(2, ...ratios.map((r) => Math.ceil(Math.abs(Math.log2(r)))));
  const labelW = 430;
  const plotW = 420;
  const rowH = 22;
  const top = 56;
  const width = labelW + plotW + 110;
  const height = top + rows.length * rowH + 40;
  const plotLeft = labelW + 40; // room for the value of a bar that ends at the left edge
  const x = (ratio: number): number => plotLeft + ((Math.log2(ratio) + span) / (2 * span)) * plotW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">Speedup of ours (WebGPU) over tfjs-webgpu, same adapter</text>`,
    `<text x="10" y="38" fill="#555">${escapeXml(res.adapter)} - ${escapeXml(res.date.slice(0, 10))} - tfjs median / ours median, log scale</text>`,
  ];
  for (let e = -span; e <= span; e++) {
    const gx = x(2 ** e);
    parts.push(
      `<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${top + rows.length * rowH}" stroke="${e === 0 ? '#000' : '#ddd'}"/>`,
    );
    parts.push(
      `<text x="${gx}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#555">${fmtRatio(2 ** e)}</text>`,
    );
  }
  rows.forEach((r, i) => {
    const ratio = ratios[i];
    const y = top + i * rowH;
    const label = `${r.op} ${r.shape}`;
    const x0 = x(1);
    const x1 = x(ratio);
    parts.push(
      `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${escapeXml(label.length > 68 ? label.slice(0, 67) + '...' : label)}</text>`,
    );
    parts.push(
      `<rect x="${Math.min(x0, x1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0))}" ` +
        `height="${rowH - 8}" fill="${ratio >= 1 ? '#2e8b57' : '#c0392b'}"/>`,
    );
    parts.push(
      `<text x="${ratio >= 1 ? x1 + 4 : x1 - 4}" y="${y + 15}" text-anchor="${ratio >= 1 ? 'start' : 'end'}">${fmtRatio(ratio)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
