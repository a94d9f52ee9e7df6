/**
 * `--compare-ref`'s verdict: for each workload and transport, this working tree's ops/s over the
 * ref build's, per repetition (the two runs of a repetition are made back to back), the median of
 * those ratios and their spread, and whether the median falls below {@link RATIO_FLOOR}. Beside
 * it the same for the servers' CPU time per operation (the ref's over this one's, so that above 1
 * is better in both), which other load on the machine moves far less than throughput.
 */
import type { ResultRow } from './results.js';
import { median } from './stats.js';

/** Below this median ratio a workload is marked: slower than the ref by more than the noise allows for. */
export const RATIO_FLOOR = 0.95;

/** Per-repetition ratios, their median and spread. */
export interface RatioSpread {
  perRep: number[];
  median: number;
  min: number;
  max: number;
}

/** One workload and transport; its own ratios are ops/s of this build / ops/s of the ref's. */
export interface RefRatio extends RatioSpread {
  workload: string;
  transport: string;
  /** The median is below RATIO_FLOOR. */
  below: boolean;
  /** The ref's server CPU per operation / this one's, where both were measured. */
  cpu?: RatioSpread;
}

/** The median and spread of `perRep`, or undefined when it holds no number. */
function spreadOf(perRep: number[]): RatioSpread | undefined {
  const mid = median(perRep);
  if (mid === undefined) return undefined;
  return { perRep, median: mid, min: Math.min(...perRep), max: Math.max(...perRep) };
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
    const pairs = Array.from({ length: reps }, (_, i) => [row.runs[i]!, other.runs[i]!] as const);
    const ops = spreadOf(pairs.map(([mine, theirs]) => mine.opsPerSec / theirs.opsPerSec));
    if (ops === undefined) continue;
    const cpuPairs = pairs.filter(([mine, theirs]) => mine.serverCpuUs !== undefined && theirs.serverCpuUs !== undefined);
    const cpu = spreadOf(cpuPairs.map(([mine, theirs]) => theirs.serverCpuUs! / mine.serverCpuUs!));
    ratios.push({ workload: row.workload, transport: row.transport, ...ops, below: ops.median < RATIO_FLOOR, ...(cpu !== undefined && { cpu }) });
  }
  return ratios;
}

/**
 * The ratios as an aligned text table. `ids` gives a workload's short name (W1...) where it has
 * one; like --compare's, those name its tcp row.
 */
export function renderRefRatios(ratios: readonly RefRatio[], mine: string, theirs: string, ids: Readonly<Record<string, string>> = {}): string {
  const cells = [
    ['workload', 'transport', `ops/s ${mine} / ${theirs}`, 'min-max', 'per rep', '', 'server CPU/op ref / this', 'min-max'],
    ...ratios.map((ratio) => [
      ids[ratio.workload] === undefined || ratio.transport !== 'tcp' ? ratio.workload : `${ids[ratio.workload]} ${ratio.workload}`,
      ratio.transport,
      `${ratio.median.toFixed(3)}x`,
      `${ratio.min.toFixed(2)}-${ratio.max.toFixed(2)}`,
      ratio.perRep.map((value) => value.toFixed(2)).join(' '),
      ratio.below ? `BELOW ${RATIO_FLOOR}x` : '',
      ratio.cpu === undefined ? '-' : `${ratio.cpu.median.toFixed(3)}x`,
      ratio.cpu === undefined ? '' : `${ratio.cpu.min.toFixed(2)}-${ratio.cpu.max.toFixed(2)}`,
    ]),
  ];
  const widths = cells[0]!.map((_, index) => Math.max(...cells.map((line) => line[index]!.length)));
  const format = (line: string[]): string => line.map((cell, index) => (index === 2 || index === 6 ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join('  ').trimEnd();
  return [format(cells[0]!), widths.map((width) => '-'.repeat(width)).join('  ').trimEnd(), ...cells.slice(1).map(format)].join('\n');
}
