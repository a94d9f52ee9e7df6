/**
 * `npm run bench -- --rss`: the server's resident memory after 1,000,000 small keys (`k0` → 0 ...
 * `k999999` → 999999, one dict), loaded through setMany batches over a real TCP connection. With
 * `--compare-ref REF` the same for REF's build (bench/ref-build.ts), one server after the other,
 * side by side.
 *
 * RSS (VmRSS, /proc/PID/status) is read empty, `--settle` seconds after the load, and after a
 * full GC forced through the inspector (the server runs with `--inspect` on a free loopback port;
 * `HeapProfiler.collectGarbage`): the load's garbage (request buffers, tables a growing Map left
 * behind) goes then, rather than whenever V8 schedules its memory-reducing GC (about 30 s later).
 * The clients are this working tree's; every server is a fresh child process.
 *
 *   npm run bench -- --rss
 *   npm run bench -- --rss --compare-ref main --keys 1000000 --settle 2
 *   npm run bench -- --rss --quick          100,000 keys
 *   npm run bench -- --rss --json
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { connect } from 'syncmgr';
import { progress } from './cli-args.js';
import { currentLoad, loadAtStartLine, machineInfo } from './machine.js';
import { anonRssBytes, freePort, mib, rssBytes, sleep } from './peers/proc.js';
import { buildRef, type RefBuild } from './ref-build.js';
import { loadInBatches } from './scale.js';
import { type SyncmgrBuild, syncmgrServer, WORKING_TREE } from './subjects.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INSPECTOR_TIMEOUT_MS = 30_000;

export interface RssOptions {
  keys: number;
  /** Wait after the load (and after the forced GC) before RSS is read. */
  settleMs: number;
  json: boolean;
  compareRef?: string;
}

/** @throws Error naming the flag, for an unknown option or a bad number. */
export function parseRssOptions(argv: string[]): RssOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      keys: { type: 'string' },
      settle: { type: 'string' },
      'compare-ref': { type: 'string' },
    },
    strict: true,
  });
  let keys = values.quick ? 100_000 : 1_000_000;
  if (values.keys !== undefined) {
    keys = Number(values.keys);
    if (!Number.isInteger(keys) || keys < 1) throw new Error(`--keys takes a positive whole number, not ${values.keys}`);
  }
  let settleMs = 2000;
  if (values.settle !== undefined) {
    settleMs = Number(values.settle) * 1000;
    if (!Number.isFinite(settleMs) || settleMs < 0) throw new Error(`--settle takes a number of seconds, not ${values.settle}`);
  }
  const compareRef = values['compare-ref']?.trim();
  if (compareRef === '') throw new Error('--compare-ref takes a git ref (a commit id, branch or tag)');
  return { keys, settleMs, json: values.json, ...(compareRef !== undefined && { compareRef }) };
}

export interface RssRow {
  server: string;
  keys: number;
  rssEmpty: number;
  /** `settleMs` after the load. */
  rssLoaded: number;
  /** After a forced full GC and `settleMs`. */
  rssAfterGc: number;
  /** Of rssAfterGc, the anonymous part (without the node executable's file pages). */
  anonAfterGc: number;
  loadSeconds: number;
}

const keyName = (i: number): string => `k${i}`;

/** Asks the inspector at `port` for one full garbage collection and waits for it to finish. */
async function forceGc(port: number): Promise<void> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error(`the server's inspector on port ${port} lists no target`);
  const socket = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server's inspector did not collect garbage within ${INSPECTOR_TIMEOUT_MS} ms`)), INSPECTOR_TIMEOUT_MS);
      socket.once('error', reject);
      socket.once('open', () => socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
      socket.on('message', (data) => {
        const reply = JSON.parse(String(data)) as { id?: number; error?: { message: string } };
        if (reply.id !== 1) return;
        clearTimeout(timer);
        if (reply.error === undefined) resolve();
        else reject(new Error(`the server's inspector refused to collect garbage: ${reply.error.message}`));
      });
    });
  } finally {
    socket.close();
  }
}

