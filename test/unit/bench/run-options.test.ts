/** `npm run bench` options: --compare-ref and the flags it is used with. */
import { describe, expect, it } from 'vitest';
import { parseRunOptions } from '../../../bench/run-options.js';
import { selectWorkloads } from '../../../bench/workloads.js';

describe('parseRunOptions', () => {
  it('takes --compare-ref with --reps and --only', () => {
    const options = parseRunOptions(['--compare-ref', '1b28814', '--reps', '5', '--only', 'W1,locked-rmw-4proc']);
    expect(options.compareRef).toBe('1b28814');
    expect(options.reps).toBe(5);
    expect(options.only).toEqual(['W1', 'locked-rmw-4proc']);
    expect(options.subjects.map((subject) => subject.name)).toEqual(['syncmgr']);
  });

  it('leaves compareRef out when not asked for', () => {
    const options = parseRunOptions([]);
    expect(options).not.toHaveProperty('compareRef');
    expect(options.reps).toBe(1);
  });

  it('refuses an empty ref, a missing value and a ref without syncmgr to compare with', () => {
    expect(() => parseRunOptions(['--compare-ref', ' '])).toThrow(/--compare-ref takes a git ref/);
    expect(() => parseRunOptions(['--compare-ref'])).toThrow(/--compare-ref/);
    expect(() => parseRunOptions(['--compare-ref', 'main', '--subjects', 'redis'])).toThrow(/keep syncmgr in --subjects/);
  });

  it('refuses bad repetitions and unknown flags', () => {
    expect(() => parseRunOptions(['--reps', '0'])).toThrow(/--reps takes a positive whole number/);
    expect(() => parseRunOptions(['--compare-reff', 'main'])).toThrow(/compare-reff/);
  });
});

describe('selectWorkloads', () => {
  it('knows W1-W4 as the workloads that measure them, in registry order', () => {
    expect(selectWorkloads(['w4', 'W1', 'incr-pipelined-64', 'W3']).map((workload) => workload.name)).toEqual([
      'incr-seq',
      'incr-pipelined-64',
      'incr-contended-4proc',
      'locked-rmw-4proc',
    ]);
  });

  it('names the unknown one and lists the short names', () => {
    expect(() => selectWorkloads(['W9'])).toThrow(/unknown workload W9; known: incr-seq \(W1\)/);
  });
});
