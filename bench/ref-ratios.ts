/**
 * `--compare-ref`'s verdict: for each workload and transport, this working tree's ops/s over the
 * ref build's, per repetition (the two runs of a repetition are made back to back), the median of
 * those ratios and their spread, and whether the median falls below {@link RATIO_FLOOR}.
 */
import type { ResultRow } from './results.js';
import { median } from './stats.js';

/** Below this median ratio a workload is marked: slower than the ref by more than the noise allows for. */
export const RATIO_FLOOR = 0.95;

export interface RefRatio {
  workload: string;
  transport: string;
  /** ops/s of this build / ops/s of the ref's, one per repetition. */
  perRep: number[];
  median: number;
  min: number;
  max: number;
  /** The median is below RATIO_FLOOR. */
  below: boolean;
}

/**
 * One ratio per (workload, transport) that both `mine` and `theirs` (subject names) have rows for,
 * in the order of `rows`. Runs are paired by index, i.e. by repetition; a repetition that only one
 * side finished is left out.
 */
export function refRatios(rows: readonly ResultRow[], mine: string, theirs: string): RefRatio[] {
  const ratios: RefRatio[] = [];
  for (const row of rows) {
    if (row.subject !== mine) continue;
    const other = rows.find((candidate) => candidate.subject === theirs && candidate.workload === row.workload && candidate.transport === row.transport);
    if (other === undefined) continue;
    const reps = Math.min(row.runs.length, other.runs.length);
    const perRep = Array.from({ length: reps }, (_, i) => row.runs[i]!.opsPerSec / other.runs[i]!.opsPerSec);
    const mid = median(perRep);
    if (mid === undefined) continue;
    ratios.push({ workload: row.workload, transport: row.transport, perRep, median: mid, min: Math.min(...perRep), max: Math.max(...perRep), below: mid < RATIO_FLOOR });
  }
  return ratios;
}

/**
 * The ratios as an aligned text table. `ids` gives a workload's short name (W1...) where it has
 * one; like --compare's, those name its tcp row.
 */
export function renderRefRatios(ratios: readonly RefRatio[], mine: string, theirs: string, ids: Readonly<Record<string, string>> = {}): string {
  const cells = [
    ['workload', 'transport', `${mine} / ${theirs}`, 'min-max', 'per rep', ''],
    ...ratios.map((ratio) => [
      ids[ratio.workload] === undefined || ratio.transport !== 'tcp' ? ratio.workload : `${ids[ratio.workload]} ${ratio.workload}`,
      ratio.transport,
      `${ratio.median.toFixed(3)}x`,
      `${ratio.min.toFixed(2)}-${ratio.max.toFixed(2)}`,
      ratio.perRep.map((value) => value.toFixed(2)).join(' '),
      ratio.below ? `BELOW ${RATIO_FLOOR}x` : '',
    ]),
  ];
  const widths = cells[0]!.map((_, index) => Math.max(...cells.map((line) => line[index]!.length)));
  const format = (line: string[]): string => line.map((cell, index) => (index === 2 ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join('  ').trimEnd();
  return [format(cells[0]!), widths.map((width) => '-'.repeat(width)).join('  ').trimEnd(), ...cells.slice(1).map(format)].join('\n');
}
