// Progress bars for long CLI work (cli-progress on a terminal; a plain line every few seconds
// when stderr is a file or a CI log, so logs stay readable).
import cliProgress from 'cli-progress';

export interface Progress {
  /** Sets the count done and the fields shown after the bar (e.g. { loss: '0.123' }). */
  update(done: number, fields?: Record<string, string>): void;
  stop(): void;
}

const PLAIN_EVERY_MS = 10_000;

/** A progress bar of `total` units labelled `label`; `fields` names the extra columns. */
export function progressBar(
  label: string,
  total: number,
  fields: readonly string[] = [],
  { quiet = false }: { quiet?: boolean } = {},
): Progress {
  if (quiet) return { update: () => {}, stop: () => {} };
  const extra = fields.map((f) => `${f} {${f}}`).join(' | ');
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label.padEnd(14)} [{bar}] {value}/{total} | {duration_formatted} < {eta_formatted}${extra ? ` | ${extra}` : ''}`,
        barsize: 28,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, Object.fromEntries(fields.map((f) => [f, '-'])));
    return { update: (done, values) => bar.update(done, values ?? {}), stop: () => bar.stop() };
  }
  const start = Date.now();
  let last = 0;
  let lastLine = '';
  const line = (done: number, values: Record<string, string> = {}) =>
    `${label}: ${done}/${total} (${((Date.now() - start) / 1000).toFixed(0)} s)${Object.entries(values)
      .map(([k, v]) => ` ${k} ${v}`)
      .join('')}`;
  return {
    update(done, values) {
      lastLine = line(done, values);
      if (Date.now() - last >= PLAIN_EVERY_MS || done === total) {
        last = Date.now();
        process.stderr.write(`${lastLine}\n`);
      }
    },
    stop() {
      if (lastLine && Date.now() - last > 0 && !lastLine.includes(`${total}/${total}`))
        process.stderr.write(`${lastLine}\n`);
    },
  };
}
