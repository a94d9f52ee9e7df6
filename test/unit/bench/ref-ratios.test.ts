/** `--compare-ref`'s ratios: per repetition, then the median, the spread and the 0.95x mark. */
import { describe, expect, it } from 'vitest';
import { refRatios, renderRefRatios } from '../../../bench/ref-ratios.js';
import { makeRow, type ResultRow, type RunResult } from '../../../bench/results.js';

const run = (opsPerSec: number, serverCpuUs?: number): RunResult => ({ ops: opsPerSec, seconds: 1, opsPerSec, count: opsPerSec, ...(serverCpuUs !== undefined && { serverCpuUs }) });
const row = (workload: string, subject: string, transport: string, rates: number[], cpu: number[] = []): ResultRow =>
  makeRow(workload, subject, transport, rates.map((rate, i) => run(rate, cpu[i])));

describe('refRatios', () => {
  it('takes the median of the per-repetition ratios, not the ratio of the medians', () => {
    // Medians 100 / 100 = 1.0; per repetition 100/50, 90/100, 120/200 = 2, 0.9, 0.6: median 0.9.
    const rows = [row('incr-seq', 'syncmgr', 'tcp', [100, 90, 120]), row('incr-seq', 'syncmgr@abc', 'tcp', [50, 100, 200])];
    const [ratio] = refRatios(rows, 'syncmgr', 'syncmgr@abc');
    expect(ratio!.perRep).toEqual([2, 0.9, 0.6]);
    expect(ratio!.median).toBeCloseTo(0.9);
    expect(ratio!.min).toBeCloseTo(0.6);
    expect(ratio!.max).toBe(2);
    expect(ratio!.below).toBe(true);
  });

  it('sets the servers\' CPU per operation beside it, the ref\'s over this one\'s, where both have it', () => {
    const rows = [row('w', 'new', 'tcp', [100, 100, 100], [10, 20, 40]), row('w', 'old', 'tcp', [100, 100, 100], [20, 20])];
    const [ratio] = refRatios(rows, 'new', 'old');
    expect(ratio!.cpu).toEqual({ perRep: [2, 1], median: 1.5, min: 1, max: 2 });
    const none = refRatios([row('w', 'new', 'tcp', [100]), row('w', 'old', 'tcp', [100], [20])], 'new', 'old');
    expect(none[0]).not.toHaveProperty('cpu');
  });

  it('marks a median below 0.95, not one at it', () => {
    const at = refRatios([row('w', 'new', 'tcp', [95]), row('w', 'old', 'tcp', [100])], 'new', 'old');
    const under = refRatios([row('w', 'new', 'tcp', [94.9]), row('w', 'old', 'tcp', [100])], 'new', 'old');
    expect(at[0]!.below).toBe(false);
    expect(under[0]!.below).toBe(true);
  });

  it('pairs rows by workload and transport, skips unpaired ones, and pairs runs by repetition', () => {
    const rows = [
      row('incr-seq', 'new', 'tcp', [10, 20, 30]),
      row('incr-seq', 'new', 'unix', [10]),
      row('incr-seq', 'old', 'tcp', [10, 10]),
      row('incr-seq', 'redis', 'unix', [10]),
      row('locked', 'old', 'tcp', [5]),
    ];
    const ratios = refRatios(rows, 'new', 'old');
    expect(ratios.map((ratio) => [ratio.workload, ratio.transport, ratio.perRep])).toEqual([['incr-seq', 'tcp', [1, 2]]]);
    expect(ratios[0]!.median).toBe(1.5);
  });
});

describe('renderRefRatios', () => {
  it('shows each ratio with its spread and repetitions, the short name on tcp rows, and marks the slow ones', () => {
    const rows = [
      row('incr-seq', 'new', 'tcp', [100, 100], [10, 10]),
      row('incr-seq', 'old', 'tcp', [100, 125], [11, 9]),
      row('incr-seq', 'new', 'unix', [100, 100]),
      row('incr-seq', 'old', 'unix', [100, 100]),
    ];
    const lines = renderRefRatios(refRatios(rows, 'new', 'old'), 'new', 'old', { 'incr-seq': 'W1' }).split('\n');
    expect(lines[0]).toMatch(/^workload\s+transport\s+ops\/s new \/ old\s+min-max\s+per rep\s+server CPU\/op ref \/ this\s+min-max$/);
    expect(lines[2]).toMatch(/^W1 incr-seq\s+tcp\s+0\.900x\s+0\.80-1\.00\s+1\.00 0\.80\s+BELOW 0\.95x\s+1\.000x\s+0\.90-1\.10$/);
    expect(lines[3]).toMatch(/^incr-seq\s+unix\s+1\.000x\s+1\.00-1\.00\s+1\.00 1\.00\s+-$/);
  });
});
