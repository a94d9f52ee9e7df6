/**
 * `--max-memory` and `--max-objects` through real servers: past them, what would add data is
 * refused with a clear code while everything else is served, and writes resume once data is freed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect } from '../../src/client/client.js';
import { KEY, serve } from '../helpers/cli.js';
import { connectTo, startServer } from '../helpers/server.js';
import { until } from '../helpers/until.js';

const MIB = 1024 * 1024;

describe('serve --max-memory', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  let url: string;
  let client: Client;

  beforeAll(async () => {
    // An idle server's heap is some 5-10 MiB, and a 1 MiB value costs it 1-2 MiB with the buffers
    // that carried it: 96 MiB is crossed after a few dozen values, never after 20 or fewer.
    server = await serve(['--port', '0', '--max-memory', '96M'], { SYNCMGR_AUTHKEY: KEY });
    url = `tcp://:${KEY}@127.0.0.1:${/:(\d+)$/.exec(server.lines[0]!)![1]}`;
    client = await connect({ url });
  });

  afterAll(async () => {
    await client?.close();
    server?.child.kill('SIGKILL');
  });

  it('refuses writes that add data past the limit and serves reads, deletes and releases', async () => {
    expect(client.server.memory).toBe('ok');
    const lock = client.lock('mem-lock');
    await (await lock.acquire()).release();
    const queue = client.queue<string>('mem-queue');
    await queue.put('waiting item');
    await client.list('mem-list').append(1);
    const big = client.dict<string>('mem-big');
    let refused: unknown;
    let written = 0;
    // Each value is a new 1 MiB string on the server's heap; the limit is read every 100 ms.
    for (; written < 400 && refused === undefined; written++) {
      await big.set(`k${written}`, String(written).padEnd(MIB, '.')).catch((err: unknown) => (refused = err));
      if (written > 30) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(refused).toMatchObject({ code: 'OUT_OF_MEMORY' });
    expect(written).toBeGreaterThan(20);
    await until(() => /warning: memory use .* is over --max-memory 96\.0 MiB/.test(server.stderr()), 5000);

    const other = await connect({ url });
    expect(other.server.memory).toBe('over');
    await other.close();
    await expect(big.set('more', 'x')).rejects.toMatchObject({ code: 'OUT_OF_MEMORY' });
    await expect(big.incr('n')).rejects.toMatchObject({ code: 'OUT_OF_MEMORY' });
    await expect(client.list('mem-list').append(2)).rejects.toMatchObject({ code: 'OUT_OF_MEMORY' });
    await expect(queue.put('more')).rejects.toMatchObject({ code: 'OUT_OF_MEMORY' });
    await expect(client.lock('mem-new-lock').acquire()).rejects.toMatchObject({ code: 'OUT_OF_MEMORY' });
    await expect(client.dict('mem-new-dict').get('k')).rejects.toMatchObject({ code: 'OUT_OF_MEMORY' });
    expect((await big.get('k0'))?.length).toBe(MIB);
    expect(await big.size()).toBe(written - 1);
    const held = await lock.acquire();
    await held.release();
    expect(await queue.get()).toBe('waiting item');
    expect(await client.list('mem-list').pop()).toBe(1);

    await big.clear();
    // Freed values are counted until collected: the server confirms with a collection.
    await until(async () => (await big.set('again', 'x').then(() => true, () => false)), 10_000);
    await until(() => /warning: memory use .* is back under --max-memory/.test(server.stderr()), 5000);
    expect(await big.get('again')).toBe('x');
    const after = await connect({ url });
    expect(after.server.memory).toBe('ok');
    await after.close();
    expect(server.stderr().match(/is over --max-memory/g)).toHaveLength(1);
  });
});

describe('maxObjects', () => {
  it('refuses to create an object past the limit with TOO_MANY_OBJECTS, serving existing ones', async () => {
    const srv = await startServer({ maxObjects: 3 });
    const client = await connectTo(srv.tcp);
    await client.dict('o1').set('k', 1);
    await client.list('o2').append(1);
    await client.lock('o3').acquire().then((held) => held.release());
    await expect(client.dict('o4').set('k', 1)).rejects.toMatchObject({ code: 'TOO_MANY_OBJECTS' });
    await expect(client.queue('o5').put(1)).rejects.toMatchObject({ code: 'TOO_MANY_OBJECTS' });
    await expect(client.atomic([{ type: 'dict', name: 'o1', op: 'set', args: ['k', 2] }, { type: 'dict', name: 'o6', op: 'set', args: ['k', 1] }])).rejects.toMatchObject({
      code: 'TOO_MANY_OBJECTS',
    });
    expect(await client.dict('o1').get('k')).toBe(1);
    expect(await client.dict('o1').incr('k')).toBe(2);
    expect(srv.server.registry.size).toBe(3);
  });
});
