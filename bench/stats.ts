/** Small, dependency-free statistics for the bench: latency percentiles and medians over runs. */

/** A growable buffer of latency samples in nanoseconds (a plain array of numbers is fine up to millions). */
export type Samples = number[];

/** Latency percentiles of one run, in microseconds. */
export interface LatencySummary {
  samples: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
}

/**
 * Nearest-rank percentile of an ascending-sorted array: the smallest sample with at least `p`% of
 * the samples at or below it. No interpolation: every reported value is one that was measured.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Summarises latency samples given in nanoseconds. Returns undefined when there are none. */
export function summarizeLatencies(samplesNs: ArrayLike<number>): LatencySummary | undefined {
  if (samplesNs.length === 0) return undefined;
  // A Float64Array sorts numerically (a plain array's sort() would compare strings) and fast.
  const sorted = Float64Array.from(samplesNs).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    samples: sorted.length,
    p50Us: percentile(sorted, 50) / 1000,
    p99Us: percentile(sorted, 99) / 1000,
    meanUs: sum / sorted.length / 1000,
    maxUs: sorted[sorted.length - 1]! / 1000,
  };
}

/** Median of the defined values (the mean of the two middle ones for an even count); undefined if none. */
export function median(values: ReadonlyArray<number | undefined>): number | undefined {
  const defined = values.filter((value): value is number => value !== undefined && !Number.isNaN(value));
  if (defined.length === 0) return undefined;
  const sorted = Float64Array.from(defined).sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Milliseconds since the epoch with sub-millisecond resolution, comparable across processes on one
 * machine (each process's monotonic clock is anchored at its own timeOrigin). For per-operation
 * latency use process.hrtime.bigint(), which is monotonic and finer.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
