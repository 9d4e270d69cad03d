// `--profile [steps]` of pretrain and train: the first step runs as a warm-up (pipeline compiles,
// variant tuning), the next `steps` real training steps run under a profile, and the run folder
// gets profile.md (the tables) and profile.svg (the top kernels). The run itself is unchanged.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { profileSvg, startProfile } from '../index.js';
import type { Profile, ProfileSession, TableOptions } from '../index.js';
import { settleTuning } from '../tensor/backends.js';

/** Markdown lines: each of `p`'s tables under its heading line (`#`s included), a blank line between. */
export const profileTables = (p: Profile<unknown>, tables: readonly (readonly [string, TableOptions])[]): string[] =>
  tables.flatMap(([heading, options]) => [heading, '', p.table(options)]);

/** Writes profile.md and profile.svg for `p` into `dir`; returns the markdown's path. */
export function writeProfile(dir: string, p: Profile<unknown>, title: string): string {
  const md = [
    `# ${title}`,
    '',
    `Device time per kernel and scope (\`named\` blocks; backward rules under \`<scope>/backward\`).`,
    '',
    ...profileTables(p, [
      ['## By kernel and scope', { top: 40 }],
      ['## By kernel', { by: 'kernel', top: 25 }],
      ['## By phase (top-level scope)', { by: 'scope', depth: 1 }],
      ['## By scope', { by: 'scope', top: 40 }],
    ]),
  ].join('\n');
  const path = join(dir, 'profile.md');
  writeFileSync(path, md);
  writeFileSync(join(dir, 'profile.svg'), profileSvg(p, { title: `${title}: top kernels` }));
  return path;
}

export interface StepProfiler {
  /** Call after every step (from the training loop's onStep hook). */
  afterStep(): Promise<void>;
  /** Writes the profile if it is still open (the run ended first). */
  finish(): Promise<void>;
}

/** Profiles steps 2..steps+1 of a loop (nothing when `steps` is undefined). */
export function stepProfiler(
  dir: string,
  steps: number | undefined,
  title: string,
  say: (msg: string) => void,
): StepProfiler {
  let seen = 0;
  let session: ProfileSession | undefined;
  const write = async (): Promise<void> => {
    if (!session) return;
    const p = await session.stop();
    session = undefined;
    say(
      `${title}: ${p.dispatches} kernel runs, ${p.gpuMs.toFixed(0)} ms device of ${p.wallMs.toFixed(0)} ms wall; ` +
        `wrote ${writeProfile(dir, p, `${title} (${seen - 1} steps)`)}`,
    );
  };
  return {
    afterStep: async () => {
      if (steps === undefined) return;
      seen++;
      if (seen === 1) {
        await settleTuning(); // the profiled steps run the tuned variants
        session = await startProfile();
      } else if (seen === steps + 1) await write();
    },
    finish: write,
  };
}
