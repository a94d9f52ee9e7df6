#!/usr/bin/env node
/**
 * The worst stall a compaction (snapshot) causes for a bystander client: an in-process server with
 * --data-dir holds a big data set; a client in another process pings back to back (127.0.0.1 only)
 * while the server compacts on demand; prints the bystander's ping latencies during compaction.
 *
 *   npm run build && node test/measure/compaction-stall.mjs [big|many]
 *     big:  a dict of 36 values of 15 MiB (540 MiB; the issue-18 case that failed before)
 *     many: a dict of 1,000,000 small entries
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = new URL('../../dist/src/', import.meta.url);
const { connect } = await import(new URL('client/client.js', dist).href);
const KEY = 'measure';

if (process.argv[2] === 'bystander') {
  // Child: ping back to back until told to stop; report the latencies seen.
  const client = await connect({ authkey: KEY, host: '127.0.0.1', port: Number(process.argv[3]) });
  let recording = false;
  let stop = false;
  const latencies = [];
  process.on('message', (message) => {
    if (message === 'record') recording = true;
    if (message === 'stop') stop = true;
  });
  process.send('ready');
  const deadline = Date.now() + 600_000;
  while (!stop && Date.now() < deadline) {
    const started = performance.now();
    await client.ping();
    if (recording) latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await client.close();
  process.send({ latencies });
  process.exit(0);
}

const kind = process.argv[2] ?? 'big';
const { createServer } = await import(new URL('server/server.js', dist).href);
const dir = mkdtempSync(join(tmpdir(), 'syncmgr-measure-'));
const logs = [];
const server = createServer({ authkey: KEY, host: '127.0.0.1', port: 0, dataDir: join(dir, 'data'), fsync: 'everysec', compactAfterBytes: 2 ** 50, log: (line) => logs.push(line) });
const [endpoint] = await server.listen();
const loader = await connect({ authkey: KEY, host: '127.0.0.1', port: endpoint.port, maxFrameBytes: 64 * 1024 * 1024 });
const filling = performance.now();
if (kind === 'big') {
  for (let i = 0; i < 36; i++) await loader.dict('big').set(`k${i}`, `${i}`.padEnd(15 * 1024 * 1024, 'v'));
} else {
  for (let batch = 0; batch < 100; batch++) {
    const entries = {};
    for (let i = 0; i < 10_000; i++) entries[`key-${batch}-${i}`] = { n: i, s: 'some text' };
    await loader.dict('many').update(entries);
  }
}
await loader.close();
console.log(`${kind}: filled in ${Math.round(performance.now() - filling)} ms, rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`);

const child = fork(fileURLToPath(import.meta.url), ['bystander', String(endpoint.port)]);
const report = new Promise((resolve) => child.on('message', (message) => message !== 'ready' && resolve(message)));
await new Promise((resolve) => child.once('message', resolve));
await new Promise((resolve) => setTimeout(resolve, 500)); // warm up
child.send('record');
const started = performance.now();
const result = await server.journal.compact();
const took = performance.now() - started;
child.send('stop');
const { latencies } = await report;
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
console.log(logs.filter((line) => line.includes('compact')).join('\n'));
console.log(`compaction took ${Math.round(took)} ms (${result === undefined ? 'FAILED' : `${result.snapshotBytes} bytes`}); ` +
  `bystander pings during it: ${latencies.length}, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${latencies.at(-1).toFixed(1)} ms`);
await server.close();
rmSync(dir, { recursive: true, force: true });
