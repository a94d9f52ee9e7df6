/**
 * A condition's `init.lock` must name a lock other than the condition: anything else is refused
 * before it changes anything, live or in the data directory (issue 18 §1).
 */
import { describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import { RawClient } from '../helpers/raw-client.js';
import { connectTo, startServer, tempDir, type TestServer } from '../helpers/server.js';

async function start(dir: string): Promise<TestServer & { client: Client; raw: RawClient }> {
  const started = await startServer({ dataDir: dir, fsync: 'always' });
  const raw = await RawClient.connect(started.tcp);
  await raw.hello();
  return { ...started, client: await connectTo(started.tcp), raw };
}

function dumpOf(objects: unknown[]) {
  return { format: 'syncmgr-dump', version: 1, server: 'x', instance: 'x', created: 'x', objects } as never;
}

describe('a condition whose lock is not a lock', () => {
  it('refuses a condition named as its own lock, changes nothing, and the data dir still loads', async () => {
    const dir = tempDir();
    const first = await start(dir);
    await first.client.dict('before').set('k', 1);
    const answer = await first.raw.request({ id: 2, op: 'acquire', type: 'condition', name: 'c', init: { lock: 'c' } });
    expect(answer).toMatchObject({ id: 2, error: { code: 'INVALID_ARGUMENT' } });
    expect(answer.error.message).toMatch(/own lock/);
    // Nothing was created, under that name or another.
    expect((await first.client.snapshot()).objects.map((o: { name: string }) => o.name)).toEqual(['before']);
    await first.client.dict('after').set('k', 2);
    await first.server.close();

    const second = await start(dir);
    expect(await second.client.dict('before').get('k')).toBe(1);
    expect(await second.client.dict('after').get('k')).toBe(2);
    // The name is still free for a real condition.
    expect(await second.client.condition('c').state()).toEqual({ locked: false, waiting: 0 });
    await second.server.close();
  });

  it('refuses a lock name held by another type', async () => {
    const dir = tempDir();
    const first = await start(dir);
    await first.client.dict('d').set('k', 1);
    const answer = await first.raw.request({ id: 3, op: 'state', type: 'condition', name: 'c', init: { lock: 'd' } });
    expect(answer).toMatchObject({ id: 3, error: { code: 'WRONG_TYPE' } });
    expect(answer.error.message).toMatch(/its lock "d" is a dict, not a lock/);
    await first.server.close();
    const second = await start(dir);
    expect((await second.client.snapshot()).objects.map((o: { name: string }) => o.name)).toEqual(['d']);
    await second.server.close();
  });

  it('refuses such a condition in a restored dump before anything changes, and the data dir still loads', async () => {
    const dir = tempDir();
    const first = await start(dir);
    await first.client.dict('before').set('k', 1);
    const dump = dumpOf([
      { type: 'dict', name: 'x', init: null, meta: null, items: [['a', 1]] },
      { type: 'condition', name: 'c', init: { lock: 'c' }, meta: null, items: null },
    ]);
    await expect(first.client.restore(dump)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/own lock/) });
    expect((await first.client.snapshot()).objects.map((o: { name: string }) => o.name)).toEqual(['before']);
    await first.client.dict('after').set('k', 2);
    await first.server.close();

    const second = await start(dir);
    expect((await second.client.snapshot()).objects.map((o: { name: string }) => o.name)).toEqual(['before', 'after']);
    await second.server.close();
  });
});
