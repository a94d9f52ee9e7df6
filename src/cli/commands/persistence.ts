/**
 * `syncmgr check --data-dir DIR [--repair]`, `syncmgr restore FILE`, and the `--out FILE` form of
 * `syncmgr dump` (registered with the dict commands, whose plain `dump` prints one dict).
 * docs/PERSISTENCE.md describes the data directory and the dump format.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { connect } from '../../client/client.js';
import { ConfigurationError, FrameTooLargeError } from '../../errors.js';
import { checkDataDir } from '../../persistence/check.js';
import type { Dump } from '../../protocol/dump.js';
import type { DataDirReport } from '../../persistence/loader.js';
import { ExplainedSystemError } from '../exit-status.js';
import { addConnectionFlags, type ConnectionFlags, toConnectOptions } from '../connection-options.js';

/** Dumps can be far larger than requests: accept answers up to this size. */
export const MAX_DUMP_BYTES = 1024 ** 3;

const count = new Intl.NumberFormat('en-US');

/**
 * Writes the server's whole state, taken at one instant, to `out` as JSON (one object per line).
 * The file is written aside and renamed, so `out` is never left half-written.
 */
export async function dumpToFile(flags: ConnectionFlags, out: string, stdout: (line: string) => void): Promise<void> {
  const client = await connect({ ...toConnectOptions(flags), maxFrameBytes: MAX_DUMP_BYTES });
  let dump: Dump;
  try {
    dump = await client.snapshot();
  } finally {
    await client.close();
  }
  const { objects, ...header } = dump;
  const lines = objects.map((object) => JSON.stringify(object));
  const text = `${JSON.stringify(header).slice(0, -1)},"objects":[${lines.length === 0 ? '' : `\n${lines.join(',\n')}\n`}]}\n`;
  const temporary = `${out}.tmp`;
  try {
    await writeFile(temporary, text);
    await rename(temporary, out);
  } catch (err) {
    // Name the file the user gave, not the temporary one beside it.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ExplainedSystemError(`cannot write the dump to ${out}: its directory does not exist; create it first`, code, { cause: err });
    throw Object.assign(new Error(`cannot write the dump to ${out}: ${(err as Error).message}`), { code });
  }
  stdout(`dumped ${count.format(objects.length)} objects to ${out}`);
}

export function registerPersistenceCommands(program: Command, stdout: (line: string) => void): void {
  program
    .command('check')
    .description('check a data directory as a starting server would read it; --repair cuts the log at the damage')
    .requiredOption('--data-dir <dir>', 'the data directory (no server may be using it)')
    .option('--repair', 'truncate the log to its last good record (what is cut off is kept as *.damaged*) and remove leftovers')
    .action(async (flags: { dataDir: string; repair?: boolean }) => {
      // Not for check to judge: a missing directory is a wrong argument, not a damaged one.
      if (!existsSync(flags.dataDir)) throw new ConfigurationError(`no data directory at ${flags.dataDir}: pass the --data-dir a server was started with`);
      const result = await checkDataDir(flags.dataDir, flags.repair === true, (line) => stdout(`note: ${line}`));
      printReport(result.report, stdout);
      for (const step of result.repaired) stdout(`repair: ${step}`);
      const final = result.after ?? result.report;
      if (result.after !== undefined) stdout(`after repair: ${summary(result.after)}`);
      else stdout(summary(final));
      // Exit status 1 while anything needs repair; leftovers alone are harmless (start-up removes them).
      if (final.fatal !== undefined || final.torn !== undefined) process.exitCode = 1;
    });

  addConnectionFlags(program.command('restore <file>').description('create the objects of a dump file (made by dump --out) on the server'))
    .action(async (file: string, flags: ConnectionFlags) => {
      let dump: Dump;
      try {
        dump = JSON.parse(await readFile(file, 'utf8')) as Dump;
      } catch (err) {
        throw new ConfigurationError(`cannot read dump ${file}: ${(err as Error).message}`);
      }
      const client = await connect(toConnectOptions(flags));
      try {
        const restored = await client.restore(dump);
        stdout(`restored ${count.format(restored)} objects from ${file}`);
      } catch (err) {
        if (err instanceof FrameTooLargeError) {
          throw new FrameTooLargeError(
            `${file} is ${err.bytes} bytes as a request, over the ${err.maxBytes} bytes the server accepts in one frame: ` +
              `restart it with --max-frame ${err.bytes} or more for the restore (nothing was restored)`,
            err.bytes,
            err.maxBytes,
          );
        }
        throw err;
      } finally {
        await client.close();
      }
    });
}

function printReport(report: DataDirReport, stdout: (line: string) => void): void {
  stdout(`data directory ${report.dir}`);
  if (report.snapshot !== undefined) {
    stdout(`  ${report.snapshot.file.name}  ${count.format(report.snapshot.objects)} objects, ${count.format(report.snapshot.bytes)} bytes: ok`);
  } else if (report.fatal?.file?.endsWith('.snap')) {
    stdout(`  ${report.fatal.file}: DAMAGED`);
  }
  for (const { file, scan } of report.segments) {
    const what = `  ${file.name}  ${count.format(scan.records)} records, ${count.format(scan.size)} bytes`;
    if (scan.end.kind === 'clean' && report.fatal?.file !== file.path) {
      const spare = scan.size - scan.validBytes;
      stdout(`${what}: ok${spare > 0 ? ` (the last ${count.format(spare)} bytes are preallocated zeros)` : ''}`);
    } else if (scan.end.kind === 'torn' && report.torn?.file.path === file.path) {
      stdout(`${what}: TORN at offset ${scan.end.offset} (${count.format(scan.end.bytes)} bytes: ${scan.end.reason}); a crash mid-write, dropped at start`);
    } else if (scan.end.kind === 'clean' && report.fatal?.repair === undefined) {
      // Every record passed its checksum: what stops the load is a bug in syncmgr, not damage.
      stdout(`${what}: intact, but the record at offset ${report.fatal?.offset ?? '?'} does not replay`);
    } else {
      stdout(`${what}: CORRUPT at offset ${report.fatal?.offset ?? '?'}`);
    }
  }
  for (const path of report.leftovers) stdout(`  leftover ${path} (removed at start)`);
  if (report.fatal !== undefined) stdout(`problem: ${report.fatal.message}`);
}

function summary(report: DataDirReport): string {
  if (report.fatal !== undefined) {
    return report.fatal.repair === undefined
      ? 'a server will NOT start on this directory, and --repair cannot fix it'
      : `a server will NOT start on this directory; --repair truncates the log at offset ${report.fatal.offset}, dropping ` +
          `${count.format(report.fatal.repair.dropBytes)} bytes${report.fatal.repair.later.length > 0 ? ` and ${report.fatal.repair.later.length} later segment(s)` : ''}`;
  }
  const state = `${count.format(report.effects)} changes replayed`;
  if (report.torn !== undefined) return `ok with a torn tail (${state}); a server starts, dropping it; --repair truncates it now`;
  return `ok (${report.snapshot === undefined ? 'no snapshot' : `snapshot ${report.snapshot.file.seq}`}, ${state})`;
}
