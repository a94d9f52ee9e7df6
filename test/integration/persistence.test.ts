/**
 * Persistence through an in-process server (--data-dir): what is journaled, restarts, compaction
 * under load, dumps. The crash tests (SIGKILL of a real `syncmgr serve`) are in durability.test.ts.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import { segmentName } from '../../src/persistence/files.js';
import type { FsyncPolicy } from '../../src/persistence/log-writer.js';
import { RecordDecoder } from '../../src/persistence/record.js';
import type { Store } from '../../src/persistence/store.js';
import { AUTHKEY, connectTo, startServer, tempDir, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/until.js';

interface Running extends TestServer {
  client: Client;
  stop(): Promise<void>;
}

async function start(dir: string, fsync: FsyncPolicy = 'always', extra: { compactAfterBytes?: number } = {}): Promise<Running> {
  const started = await startServer({ dataDir: dir, fsync, ...extra });
  const client = await connectTo(started.tcp);
  return {
    ...started,
    client,
    async stop() {
      await client.close();
      await started.server.close();
    },
  };
}

/** Each record of segment `seq` as its array of effects. */
function records(dir: string, seq = 1): unknown[][] {
  return new RecordDecoder().push(readFileSync(join(dir, segmentName(seq)))).map((record) => JSON.parse(record.payload.toString()) as unknown[]);
}

describe('what is journaled', () => {
  it('sequential requests: one record each, one per atomic batch, none for reads or a failed batch', async () => {
    const dir = tempDir();
    const { client, stop } = await start(dir);
    const dict = client.dict('d');
    await dict.set('a', 1);
    await dict.get('a');
    await dict.update({ b: 2, c: 3 });
    await client.atomic([
      { type: 'dict', name: 'd', op: 'incr', args: ['a'] },
      { type: 'list', name: 'l', op: 'append', args: ['x'] },
    ]);
    await expect(client.atomic([
      { type: 'dict', name: 'd', op: 'incr', args: ['a'] },
      { type: 'dict', name: 'd', op: 'pop', args: ['missing'] },
    ])).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
    await stop();
    expect(records(dir)).toEqual([
      [['create', 'dict', 'd', null], ['dset', 'd', 'a', 1]],
      [['dset', 'd', 'b', 2], ['dset', 'd', 'c', 3]],
      [['dset', 'd', 'a', 2], ['create', 'list', 'l', null], ['lsplice', 'l', 0, 0, ['x']]],
    ]);
  });

  for (const fsync of ['always', 'everysec'] as const) {
    it(`concurrent requests share records, and a key set again while its record waits is logged once (fsync ${fsync})`, async () => {
      const dir = tempDir();
      const first = await start(dir, fsync);
      const counters = first.client.dict('counters');
      const requests = 4000;
      await Promise.all(Array.from({ length: requests }, (_, i) => (i % 4 === 3 ? counters.incr('warm') : counters.incr('hot'))));
      await first.stop();
      const logged = records(dir);
      const effects = logged.flat() as unknown[][];
      expect(effects.filter((effect) => effect[0] === 'dset').length).toBeLessThan(requests / 4);
      // The last set of each key in the log is its final value.
      const last = new Map(effects.filter((effect) => effect[0] === 'dset').map((effect) => [effect[2], effect[3]]));
      expect(Object.fromEntries(last)).toEqual({ hot: 3000, warm: 1000 });
      const second = await start(dir, fsync);
      expect(await second.client.dict('counters').items()).toEqual([['hot', 3000], ['warm', 1000]]);
      await second.stop();
    });
  }

  it('journals a hand-off to a blocked getter, made outside any request of the giver', async () => {
    const dir = tempDir();
    const first = await start(dir);
    const other = await connectTo(first.tcp);
    const waiting = other.queue('jobs').get();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await first.client.queue('jobs').put('job-1');
    await first.client.queue('jobs').put('job-2');
    expect(await waiting).toBe('job-1');
    await first.stop();
    const second = await start(dir);
    expect(await second.client.queue('jobs').state()).toMatchObject({ size: 1, unfinished: 2 });
    expect(await second.client.queue('jobs').get()).toBe('job-2');
    await second.stop();
  });

  it('keeps the creation of a shared lock when the batch that created it through a condition fails', async () => {
    const dir = tempDir();
    const first = await start(dir);
    await expect(first.client.atomic([
      { type: 'condition', name: 'c', op: 'state', args: [], init: { lock: 'shared' } },
      { type: 'dict', name: 'c', op: 'get', args: ['x'] },
    ])).rejects.toMatchObject({ code: 'WRONG_TYPE' });
    await first.stop();
    const second = await start(dir);
    // In memory the lock survived the rollback; after a restart it still exists, as a lock.
    await expect(second.client.dict('shared').get('x')).rejects.toMatchObject({ code: 'WRONG_TYPE' });
    expect(await second.client.dict('c').get('x')).toBe(null);
    await second.stop();
  });

  it('under fsync always, answers only once the change is on disk', async () => {
    const dir = tempDir();
    const { client, server, stop } = await start(dir, 'always');
    const store = server.journal as Store;
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.dict('d').incr(`k${i % 5}`)));
    const { appended, durable } = store.counts;
    expect(appended).toBeGreaterThan(0);
    expect(durable).toBe(appended);
    await stop();
  });
});

