/**
 * A record that passed its checksum but does not apply is a bug in syncmgr, not damage to the
 * data: the message says so, and `check --repair` never cuts it (issue 18 §1).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDataDir } from '../../../src/persistence/check.js';
import { segmentName, snapshotName } from '../../../src/persistence/files.js';
import { loadDataDir } from '../../../src/persistence/loader.js';
import { encodeRecords } from '../../../src/persistence/record.js';
import { Store } from '../../../src/persistence/store.js';
import { Registry } from '../../../src/core/memory-store.js';
import { run } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/server.js';

/** What an older server logged for `{"op":"acquire","type":"condition","name":"c","init":{"lock":"c"}}`. */
const SELF_LOCKED = [
  [['create', 'dict', 'before', null], ['dset', 'before', 'k', 1]],
  [['create', 'lock', 'c', null], ['create', 'condition', 'c', { lock: 'c' }]],
  [['create', 'dict', 'after', null], ['dset', 'after', 'k', 2]],
];

function writeLog(dir: string): string {
  const path = join(dir, segmentName(1));
  writeFileSync(path, encodeRecords(SELF_LOCKED.map((record) => JSON.stringify(record))));
  return path;
}

describe('an intact record that does not apply', () => {
  it('is reported as a bug to report, with nothing proposed to cut', async () => {
    const dir = tempDir();
    writeLog(dir);
    const report = await loadDataDir(dir, new Registry());
    expect(report.fatal?.message).toMatch(/passed its checksum/);
    expect(report.fatal?.message).toMatch(/bug in syncmgr/);
    expect(report.fatal?.message).toMatch(/report/);
    expect(report.fatal?.repair).toBeUndefined();
    const refused = Store.open(new Registry(), { dir, fsync: 'always' });
    await expect(refused).rejects.toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringMatching(/bug in syncmgr/) });
    await expect(refused).rejects.toMatchObject({ message: expect.not.stringMatching(/truncates the log/) });
  });

  it('is never cut by check --repair', async () => {
    const dir = tempDir();
    const path = writeLog(dir);
    const before = readFileSync(path);
    const result = await checkDataDir(dir, true);
    expect(result.repaired).toEqual([]);
    expect(readFileSync(path)).toEqual(before);
  });

  it('is labelled intact by syncmgr check, not corrupt', async () => {
    const dir = tempDir();
    writeLog(dir);
    const checked = await run(['check', '--data-dir', dir], {});
    expect(checked.code).toBe(1);
    expect(checked.stdout).not.toContain('CORRUPT');
    expect(checked.stdout).toMatch(/intact, but the record at offset \d+ does not replay/);
  });

  it('in a snapshot, is reported as a bug too', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, snapshotName(2)), encodeRecords([
      JSON.stringify({ syncmgr: 'snapshot', version: 1, seq: 2, objects: 1, created: 'x' }),
      JSON.stringify(['object', 'dict', 'd', null, null]),
      JSON.stringify(['items', 'd', [['k', 1], 'not a pair']]),
      JSON.stringify(['end', 1]),
    ]));
    writeFileSync(join(dir, segmentName(2)), '');
    const report = await loadDataDir(dir, new Registry());
    expect(report.fatal?.message).toMatch(/passed its checksum/);
    expect(report.fatal?.message).toMatch(/bug in syncmgr/);
  });
});
