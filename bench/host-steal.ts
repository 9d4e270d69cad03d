// How much CPU the machine's host took away while a bench row ran. On a shared virtual machine the
// hypervisor gives the cores to other tenants at times ("steal" in /proc/stat); rows measured then
// run slow on both sides, by different amounts, so their ratios are not comparable with a quiet
// run's. The network rows report the share so a reader can discount them (README, speed section).
import { readFileSync } from 'node:fs';

/** Cumulative CPU time of all cores (clock ticks): everything, and what was stolen. */
export interface CpuTimes {
  readonly total: number;
  readonly steal: number;
}

/**
 * The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal (guest
 * time is already counted in user). Undefined when the text has no such line.
 */
export function parseCpuTimes(procStat: string): CpuTimes | undefined {
  const line = procStat.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return undefined;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 4 || fields.some((v) => !Number.isFinite(v))) return undefined;
  return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
}

/** This machine's CPU times now; undefined where /proc/stat is not readable (not Linux). */
export function readCpuTimes(): CpuTimes | undefined {
  try {
    return parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/** The share of CPU time stolen between two readings (0..1); undefined if either is missing or no time passed. */
export function stealShare(before: CpuTimes | undefined, after: CpuTimes | undefined): number | undefined {
  if (!before || !after) return undefined;
  const total = after.total - before.total;
  return total > 0 ? Math.max(0, after.steal - before.steal) / total : undefined;
}

/** A steal share as the bench prints it ("12.3%"). */
export const fmtSteal = (share: number): string => `${(100 * share).toFixed(1)}%`;