describe('restart', () => {
  it('brings back every type, with its contents and configuration', async () => {
    const dir = tempDir();
    const first = await start(dir, 'everysec');
    const { client } = first;
    await client.dict('d').update({ a: 1, b: { deep: [1, 2] } });
    await client.list('l').extend([1, 2, 3]);
    await client.list('l').insert(0, 'zero');
    const queue = client.queue('q', { maxsize: 10 });
    await queue.put('one');
    await queue.put('two');
    await queue.get();
    await client.event('e').set();
    await client.semaphore('s', 3).release(); // signalled: 4 permits from now on
    await client.barrier('b', 5).state();
    const held = await client.lock('k').acquire();
    await held.release();
    const fenceBefore = (await client.lock('k').acquire()).fence;
    await client.condition('c', 'k').state();
    await first.stop();

    const second = await start(dir, 'everysec');
    const again = second.client;
    expect(await again.dict('d').items()).toEqual([['a', 1], ['b', { deep: [1, 2] }]]);
    expect(await again.list('l').slice()).toEqual(['zero', 1, 2, 3]);
    expect(await again.queue('q').state()).toMatchObject({ size: 1, maxsize: 10, unfinished: 2 });
    expect(await again.queue('q').get()).toBe('two');
    expect(await again.event('e').isSet()).toBe(true);
    expect(await again.semaphore('s').value()).toBe(4);
    expect((await again.barrier('b').state()).parties).toBe(5);
    // The lock was held when the server stopped: a restart releases it, and fences never repeat.
    const after = await again.lock('k').acquire({ timeout: 1 });
    expect(after.fence).toBeGreaterThan(fenceBefore);
    // Names keep their types.
    await expect(again.list('d').len()).rejects.toMatchObject({ code: 'WRONG_TYPE' });
    await expect(again.dict('l').get('x')).rejects.toMatchObject({ code: 'WRONG_TYPE' });
    await expect(again.dict('c').get('x')).rejects.toMatchObject({ code: 'WRONG_TYPE' });
    await second.stop();
  });

  it('refuses a second server on a directory in use, and takes over a stale lock', async () => {
    const dir = tempDir();
    const first = await start(dir);
    await expect(startServer({ dataDir: dir })).rejects.toMatchObject({ code: 'DATA_DIR_LOCKED' });
    await first.stop();
    // A lock left by a process that is gone (pid 2^22 + 1 is above Linux's pid_max default).
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: 4194305 }));
    const second = await start(dir);
    expect(second.logs.some((line) => /warning: removed a stale lock/.test(line))).toBe(true);
    await second.stop();
  });
});

