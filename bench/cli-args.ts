/** Small argument helpers shared by the bench's modes (run, compare, durability, scale). */
import type { WorkloadSettings } from './workloads.js';

/** `a, b,c` → ['a', 'b', 'c']. */
export function list(text: string): string[] {
  return text.split(',').map((name) => name.trim()).filter((name) => name !== '');
}

/** A non-negative number of seconds given to `flag`. */
export function seconds(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${flag} takes a number of seconds, not ${text}`);
  return value;
}

/** Each name of a comma list, checked against `known`. */
export function choose<T extends string>(text: string, known: readonly T[], what: string): T[] {
  return list(text).map((name) => {
    if (!known.includes(name as T)) throw new Error(`unknown ${what} ${name}; known: ${known.join(', ')}`);
    return name as T;
  });
}

/** Progress goes to stderr so that `--json` output on stdout stays machine-readable. */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Per-run timing of a full run; each mode has its own `--quick` timing. The warm-up is long enough
 * for V8 to finish optimizing a Node client's hot path with 4 of them and a server on 2 cores:
 * syncmgr's W4 clients took 3-3.5 s to reach their steady rate, ioredis's about 2 s, the bare
 * floor's 1.5 s (bench/README.md, "Warm-up").
 */
export const FULL_RUN: WorkloadSettings = { warmupMs: 3000, durationMs: 2500 };

/** The parseArgs options every mode takes, to spread into its own. */
export function commonOptions(defaultReps: number) {
  return {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    reps: { type: 'string', default: String(defaultReps) },
    only: { type: 'string', default: '' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
  } as const;
}

/** Repetitions and per-run timing from the common options. */
export function runSettings(
  values: { quick: boolean; reps: string; duration?: string; warmup?: string },
  quick: WorkloadSettings,
): { reps: number; settings: WorkloadSettings } {
  const reps = Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps takes a positive whole number, not ${values.reps}`);
  const settings = { ...(values.quick ? quick : FULL_RUN) };
  if (values.duration !== undefined) settings.durationMs = seconds(values.duration, '--duration') * 1000;
  if (values.warmup !== undefined) settings.warmupMs = seconds(values.warmup, '--warmup') * 1000;
  return { reps, settings };
}