/** One fresh server of `build`, loaded with `keys` keys; its RSS at each step. */
async function measure(build: SyncmgrBuild, options: RssOptions): Promise<RssRow> {
  const port = await freePort();
  const running = await syncmgrServer(build).start({ nodeArgs: [`--inspect=127.0.0.1:${port}`] });
  try {
    const pid = running.pid!;
    const client = await connect({ url: running.targets.tcp!.url });
    try {
      const dict = client.dict<number>('rss');
      await dict.size();
      await sleep(options.settleMs);
      const rssEmpty = rssBytes(pid);
      progress(`rss: loading ${options.keys} keys into ${build.name}...`);
      const loadSeconds = await loadInBatches(options.keys, (from, to) => {
        const entries: Array<[string, number]> = [];
        for (let i = from; i < to; i++) entries.push([keyName(i), i]);
        return dict.setMany(entries);
      });
      const size = await dict.size();
      if (size !== options.keys) throw new Error(`CHECK FAILED: ${build.name}'s dict holds ${size} keys after loading ${options.keys}`);
      const probe = options.keys >> 1;
      const value = await dict.get(keyName(probe));
      if (value !== probe) throw new Error(`CHECK FAILED: ${build.name}'s ${keyName(probe)} is ${value}, not ${probe}`);
      await sleep(options.settleMs);
      const rssLoaded = rssBytes(pid);
      await forceGc(port);
      await sleep(options.settleMs);
      return { server: build.name, keys: options.keys, rssEmpty, rssLoaded, rssAfterGc: rssBytes(pid), anonAfterGc: anonRssBytes(pid), loadSeconds };
    } finally {
      await client.close();
    }
  } finally {
    await running.stop();
  }
}

export function renderRss(rows: readonly RssRow[], settleMs: number): string {
  const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const seconds = `+${settleMs / 1000} s`;
  const cells = [
    ['server', 'keys', 'RSS empty', `RSS ${seconds}`, 'RSS after GC', 'of it anon', 'delta', 'B/key', 'load'],
    ...rows.map((row) => [
      row.server,
      integer.format(row.keys),
      mib(row.rssEmpty),
      mib(row.rssLoaded),
      mib(row.rssAfterGc),
      mib(row.anonAfterGc),
      mib(row.rssAfterGc - row.rssEmpty),
      integer.format((row.rssAfterGc - row.rssEmpty) / row.keys),
      `${row.loadSeconds.toFixed(1)} s`,
    ]),
  ];
  const widths = cells[0]!.map((_, index) => Math.max(...cells.map((line) => line[index]!.length)));
  const format = (line: string[]): string => line.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!))).join('  ').trimEnd();
  const lines = [format(cells[0]!), widths.map((width) => '-'.repeat(width)).join('  '), ...cells.slice(1).map(format)];
  const [mine, theirs] = rows;
  if (mine !== undefined && theirs !== undefined) {
    lines.push(
      '',
      `${mine.server} / ${theirs.server}: RSS after GC ${(mine.rssAfterGc / theirs.rssAfterGc).toFixed(3)}x, ` +
        `data alone (delta) ${((mine.rssAfterGc - mine.rssEmpty) / (theirs.rssAfterGc - theirs.rssEmpty)).toFixed(3)}x`,
    );
  }
  return lines.join('\n');
}

/** Runs the RSS figures; resolves with the exit status. */
export async function runRss(argv: string[]): Promise<number> {
  const options = parseRssOptions(argv);
  const meta = { ...machineInfo(), keys: options.keys, settleMs: options.settleMs };
  const describe = options.json ? progress : (line: string) => console.log(line);
  describe(`node ${meta.node}, ${meta.platform}, ${meta.cpu}`);
  describe(loadAtStartLine());
  const rows: RssRow[] = [];
  let ref: RefBuild | undefined;
  let failure: unknown;
  try {
    if (options.compareRef !== undefined) {
      ref = await buildRef(ROOT, options.compareRef);
      describe(`--compare-ref ${options.compareRef}: commit ${ref.commit}, built in ${ref.root}`);
    }
    for (const build of ref === undefined ? [WORKING_TREE] : [WORKING_TREE, ref]) rows.push(await measure(build, options));
  } catch (err) {
    failure = err;
  } finally {
    ref?.remove();
  }
  if (options.json) {
    console.log(JSON.stringify({ meta, rows, ...(failure !== undefined && { error: String(failure) }) }, null, 2));
  } else if (rows.length > 0) {
    console.log('');
    console.log(renderRss(rows, options.settleMs));
    console.log('');
    console.log(`  VmRSS of the server process: empty, ${options.settleMs / 1000} s after loading ${options.keys} keys with setMany, and after a full GC forced`);
    console.log('  through the inspector; "of it anon" leaves out the node executable\'s own file pages; delta = after GC - empty.');
  }
  describe(`load average (1 min) at end: ${currentLoad().toFixed(2)}`);
  if (failure !== undefined) {
    const text = failure instanceof Error ? (failure.stack ?? failure.message) : String(failure);
    process.stderr.write(`\n${'!'.repeat(78)}\nRSS FAILED: ${text}\n${'!'.repeat(78)}\n`);
    return 1;
  }
  return 0;
}
