/**
 * Review findings about atomic batches (docs/PROTOCOL.md §4.6): a failed batch leaves everything
 * as it was, the order of a dict's keys included, in memory and after a
 * restart alike.
 */
import { describe, expect, it } from 'vitest';
import { connectTo, startServer, tempDir } from '../helpers/server.js';

describe('a failed atomic batch', () => {
  it('keeps the order of the dict keys it deleted', async () => {
    const { tcp } = await startServer({ wsPort: undefined, socket: undefined });
    const client = await connectTo(tcp);
    const d = client.dict('order');
    await d.update({ a: 1, b: 2, c: 3 });
    await expect(client.atomic([
      { type: 'dict', name: 'order', op: 'delete', args: ['a'] },
      { type: 'dict', name: 'order', op: 'pop', args: ['b'] },
      { type: 'dict', name: 'order', op: 'incr', args: ['missing', 'not a number'] },
    ])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await d.keys()).toEqual(['a', 'b', 'c']);
  });

  it('is replayed after a restart exactly as it is live (key order)', async () => {
    const dataDir = tempDir();
    const first = await startServer({ wsPort: undefined, socket: undefined, dataDir, fsync: 'always' });
    const client = await connectTo(first.tcp);
    const d = client.dict('replayed');
    await d.update({ a: 1, b: 2, c: 3 });
    await expect(client.atomic([
      { type: 'dict', name: 'replayed', op: 'delete', args: ['a'] },
      { type: 'list', name: 'replayed', op: 'append', args: [1] },
    ])).rejects.toMatchObject({ code: 'WRONG_TYPE' });
    const live = await d.keys();
    await client.close();
    await first.server.close();
    const second = await startServer({ wsPort: undefined, socket: undefined, dataDir, fsync: 'always' });
    const again = await connectTo(second.tcp);
    expect(await again.dict('replayed').keys()).toEqual(live);
  });
});