describe('compaction', () => {
  it('loses nothing under load, and pauses clients only briefly', async () => {
    const dir = tempDir();
    const first = await start(dir, 'everysec', { compactAfterBytes: 16 * 1024 });
    const clients = [first.client, await connectTo(first.tcp), await connectTo(first.tcp)];
    let stop = false;
    const counts = clients.map(() => 0);
    const appended: number[] = [];
    const loops = clients.map(async (client, index) => {
      // Many keys, so each snapshot has something to write.
      for (let i = 0; !stop; i++) {
        await Promise.all([
          client.dict('big').set(`key-${index}-${i % 500}`, { index, i }),
          client.dict('counters').incr(`c${index}`),
          index === 0 ? client.list('order').append(i).then(() => appended.push(i)) : client.queue(`q${index}`).put(i),
        ]);
        counts[index]! += 1;
      }
    });
    // Under load until the server has compacted three times, however fast this machine is.
    const compactions = () => first.logs.filter((line) => line.startsWith('compacted')).length;
    await until(() => compactions() >= 3, 25_000);
    stop = true;
    await Promise.all(loops);
    const store = first.server.journal as Store;
    expect(await store.compact()).toBeDefined(); // one more, on demand, to be sure
    await first.stop();

    const pauses = first.logs.filter((line) => line.startsWith('compacted')).map((line) => Number(/paused ([\d.]+) ms/.exec(line)![1]));
    expect(pauses.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...pauses)).toBeLessThan(50);
    expect(readdirSync(dir).filter((name) => name.endsWith('.snap'))).toHaveLength(1);

    const second = await start(dir, 'everysec');
    const again = second.client;
    for (const [index, count] of counts.entries()) expect(await again.dict('counters').get(`c${index}`)).toBe(count);
    expect(await again.list('order').slice()).toEqual(appended);
    expect(await again.queue('q1').size()).toBe(counts[1]);
    expect(await again.dict('big').size()).toBe(Math.min(500, counts[0]!) + Math.min(500, counts[1]!) + Math.min(500, counts[2]!));
    await second.stop();
  });
});

describe('dump and restore', () => {
  it('round-trips every object through a dump, and never overwrites', async () => {
    const source = await start(tempDir());
    const { client } = source;
    await client.dict('d').update({ a: 1, __proto__x: 2 });
    await client.list('l').extend(['x', { y: 1 }]);
    await client.queue('q', { maxsize: 3 }).put('job');
    await client.event('e').set();
    await client.boundedSemaphore('s', 2).state();
    await client.barrier('b', 3).state();
    await client.condition('c').state();
    const dump = await client.snapshot();
    expect(dump.format).toBe('syncmgr-dump');

    const target = await startServer({});
    const other = await connectTo(target.tcp, { authkey: AUTHKEY });
    expect(await other.restore(dump)).toBe(dump.objects.length);
    const copy = await other.snapshot();
    expect(copy.objects).toEqual(dump.objects);
    // Again: every name now exists, so nothing is restored.
    await other.dict('fresh').set('k', 1);
    await expect(other.restore(dump)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await other.snapshot()).objects.length).toBe(dump.objects.length + 1);
    await source.stop();
  });

  it('restores all or nothing: a bad object leaves the server as it was', async () => {
    const { client, stop } = await start(tempDir());
    const dump = {
      format: 'syncmgr-dump', version: 1, server: 'x', instance: 'x', created: 'x',
      objects: [
        { type: 'dict', name: 'ok', init: null, meta: null, items: [['a', 1]] },
        { type: 'barrier', name: 'bad', init: { parties: 0 }, meta: null, items: null },
      ],
    } as const;
    await expect(client.restore(dump as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await client.snapshot()).objects).toEqual([]);
    await stop();
  });
});
