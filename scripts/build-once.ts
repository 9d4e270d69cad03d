// The shape of the face-cache build scripts: reuse a complete set already in `dir` (unless
// --force), else build it and say what was written and how long it took.

export interface BuildOnce<I> {
  /** What the set is called in messages ("real faces"). */
  readonly label: string;
  readonly dir: string;
  readonly force: boolean;
  /** The complete, current set in `dir`, or undefined. */
  readonly read: (dir: string) => I | undefined;
  readonly build: (dir: string) => Promise<I>;
  /** How many items a set has, in words ("22 faces"). */
  readonly count: (index: I) => string;
  /** More about a freshly built set (" at 32, 64 px"). */
  readonly details?: (index: I) => string;
}

export async function buildOnce<I>(o: BuildOnce<I>): Promise<I> {
  const existing = o.force ? undefined : o.read(o.dir);
  if (existing) {
    console.log(`${o.label}: ${o.count(existing)} already in ${o.dir}`);
    return existing;
  }
  const t0 = performance.now();
  const index = await o.build(o.dir);
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`${o.label}: wrote ${o.count(index)}${o.details?.(index) ?? ''} to ${o.dir} in ${seconds} s`);
  return index;
}
