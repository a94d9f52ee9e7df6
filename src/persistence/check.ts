/**
 * `syncmgr check`: reads a data directory exactly as a starting server would, says what it found,
 * and (repair) cuts the log back to its last good record. Nothing is deleted outright: the bytes
 * cut off and the segments set aside are kept next to it as `*.damaged*` files.
 */
import { existsSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { PersistenceError } from '../errors.js';
import { MemoryStore } from '../core/memory-store.js';
import { fsyncDirSync, makePrivateDir } from './files.js';
import { type DataDirReport, loadDataDir, type Truncation } from './loader.js';
import { lockDataDir } from './lock-file.js';
import { cutKeeping } from './store.js';

export interface CheckResult {
  /** What was found (before any repair). */
  readonly report: DataDirReport;
  /** Objects the state holds after replay (up to the damage, if any). */
  readonly objects: number;
  /** One line per repair step taken. */
  readonly repaired: string[];
  /** The reading after the repair, when one was made. */
  readonly after?: DataDirReport;
}

/**
 * Checks `dir` (holding its lock, so no server starts meanwhile), repairing when asked.
 * @throws PersistenceError DATA_DIR_LOCKED if a server is using it, DATA_CORRUPT if `dir` is not a
 *   directory.
 */
export async function checkDataDir(dir: string, repair: boolean, warn: (line: string) => void = () => {}): Promise<CheckResult> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new PersistenceError('DATA_CORRUPT', `${dir} is not a directory`);
  const lock = lockDataDir(dir, warn);
  if (repair) makePrivateDir(dir, warn);
  try {
    const registry = new MemoryStore();
    const report = await loadDataDir(dir, registry);
    const repaired: string[] = [];
    if (!repair) return { report, objects: registry.size, repaired };
    const cut = report.fatal?.repair ?? report.torn;
    if (cut !== undefined) repaired.push(...(await cutLog(cut, report.torn === undefined)));
    for (const path of report.leftovers) {
      unlinkSync(path);
      repaired.push(`removed ${path} (left over from an interrupted compaction)`);
    }
    if (repaired.length === 0) return { report, objects: registry.size, repaired };
    fsyncDirSync(dir);
    const after = await loadDataDir(dir, new MemoryStore());
    return { report, objects: registry.size, repaired, after };
  } finally {
    lock.release();
  }
}

/** Truncates a segment at the damage, keeping what is cut off; sets later segments aside if asked. */
async function cutLog(cut: Truncation, setAsideLater: boolean): Promise<string[]> {
  const { file, offset, dropBytes, later } = cut;
  const kept = await cutKeeping(file.path, offset, dropBytes, `${file.path}.damaged-${offset}`);
  const steps = [`truncated ${file.path} to ${offset} bytes (the ${dropBytes} bytes cut off are in ${kept})`];
  if (setAsideLater) {
    for (const segment of later) {
      renameSync(segment.path, `${segment.path}.damaged`);
      steps.push(`set ${segment.path} aside as ${segment.path}.damaged (it continued from the dropped records)`);
    }
  }
  return steps;
}
