// The bench's host-steal reading (bench/host-steal.ts): the aggregate cpu line of /proc/stat, and the
// stolen share between two readings.
import { describe, expect, it } from 'vitest';
import { parseCpuTimes, readCpuTimes, stealShare } from '../bench/host-steal.js';

const stat = (user: number, idle: number, steal: number) =>
  [
    `cpu  ${user} 0 100 ${idle} 5 0 3 ${steal} 7 0`,
    `cpu0 ${user / 2} 0 50 ${idle / 2} 2 0 1 ${steal / 2} 3 0`,
    'intr 12345',
  ].join('\n');

describe('host steal', () => {
  it('parses the aggregate line: user nice system idle iowait irq softirq steal, guest left out', () => {
    expect(parseCpuTimes(stat(1000, 5000, 40))).toEqual({ total: 1000 + 100 + 5000 + 5 + 3 + 40, steal: 40 });
  });

  it('is the stolen share of the time that passed between two readings', () => {
    const before = parseCpuTimes(stat(1000, 5000, 40));
    const after = parseCpuTimes(stat(1600, 5300, 140)); // 600 + 300 + 100 ticks passed, 100 stolen
    expect(stealShare(before, after)).toBeCloseTo(0.1, 12);
    expect(stealShare(before, before)).toBeUndefined(); // no time passed
  });

  it('says nothing rather than guess: no cpu line, a malformed one, or a missing reading', () => {
    expect(parseCpuTimes('intr 1 2 3\n')).toBeUndefined();
    expect(parseCpuTimes('cpu  1 2 x 4 5 6 7 8\n')).toBeUndefined();
    expect(stealShare(undefined, parseCpuTimes(stat(1, 1, 0)))).toBeUndefined();
  });

  it('reads this machine, where it has /proc/stat', () => {
    const now = readCpuTimes();
    if (process.platform === 'linux') {
      expect(now!.total).toBeGreaterThan(0);
      expect(now!.steal).toBeGreaterThanOrEqual(0);
    } else expect(now).toBeUndefined();
  });
});
